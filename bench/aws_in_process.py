"""moto in process (`mock_aws`) as DynamoDB and S3, with the template's table and a versioned bucket.

In process rather than moto server: the AWS calls then cost what moto's backend costs, with no
loopback HTTP in between, so our handler's own overhead is as visible as it can be."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core")]

from devstack.runtime.aws import FAKE_CREDENTIALS, REGION  # noqa: E402
from devstack.runtime.template_resources import create_table_request  # noqa: E402
from tasklogs_core.adapters.snapshot_store import snapshot_key  # noqa: E402

# With POWERTOOLS_METRICS_DISABLED, Powertools warns that it has nothing to publish; not a finding.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)

TABLE, BUCKET, TRANSCRIPTS = "tasklogs-bench-tasks", "tasklogs-bench-snapshots", "tasklogs-bench-transcripts"
ENVIRONMENT = {
    **FAKE_CREDENTIALS,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "TASKS_TABLE_NAME": TABLE,
    "SNAPSHOTS_BUCKET_NAME": BUCKET,
    "TRANSCRIPTS_TABLE_NAME": TRANSCRIPTS,
    "AGENTAPI_ALLOWED_NETWORKS": "127.0.0.0/8",  # the bench's agents listen on loopback
    # Off, as in a quiet production log level: the figure is the handler, not EMF output.
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


@dataclass
class Aws:
    dynamodb: Any
    s3: Any

    def put_task(self, item: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName=TABLE, Item=item)

    def put_snapshot(self, task_id: str, body: bytes) -> str:
        return self.s3.put_object(Bucket=BUCKET, Key=snapshot_key(task_id), Body=body)["VersionId"]


@contextmanager
def aws_in_process() -> Iterator[Aws]:
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(ENVIRONMENT)
    import boto3
    from moto import mock_aws

    from tasklogs_core.adapters import clients

    with mock_aws():
        clients.reset()  # clients made inside mock_aws talk to it
        dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        dynamodb.create_table(**create_table_request("TasksTable", TABLE))
        dynamodb.create_table(**create_table_request("TranscriptsTable", TRANSCRIPTS))
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield Aws(dynamodb, s3)
        clients.reset()
