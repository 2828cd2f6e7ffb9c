"""AWS and HTTP clients and the token verifier, each created once per container and only when a path first needs it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, cast

from tasklogs_core.adapters.settings import get_auth_settings, get_secret_settings, get_settings, get_viewer_settings

if TYPE_CHECKING:  # imported at run time only by the path that makes the client
    from botocore.config import Config
    from botocore.session import Session
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from tasklogs_core.adapters.agentapi_client import AgentApiClient
    from tasklogs_core.adapters.checkpoint_queue import CheckpointQueue
    from tasklogs_core.adapters.secret_scanner import RuleSetScanner
    from tasklogs_core.adapters.snapshot_store import SnapshotStore
    from tasklogs_core.adapters.task_repository import TaskRepository
    from tasklogs_core.adapters.token_verifier import TokenVerifier
    from tasklogs_core.adapters.transcript_store import TranscriptStore

# Per attempt: bounded sockets; per call: three attempts in all; per invocation: deadlines.py.
_CONNECT_TIMEOUT_SECONDS, _READ_TIMEOUT_SECONDS, _ATTEMPTS = 2, 3, 3


@cache
def _aws_session() -> Session:
    from botocore.session import get_session

    from tasklogs_core.adapters import timings
    from tasklogs_core.adapters.deadlines import refuse_after_deadline

    # botocore's own session, not boto3's: boto3 adds nothing the low-level clients use, and the layer
    # ships without it and s3transfer. (The first response is no faster for it: what boto3 imports,
    # botocore's client imports anyway.) One per container: its clients share
    # the endpoint data and models it has loaded, so the second client (S3 after DynamoDB) costs
    # about a third of the first. Each client made from it checks the invocation's deadline before
    # every attempt, and each of its calls is timed.
    session = get_session()
    session.register("before-send", refuse_after_deadline)
    timings.register_on(session)
    return session


def _aws_config(signature_version: str | None = None) -> Config:
    from botocore.config import Config

    return Config(
        connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        read_timeout=_READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": _ATTEMPTS},
        signature_version=signature_version,
    )


@cache
def _dynamodb() -> DynamoDBClient:
    return cast("DynamoDBClient", _aws_session().create_client("dynamodb", config=_aws_config()))


@cache
def _s3() -> S3Client:
    # Presigned URLs (contract §7 Large entries) signed with SigV4, the only signature every region takes.
    return cast("S3Client", _aws_session().create_client("s3", config=_aws_config(signature_version="s3v4")))


@cache
def task_repository() -> TaskRepository:
    from tasklogs_core.adapters.task_repository import TaskRepository

    return TaskRepository(_dynamodb(), get_settings().tasks_table_name)


@cache
def snapshot_store() -> SnapshotStore:
    from tasklogs_core.adapters.snapshot_store import SnapshotStore

    return SnapshotStore(_s3(), get_settings().snapshots_bucket_name)


@cache
def transcript_store() -> TranscriptStore:
    """Session headers in the transcripts table, chunks in the snapshots bucket; the same clients as
    the task repository and the snapshot store."""
    from tasklogs_core.adapters.transcript_store import TranscriptStore

    settings = get_settings()
    return TranscriptStore(_dynamodb(), _s3(), settings.transcripts_table_name, settings.snapshots_bucket_name)


@cache
def checkpoint_queue() -> CheckpointQueue:
    from tasklogs_core.adapters.checkpoint_queue import CheckpointQueue

    sqs = cast("SQSClient", _aws_session().create_client("sqs", config=_aws_config()))
    return CheckpointQueue(sqs, get_settings().checkpoint_queue_url)


@cache
def agentapi_client() -> AgentApiClient:
    from tasklogs_core.adapters.address_policy import AddressPolicy
    from tasklogs_core.adapters.agentapi_client import AgentApiClient

    return AgentApiClient(AddressPolicy(get_settings().agentapi_allowed_networks))


@cache
def secret_scanner() -> RuleSetScanner:
    """The scanner with the deployment's own rules; the rule set it runs is compiled once a container."""
    from tasklogs_core.adapters.secret_scanner import RuleSetScanner

    settings = get_secret_settings()
    return RuleSetScanner(settings.secret_patterns, settings.secret_allowlist)


@cache
def token_verifier() -> TokenVerifier:
    """The authorizer's verifier: the issuer's keys it fetched outlive the invocation."""
    from tasklogs_core.adapters.token_verifier import TokenVerifier

    return TokenVerifier(get_auth_settings())


def reset() -> None:
    """Forget every client and the settings (tests and the local stack change the environment)."""
    for factory in (
        task_repository,
        snapshot_store,
        transcript_store,
        checkpoint_queue,
        agentapi_client,
        secret_scanner,
        token_verifier,
        get_settings,
        get_secret_settings,
        get_auth_settings,
        get_viewer_settings,
        _dynamodb,
        _s3,
        _aws_session,
    ):
        factory.cache_clear()
