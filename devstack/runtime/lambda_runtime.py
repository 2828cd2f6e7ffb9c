"""What the Lambda runtime gives a handler locally: the handler itself, imported from the template's
CodeUri with the layer on sys.path, and a context whose remaining time counts down. A container
(devstack.runtime.containers) does exactly this in its own process."""

import importlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from devstack.runtime.template_resources import ROOT, function_handler, function_memory_mb, function_timeout_seconds

LAYER_DIR = ROOT / "layers" / "core"
# Lambda fails a synchronous invocation whose result, serialised, is larger than this (API Gateway then
# answers 500). Measured with ASCII escapes, as the Python runtime serialised results before 3.12 and
# may still: of its two ways, the larger, so the local stack refuses first.
LAMBDA_RESPONSE_LIMIT = 6_291_456


RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"  # the errorType Lambda reports


class ResponseTooLarge(Exception):
    """The invocation's result is over Lambda's limit: Lambda reports Function.ResponseSizeTooLarge."""


def enforce_response_limit(result: Any) -> None:
    size = len(json.dumps(result).encode())
    if size > LAMBDA_RESPONSE_LIMIT:
        raise ResponseTooLarge(
            f"Response payload size ({size} bytes) exceeded maximum allowed payload size"
            f" ({LAMBDA_RESPONSE_LIMIT} bytes)."
        )


def set_local_environment(aws_env: dict[str, str]) -> None:
    """The functions' environment for the local stack: its AWS endpoints, its identity provider's keys
    for the authorizer, and quiet defaults."""
    from devstack.runtime.local_idp import serve_keys

    os.environ.update(aws_env)
    serve_keys()
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tasklogs")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF lines would drown the logs
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")


class LocalLambdaContext:
    def __init__(self, function_name: str, timeout_seconds: float, memory_mb: int = 512) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def ensure_layer_on_path() -> None:
    """The layer's package importable, as /opt/python makes it in Lambda."""
    if str(LAYER_DIR) not in sys.path:
        sys.path.insert(0, str(LAYER_DIR))


def load_handler(logical_id: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The function's handler, imported like the runtime does: its code directory on sys.path, then the
    module the template's Handler names (unique across functions, so several load in one process)."""
    ensure_layer_on_path()
    code_dir, module, function = function_handler(logical_id)
    if str(code_dir) not in sys.path:
        sys.path.append(str(code_dir))
    return getattr(importlib.import_module(module), function)


def context_for(logical_id: str, timeout_seconds: float | None = None) -> LocalLambdaContext:
    timeout = timeout_seconds if timeout_seconds is not None else function_timeout_seconds(logical_id)
    return LocalLambdaContext(logical_id, timeout, function_memory_mb(logical_id))


# Functions loaded in one process share the layer's module state (its cached clients, the boto3
# session they come from) where Lambda gives each its own process: one event at a time, whatever the
# function, keeps that state used as Lambda uses it.
_process_lock = threading.Lock()


def invoke(logical_id: str, event: dict[str, Any], timeout_seconds: float | None = None) -> dict[str, Any]:
    """Call a function's handler in this process, the way one warm Lambda container would: one event at
    a time. For tests that watch a function's logger or module state; the local stack runs functions
    in containers of their own (devstack.runtime.containers)."""
    return invoke_timed(logical_id, event, timeout_seconds)[0]


def invoke_timed(
    logical_id: str, event: dict[str, Any], timeout_seconds: float | None = None
) -> tuple[dict[str, Any], LocalLambdaContext, float]:
    """`invoke`, also giving the context (its remaining time as the handler returned) and the seconds
    the handler took. Lambda's clock starts when the container takes the event, not while it queues.
    A result over Lambda's response limit raises ResponseTooLarge, as the invocation fails in Lambda."""
    handler = load_handler(logical_id)
    with _process_lock:
        context = context_for(logical_id, timeout_seconds)
        started = time.monotonic()
        result = handler(event, context)
        elapsed = time.monotonic() - started
    enforce_response_limit(result)
    return result, context, elapsed
