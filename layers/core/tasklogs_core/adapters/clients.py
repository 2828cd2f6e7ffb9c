"""AWS and HTTP clients, each created once per container and only when a path first needs it."""

from functools import cache

from tasklogs_core.adapters.settings import get_settings

# X-Ray patches, at init, only what every function uses. Powertools' default patches every library
# it can import (httpx, sqlite3, http.client, ...), importing them all on every cold start; httpx is
# patched when its client is first made instead (the snapshot path never makes one).
TRACED_AT_INIT = ["botocore"]

# Per attempt: bounded sockets; per call: three attempts in all; per invocation: deadlines.py.
_AWS_CLIENT_CONFIG = {"connect_timeout": 2, "read_timeout": 3, "retries": {"mode": "standard", "total_max_attempts": 3}}


@cache
def _aws_session():  # noqa: ANN202
    import boto3

    # One per container: its clients share the endpoint data and models it has loaded, so the
    # second client (S3 after DynamoDB) costs about a third of the first.
    return boto3.session.Session()


def _aws_client(service: str):  # noqa: ANN202
    from botocore.config import Config

    from tasklogs_core.adapters.deadlines import refuse_after_deadline

    client = _aws_session().client(service, config=Config(**_AWS_CLIENT_CONFIG))
    client.meta.events.register("before-send", refuse_after_deadline)
    return client


@cache
def task_repository():  # noqa: ANN201
    from tasklogs_core.adapters.task_repository import TaskRepository

    return TaskRepository(_aws_client("dynamodb"), get_settings().tasks_table_name)


@cache
def snapshot_store():  # noqa: ANN201
    from tasklogs_core.adapters.snapshot_store import SnapshotStore

    return SnapshotStore(_aws_client("s3"), get_settings().snapshots_bucket_name)


@cache
def agentapi_client():  # noqa: ANN201
    from aws_lambda_powertools import Tracer

    from tasklogs_core.adapters.address_policy import AddressPolicy
    from tasklogs_core.adapters.agentapi_client import AgentApiClient

    Tracer(auto_patch=False).patch(["httpx"])  # the agent calls show in X-Ray (no-op with tracing off)
    return AgentApiClient(AddressPolicy(get_settings().agentapi_allowed_networks))


def reset() -> None:
    """Forget every client and the settings (tests and the local stack change the environment)."""
    for factory in (task_repository, snapshot_store, agentapi_client, get_settings, _aws_session):
        factory.cache_clear()
