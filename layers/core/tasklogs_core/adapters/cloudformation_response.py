"""CloudFormation's custom resource protocol, the answer half: a request is answered by a PUT of JSON to
the pre-signed S3 URL it came with. Without an answer the stack waits (ServiceTimeout), so sending is
tried a bounded number of times, each bounded in time."""

from __future__ import annotations

import json
from typing import Any

from tasklogs_core.adapters.observability import logger

_ATTEMPTS, _TIMEOUT_SECONDS = 3, 10.0


class AnswerNotDelivered(Exception):
    """CloudFormation's URL did not take the answer; the stack times the resource out."""


def send_answer(url: str, answer: dict[str, Any]) -> None:
    import httpx

    body = json.dumps(answer).encode()
    # The URL is signed without a content type: sending one would fail its signature.
    headers = {"content-type": ""}
    failure = ""
    for _ in range(_ATTEMPTS):
        try:
            sent = httpx.put(url, content=body, headers=headers, timeout=_TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            failure = type(exc).__name__
            continue
        if sent.is_success:
            return
        failure = f"HTTP {sent.status_code}"
    logger.error("custom resource answer not delivered", extra={"failure": failure})
    raise AnswerNotDelivered(failure)
