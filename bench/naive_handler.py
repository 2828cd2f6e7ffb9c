"""Baseline for the cold-start figures: a naive logs handler that builds everything eagerly at import
(boto3 DynamoDB and S3 clients, an httpx client, Powertools' Tracer patching what it finds, the
resolver), as a first version typically does, and serves GET .../logs the plain way: the task by id,
then its stored snapshot or its agent's /messages, through json."""

import json
import os

import boto3
import httpx
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

logger, metrics, tracer = Logger(), Metrics(namespace="Naive"), Tracer()
dynamodb = boto3.client("dynamodb")
s3 = boto3.client("s3")
http = httpx.Client()
app = APIGatewayHttpResolver()
TYPES = {"user": "input", "agent": "output"}


@app.get("/api/v2/tasks/<user>/<task>/logs")
def logs(user: str, task: str) -> Response:  # noqa: ARG001 - naive: the owner is not checked
    item = dynamodb.get_item(TableName=os.environ["TASKS_TABLE_NAME"], Key={"task_id": {"S": task}})["Item"]
    if "snapshot_version" in item:
        body = s3.get_object(
            Bucket=os.environ["SNAPSHOTS_BUCKET_NAME"],
            Key=f"task-snapshots/{task}.json",
            VersionId=item["snapshot_version"]["S"],
        )["Body"].read()
        messages, extra = json.loads(body)["data"]["messages"], {"snapshot": True}
    else:
        messages, extra = http.get(item["agentapi_url"]["S"] + "/messages").json()["messages"], {}
    entries = [{"id": m["id"], "content": m["content"], "type": TYPES[m["role"]], "time": m["time"]} for m in messages]
    return Response(200, content_types.APPLICATION_JSON, json.dumps({"logs": entries, **extra}))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
