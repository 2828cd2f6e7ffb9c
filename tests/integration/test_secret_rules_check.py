"""The stack's own check of its secret rules (docs/redaction.md), as CloudFormation calls it: the real
handler, its answer PUT over HTTP to a loopback server playing the pre-signed response URL. A bad rule
fails the deploy naming each problem; a deletion always succeeds; every request is answered, a bug's
too, and an answer that cannot be delivered gives up after a bounded number of tries."""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler

import pytest

from devstack.demo.loopback_server import LoopbackServer
from devstack.runtime.lambda_runtime import context_for, load_handler
from tasklogs_core.adapters.cloudformation_response import AnswerNotDelivered

FUNCTION = "SecretRulesCheckFunction"


class ResponseUrl:
    """CloudFormation's pre-signed S3 URL: takes PUTs, answers each with the next status given."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses) or [200]
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        received, statuses_left = self.received, self.statuses

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(statuses_left.pop(0) if len(statuses_left) > 1 else statuses_left[0])
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = LoopbackServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stack-responses/secret-rules?X-Amz-Signature=abc"

    def answers(self) -> list[dict]:
        return [json.loads(body) for _, _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def response_url():
    made: list[ResponseUrl] = []

    def make(*statuses: int) -> ResponseUrl:
        made.append(ResponseUrl(*statuses))
        return made[-1]

    yield make
    for url in made:
        url.close()


def request(kind: str, url: str, patterns: str = "{}", allowlist: str = "[]", **extra: str) -> dict:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/tasklogs-dev/1234",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "SecretRules",
        "ResourceType": "Custom::SecretRules",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:...",
            "SecretPatterns": patterns,
            "SecretAllowlist": allowlist,
        },
        **extra,
    }


def check(event: dict) -> None:
    load_handler(FUNCTION)(event, context_for(FUNCTION))


def test_good_rules_succeed_and_the_answer_is_the_protocol_s(handler_env, response_url) -> None:
    url = response_url()
    event = request("Create", url.url, patterns='{"acme-token":"acme_[a-z0-9]{32}"}', allowlist='["x"]')
    check(event)
    [(path, headers, _)] = url.received
    assert path.endswith("X-Amz-Signature=abc")
    assert headers.get("content-type", "") == ""  # the URL's signature covers no content type
    assert url.answers() == [
        {
            "Status": "SUCCESS",
            "Reason": "checked",
            "PhysicalResourceId": "SecretRules",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": "SecretRules",
        }
    ]


def test_a_bad_rule_fails_the_deploy_naming_each_problem(handler_env, response_url) -> None:
    url = response_url()
    bad = request(
        "Update",
        url.url,
        patterns='{"acme-token":"acme_[a-z","pin":"(?<=PIN)[0-9]{6}"}',
        allowlist='[{"regex":"x"}]',
        PhysicalResourceId="SecretRules",
    )
    check(bad)
    [answer] = url.answers()
    assert answer["Status"] == "FAILED" and answer["PhysicalResourceId"] == "SecretRules"
    assert answer["Reason"].split("; ") == [
        "SecretPatterns: acme-token: not a regular expression the scanner takes"
        " (Unterminated character class starting at index 5)",
        "pin: not a regular expression the scanner takes (no look-around or back-references)",
        "SecretAllowlist: 0: pattern: pattern: Field required",
        "SecretAllowlist: 0: pattern: regex: Extra inputs are not permitted",
    ]
    check(request("Update", url.url, patterns="{not json", PhysicalResourceId="SecretRules"))
    assert url.answers()[-1]["Reason"].startswith("SecretPatterns: not JSON")


def test_deleting_always_succeeds_whatever_the_rules(handler_env, response_url) -> None:
    url = response_url()
    check(request("Delete", url.url, patterns="{not json", PhysicalResourceId="SecretRules"))
    assert [(a["Status"], a["PhysicalResourceId"]) for a in url.answers()] == [("SUCCESS", "SecretRules")]


def test_a_bug_in_the_check_is_answered_as_a_failure(handler_env, response_url, monkeypatch) -> None:
    """A fault no input produces: the check itself raising. The stack is told, not left waiting."""
    import tasklogs_core.use_cases.secret_rules_check as use_case

    def broken(_parameters: object) -> list[str]:
        raise RuntimeError("boom")

    monkeypatch.setattr(use_case, "secret_rule_problems", broken)
    url = response_url()
    check(request("Create", url.url))
    [answer] = url.answers()
    assert answer["Status"] == "FAILED" and answer["Reason"] == f"The check failed; see the log of {FUNCTION}."


def test_an_answer_is_tried_three_times_then_given_up(handler_env, response_url) -> None:
    flaky = response_url(500, 503, 200)
    check(request("Create", flaky.url))
    assert [a["Status"] for a in flaky.answers()] == ["SUCCESS"] * 3  # the same answer, delivered the third time
    refusing = response_url(403)
    with pytest.raises(AnswerNotDelivered, match="HTTP 403"):
        check(request("Create", refusing.url))
    assert len(refusing.received) == 3
