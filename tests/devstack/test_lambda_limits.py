"""The local stack refuses what Lambda refuses: a result over 6,291,456 bytes once serialised fails the
invocation (in process and in a container), and the local front answers it as API Gateway does."""

import json
import threading
from multiprocessing import Pipe

import pytest

from devstack.runtime import containers, lambda_runtime
from devstack.runtime.front import LocalApiGateway
from devstack.runtime.lambda_runtime import LAMBDA_RESPONSE_LIMIT, ResponseTooLarge, enforce_response_limit


def result_of_size(size: int) -> dict:
    """A handler result whose JSON is exactly `size` bytes."""
    empty = len(json.dumps({"statusCode": 200, "body": ""}))
    return {"statusCode": 200, "body": "x" * (size - empty)}


def test_the_limit_is_lambdas_counted_on_the_serialised_result() -> None:
    enforce_response_limit(result_of_size(LAMBDA_RESPONSE_LIMIT))
    with pytest.raises(ResponseTooLarge):
        enforce_response_limit(result_of_size(LAMBDA_RESPONSE_LIMIT + 1))
    # Counted as the runtime writes it: a control character is six bytes, not one.
    with pytest.raises(ResponseTooLarge):
        enforce_response_limit({"statusCode": 200, "body": "\x1b" * (LAMBDA_RESPONSE_LIMIT // 5)})


def test_an_in_process_invocation_over_the_limit_fails(monkeypatch) -> None:
    monkeypatch.setattr(lambda_runtime, "load_handler", lambda _id: lambda _e, _c: result_of_size(7_000_000))
    with pytest.raises(ResponseTooLarge):
        lambda_runtime.invoke("TaskTranscriptFunction", {})


def test_a_container_reports_lambdas_error_for_a_result_over_the_limit(monkeypatch) -> None:
    sizes = iter([7_000_000, 100])
    monkeypatch.setattr(lambda_runtime, "load_handler", lambda _id: lambda _e, _c: result_of_size(next(sizes)))
    monkeypatch.setattr("signal.signal", lambda *_: None)  # the container's own, run here in a thread
    parent, child = Pipe()
    thread = threading.Thread(target=containers._container_main, args=("TaskTranscriptFunction", child), daemon=True)
    thread.start()
    assert parent.recv() == ("ready", None)
    parent.send(({}, 10))
    kind, (error_type, message) = parent.recv()
    assert (kind, error_type) == ("raised", "Function.ResponseSizeTooLarge") and "6291456" in message
    parent.send(({}, 10))  # the container stays warm and answers the next one
    assert parent.recv()[0] == "ok"
    parent.send(None)
    thread.join(timeout=10)
    assert not thread.is_alive()


class _TooLarge:
    """A runtime whose invocations fail as Lambda fails a result over its limit."""

    def invoke(self, logical_id: str, _event: dict, _timeout: float | None = None) -> dict:
        if logical_id == "UserAuthorizerFunction":
            return {"isAuthorized": True, "context": {"username": "alice"}}
        raise containers.FunctionError(lambda_runtime.RESPONSE_TOO_LARGE, "Response payload size exceeded")

    def stop(self) -> None:
        pass


def test_the_front_answers_a_failed_invocation_as_api_gateway_does() -> None:
    import httpx

    front = LocalApiGateway(port=0, runtime=_TooLarge()).start()  # type: ignore[arg-type]
    try:
        answer = httpx.get(f"{front.url}/api/v2/tasks/me/any/transcript", timeout=30)
    finally:
        front.stop()
    assert answer.status_code == 500 and answer.json() == {"message": "Internal Server Error"}
