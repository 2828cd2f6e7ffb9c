"""A bounded load test through the local API Gateway front over loopback, mixed live and snapshot:
zero errors. The default run sends 400 requests at concurrency 8; the slow run 1,500 at concurrency 16.
The full 5,000 whose figures docs/performance.md gives is `make load`."""

import contextlib
import io

import pytest

from devstack.runtime.front import LocalApiGateway
from devstack.runtime.template_resources import default_authorizer_function
from tests.tools.load import run_load


@pytest.fixture
def front(handler_env, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    gateway = LocalApiGateway(port=0).start()
    yield gateway
    gateway.stop()


def load(front: LocalApiGateway, requests: int, concurrency: int):
    # What is held is the answers under load, not cold starts: as many warm containers as the load can
    # use (provisioned concurrency), for the function and for the authorizer API Gateway asks first. On
    # a 2-core machine, 32 containers importing at once would put the first requests past their AWS
    # deadline, which 32 Lambda sandboxes, each with its own CPU, would not.
    for function in ("TaskLogsFunction", default_authorizer_function()):
        front.runtime.prewarm(function, concurrency)
    with contextlib.redirect_stdout(io.StringIO()):
        result = run_load(front.url, requests, concurrency)
    print(result.summary())
    return result


def test_400_mixed_requests_at_concurrency_8_without_an_error(front) -> None:
    result = load(front, 400, 8)
    assert result.statuses == {200: 400}
    assert len(result.latencies_ms["live"]) == len(result.latencies_ms["snapshot"]) == 200


@pytest.mark.slow
def test_1500_mixed_requests_at_concurrency_16_without_an_error(front) -> None:
    result = load(front, 1500, 16)
    assert result.statuses == {200: 1500} and result.errors == 0
