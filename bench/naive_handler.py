"""Baseline for the cold-start figure: a naive handler that builds everything eagerly at import
(boto3 DynamoDB and S3 clients, an httpx client and the resolver), as a first version typically does."""

import boto3
import httpx
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

logger, metrics, tracer = Logger(), Metrics(namespace="Naive"), Tracer()
dynamodb = boto3.client("dynamodb")
s3 = boto3.client("s3")
http = httpx.Client()
app = APIGatewayHttpResolver()
