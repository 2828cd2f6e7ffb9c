"""Upload path (target 5 of the performance issue): the log-snapshot handler storing a 64 KiB
upload vs the raw boto3 PutObject + UpdateItem it must do anyway (moto in process). Target: <= 1.2x.

Also shown, for what cannot be cut: the calls contract §6 needs, made alone through our data
layer: a GetItem before the body may be read (steps 1 and 4: whose token, whose task), the
PutObject, and an UpdateItem whose condition keeps racing uploads in order (moto evaluates that
condition in Python, so there it costs far more than the plain UpdateItem of the baseline).

Run: make bench   (or .venv/bin/python bench/write_path.py --repeats 101)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "layers" / "core")]

from aws_in_process import BUCKET, TABLE, TRANSCRIPTS, aws_in_process  # noqa: E402
from conversations import answer, messages_of_size  # noqa: E402
from report import Figure, interleaved_medians_ms, show  # noqa: E402

from devstack.demo.catalogue import UPLOAD_TASK, task_item, upload_path  # noqa: E402
from devstack.generators.events import http_api_event  # noqa: E402
from devstack.runtime.lambda_runtime import context_for, load_handler  # noqa: E402
from tasklogs_core.adapters.snapshot_store import snapshot_key  # noqa: E402

UPLOAD_BYTES = 64 * 1024


def run(repeats: int) -> list[Figure]:
    print(f"upload path, median of {repeats} uploads of 64 KiB (moto in process)")
    task = UPLOAD_TASK
    body = answer(messages_of_size(UPLOAD_BYTES))  # what the shutdown script posts: AgentAPI's own answer
    with aws_in_process() as aws:
        aws.put_task(task_item(task, None, None))
        handler = load_handler("LogSnapshotFunction")
        event = http_api_event(
            "POST",
            upload_path(task.task_id),
            claims=None,
            raw_query="format=agentapi",
            headers={"coder-session-token": task.agent_token, "content-type": "application/json"},
            body=body.decode(),
        )

        def ours() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                result = handler(event, context_for("LogSnapshotFunction"))
            assert result["statusCode"] == 204, result

        key = {"task_id": {"S": task.task_id}}

        def raw_write() -> None:
            put = aws.s3.put_object(Bucket=BUCKET, Key=snapshot_key(task.task_id), Body=body)
            aws.dynamodb.update_item(
                TableName=TABLE,
                Key=key,
                UpdateExpression="SET snapshot_at = :at, snapshot_version = :v",
                ExpressionAttributeValues={":at": {"S": "2026-11-25T00:00:00.000000Z"}, ":v": {"S": put["VersionId"]}},
            )

        from tasklogs_core.adapters import clients
        from tasklogs_core.domain.models import utc_now_rfc3339

        repository, store = clients.task_repository(), clients.snapshot_store()

        chunk = f"transcripts/{task.task_id}/bench.json"

        def required_calls() -> None:
            # §6: whose token and task, the object, the conditional pointer.
            item = repository.get(task.task_id)
            version = store.write(task.task_id, body)
            now = utc_now_rfc3339()
            repository.point_at_snapshot(
                task.task_id, snapshot_at=now, version_id=version, agent_token_sha256=item.agent_token_sha256
            )
            # §7: the session's header, its chunk read and written back, the new header, and the write
            # counted on the task item, which also says whether the task is still there (docs/transcripts.md).
            aws.dynamodb.query(
                TableName=TRANSCRIPTS,
                KeyConditionExpression="task_id = :t",
                ExpressionAttributeValues={":t": {"S": task.task_id}},
                ScanIndexForward=False,
                Limit=2,
            )
            aws.s3.put_object(Bucket=BUCKET, Key=chunk, Body=body)
            aws.s3.get_object(Bucket=BUCKET, Key=chunk)["Body"].read()
            aws.dynamodb.put_item(TableName=TRANSCRIPTS, Item={"task_id": {"S": "bench-floor"}, "session": {"N": "1"}})
            repository.count_transcript_write(task.task_id)

        mine, base = interleaved_medians_ms(ours, raw_write, repeats)
        figures = [
            show(Figure(f"upload path, {len(body) / 1024:.0f} KiB", mine, base, "ms", 1.2, "PutObject + UpdateItem"))
        ]
        floor, base = interleaved_medians_ms(required_calls, raw_write, repeats)
        figures.append(
            show(Figure("  floor: the calls §6 and §7 require", floor, base, "ms", None, "PutObject + UpdateItem"))
        )
        mine, floor = interleaved_medians_ms(ours, required_calls, repeats)
        figures.append(show(Figure("  upload path vs that floor", mine, floor, "ms", None, "required calls")))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=101)
    run(parser.parse_args().repeats)


if __name__ == "__main__":
    main()
