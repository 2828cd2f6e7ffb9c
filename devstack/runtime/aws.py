"""moto in server mode on 127.0.0.1 as DynamoDB and S3, with the template's table and bucket."""

import logging
import threading
from dataclasses import dataclass, field

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from devstack.runtime.template_resources import create_table_request, queue_url_variables, queues

REGION = "us-east-1"
# moto accepts any credentials; fixed fake ones keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


class _AtomicWrites:
    """WSGI wrapper making moto atomic where AWS is. Real DynamoDB applies a conditional write
    atomically, and a real S3 PutObject never loses another version; moto checks-then-writes in both
    without a lock, so two racing UpdateItems could both pass their condition and two racing
    PutObjects to one key could drop a version. So: one DynamoDB call at a time, one S3 write at a
    time. S3 reads stay concurrent, and an upload's PutObject and UpdateItem still interleave with
    other uploads' calls as they would on AWS."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self._app = app
        self._dynamodb = threading.Lock()
        self._s3_writes = threading.Lock()

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            lock = self._dynamodb
        elif environ.get("REQUEST_METHOD") in ("PUT", "POST", "DELETE"):
            lock = self._s3_writes
        else:
            return self._app(environ, start_response)
        with lock:
            return list(self._app(environ, start_response))


class _MotoServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        app = _AtomicWrites(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


@dataclass
class LocalAws:
    server: ThreadedMotoServer
    endpoint_url: str
    table_name: str
    bucket_name: str
    transcripts_table_name: str = "tasklogs-transcripts"
    queue_urls: dict[str, str] = field(default_factory=dict)  # by the template's logical id

    def client(self, service: str):  # noqa: ANN201
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fixed test credentials
        )

    def environment(self) -> dict[str, str]:
        """Environment that points the real handler (boto3 included) at this moto server."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "TASKS_TABLE_NAME": self.table_name,
            "SNAPSHOTS_BUCKET_NAME": self.bucket_name,
            "TRANSCRIPTS_TABLE_NAME": self.transcripts_table_name,
            # The fake agents listen on loopback, which the deployed function refuses by default.
            "AGENTAPI_ALLOWED_NETWORKS": "127.0.0.0/8",
            **{name: self.queue_urls[queue] for name, queue in queue_url_variables().items()},
        }

    def stop(self) -> None:
        self.server.stop()


def start_local_aws(
    port: int = 0, table_name: str = "tasklogs-tasks", bucket_name: str = "tasklogs-snapshots"
) -> LocalAws:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call is noise
    server = _MotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    aws = LocalAws(server, f"http://{host}:{bound_port}", table_name, bucket_name)
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(**create_table_request("TasksTable", table_name))
    dynamodb.create_table(**create_table_request("TranscriptsTable", aws.transcripts_table_name))
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    sqs = aws.client("sqs")
    for logical_id, props in queues().items():
        attributes = {
            name: str(props[name]) for name in ("VisibilityTimeout", "MessageRetentionPeriod") if name in props
        }
        aws.queue_urls[logical_id] = sqs.create_queue(QueueName=logical_id, Attributes=attributes)["QueueUrl"]
    return aws
