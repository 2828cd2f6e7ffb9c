"""AWS and HTTP clients, each created once per container and only when a path first needs it."""

from functools import cache

from tasklogs_core.settings import get_settings

# Per attempt: bounded sockets; per call: three attempts in all; per invocation: deadlines.py.
_AWS_CLIENT_CONFIG = {"connect_timeout": 2, "read_timeout": 3, "retries": {"mode": "standard", "total_max_attempts": 3}}


def _aws_client(service: str):  # noqa: ANN202
    import boto3
    from botocore.config import Config

    from tasklogs_core.deadlines import refuse_after_deadline

    client = boto3.session.Session().client(service, config=Config(**_AWS_CLIENT_CONFIG))
    client.meta.events.register("before-send", refuse_after_deadline)
    return client


@cache
def task_repository():  # noqa: ANN201
    from tasklogs_core.task_repository import TaskRepository

    return TaskRepository(_aws_client("dynamodb"), get_settings().tasks_table_name)


@cache
def snapshot_store():  # noqa: ANN201
    from tasklogs_core.snapshot_store import SnapshotStore

    return SnapshotStore(_aws_client("s3"), get_settings().snapshots_bucket_name)


@cache
def agentapi_client():  # noqa: ANN201
    from tasklogs_core.address_policy import AddressPolicy, parse_networks
    from tasklogs_core.agentapi_client import AgentApiClient

    return AgentApiClient(AddressPolicy(parse_networks(get_settings().agentapi_allowed_networks)))


def reset() -> None:
    """Forget every client and the settings (tests and the local stack change the environment)."""
    for factory in (task_repository, snapshot_store, agentapi_client, get_settings):
        factory.cache_clear()
