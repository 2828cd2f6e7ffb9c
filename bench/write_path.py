"""Upload path figure: the log-snapshot handler storing a 64 KiB upload vs the raw boto3 PutObject +
UpdateItem it must do anyway, measured in the same run against the same moto server.
Run: make bench   (or .venv/bin/python bench/write_path.py --requests 200)
"""

import argparse
import contextlib
import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "layers" / "core")]

from read_path import line, p, timed  # noqa: E402

from devstack.aws import start_local_aws  # noqa: E402
from devstack.demo import UPLOAD_TASK, seed, upload_path  # noqa: E402
from devstack.events import http_api_event  # noqa: E402
from devstack.fake_agentapi import FakeAgentAPI  # noqa: E402
from devstack.lambda_runtime import context_for, load_handler  # noqa: E402


def body_of(size: int) -> bytes:
    """An AgentAPI /messages answer of exactly `size` bytes."""
    message = {"id": 0, "content": "", "role": "agent", "time": "2026-11-25T04:31:04.123456789Z"}
    skeleton = len(json.dumps({"messages": [message]}))
    return json.dumps({"messages": [{**message, "content": "x" * (size - skeleton)}]}).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    aws, fake = start_local_aws(), FakeAgentAPI().start()
    seed(aws, fake)
    os.environ.update({**aws.environment(), "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
                       "POWERTOOLS_LOG_LEVEL": "WARNING"})
    body = body_of(65_536)
    event = http_api_event("POST", upload_path(UPLOAD_TASK.task_id), claims=None, raw_query="format=agentapi",
                           headers={"coder-session-token": UPLOAD_TASK.agent_token, "content-type": "application/json"},
                           body=body.decode())
    handler = load_handler("LogSnapshotFunction")
    assert handler(event, context_for("LogSnapshotFunction"))["statusCode"] == 204

    import boto3

    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")

    def raw_upload() -> None:
        put = s3.put_object(Bucket=aws.bucket_name, Key=f"task-snapshots/{UPLOAD_TASK.task_id}.json", Body=body)
        dynamodb.update_item(TableName=aws.table_name, Key={"task_id": {"S": UPLOAD_TASK.task_id}},
                             UpdateExpression="SET snapshot_at = :at, snapshot_version = :v",
                             ExpressionAttributeValues={":at": {"S": "2026-11-25T00:00:00.000000Z"},
                                                        ":v": {"S": put["VersionId"]}})

    def ours() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            handler(event, context_for("LogSnapshotFunction"))

    n = args.requests
    print(f"upload path, {n} uploads of 64 KiB each (p50 / p99), moto server on loopback")
    mine, raw = timed(ours, n), timed(raw_upload, n)
    line("upload path p50", p(mine, 0.5), p(raw, 0.5))
    line("upload path p99", p(mine, 0.99), p(raw, 0.99))
    fake.stop()
    aws.stop()


if __name__ == "__main__":
    main()
