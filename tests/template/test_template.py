"""template.yaml: cfn-lint clean, least privilege, data resources as the contract needs, and agreement
with the code (index names, key schema, routes)."""

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.generators.events import EVENTS_DIR
from devstack.runtime.template_resources import (
    ROOT,
    TEMPLATE,
    create_table_request,
    function_memory_mb,
    load_template,
    resource,
)
from tasklogs_core.adapters import task_repository
from tasklogs_core.adapters.transcript_store import ENTRY_COPY_TAG, entry_copy_key


def test_cfn_lint_reports_nothing() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    run = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def _statements():
    for logical_id, res in load_template()["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for policy in res["Properties"].get("Policies", []):
            if isinstance(policy, dict) and "Statement" in policy:
                for statement in policy["Statement"]:
                    yield logical_id, statement


def test_function_policies_are_least_privilege() -> None:
    statements = list(_statements())
    assert statements
    for logical_id, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert statement["Effect"] == "Allow", logical_id
        assert all("*" not in action for action in actions), (logical_id, actions)
        assert "dynamodb:Scan" not in actions, logical_id
        assert "*" not in resources, (logical_id, resources)


def _actions(function: str) -> set[str]:
    found = set()
    for logical_id, statement in _statements():
        if logical_id == function:
            found |= set(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    return found


# The transcript writers (the upload and the capture): sessions in the transcripts table, chunks under
# transcripts/ (docs/transcripts.md).
TRANSCRIPT_WRITES = {
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObjectVersion",
}


@pytest.mark.parametrize(
    ("function", "actions"),
    [
        ("TaskLogsFunction", {"dynamodb:GetItem", "dynamodb:Query", "s3:GetObject", "s3:GetObjectVersion"}),
        (
            "LogSnapshotFunction",
            {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "s3:PutObject", "s3:DeleteObjectVersion"}
            | TRANSCRIPT_WRITES,
        ),
        (
            "PauseCaptureFunction",
            {"dynamodb:UpdateItem", "s3:PutObject", "s3:DeleteObjectVersion"} | TRANSCRIPT_WRITES,
        ),
        (
            "SnapshotCleanupFunction",
            {"s3:ListBucketVersions", "s3:DeleteObjectVersion", "dynamodb:UpdateItem", "dynamodb:Query"}
            | {"dynamodb:DeleteItem"},
        ),
        ("TasksFunction", {"dynamodb:GetItem", "dynamodb:Query"}),
        # Reads the acknowledged upload's snapshot version, writes it to the transcript, clears it.
        ("TranscriptRetryFunction", {"dynamodb:GetItem", "dynamodb:UpdateItem"} | TRANSCRIPT_WRITES),
        (
            "TaskTranscriptFunction",
            {"dynamodb:GetItem", "dynamodb:Query", "s3:GetObject", "s3:GetObjectVersion"}
            | {"s3:PutObject", "s3:PutObjectTagging"},  # copies of large entries only (the next test)
        ),
        ("UserAuthorizerFunction", set()),  # it only fetches the issuer's public keys
        # Finds the running tasks through one index, sends them to one queue.
        ("CheckpointScheduleFunction", {"dynamodb:Query", "sqs:SendMessage"}),
        # The capture's writes, plus reading the task and noting its checkpoint, and taking its queue.
        (
            "TaskCheckpointFunction",
            {"dynamodb:GetItem", "dynamodb:UpdateItem", "s3:PutObject", "s3:DeleteObjectVersion"}
            | TRANSCRIPT_WRITES
            | {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
        ),
    ],
)
def test_each_function_has_only_the_actions_it_uses(function: str, actions: set[str]) -> None:
    assert _actions(function) == actions


def test_the_transcript_function_writes_only_copies_of_large_entries() -> None:
    [copying] = [
        statement
        for logical_id, statement in _statements()
        if logical_id == "TaskTranscriptFunction" and "s3:PutObject" in statement["Action"]
    ]
    assert copying["Resource"] == {"Fn::Sub": "${SnapshotsBucket.Arn}/transcripts/*/entries/*"}
    assert fnmatch.fnmatchcase(entry_copy_key("a-task", 7, b"text"), "transcripts/*/entries/*")


def test_the_cleanup_lists_only_snapshot_and_transcript_keys() -> None:
    [listing] = [
        statement
        for logical_id, statement in _statements()
        if logical_id == "SnapshotCleanupFunction" and statement["Action"] == "s3:ListBucketVersions"
    ]
    assert listing["Resource"] == {"Fn::GetAtt": ["SnapshotsBucket", "Arn"]}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["task-snapshots/*", "transcripts/*"]}}


def test_no_function_can_overwrite_or_remove_task_items() -> None:
    # This service owns only snapshot_at and snapshot_version, set by a conditional UpdateItem; whole
    # items it writes and deletes only in its own transcripts table.
    for _, statement in _statements():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} & set(actions):
            assert resources == [{"Fn::GetAtt": ["TranscriptsTable", "Arn"]}], statement


def test_upload_function_queries_only_the_agent_token_index_and_its_transcripts() -> None:
    queried = [
        statement["Resource"]
        for logical_id, statement in _statements()
        if logical_id == "LogSnapshotFunction" and "dynamodb:Query" in statement["Action"]
    ]
    assert queried == [
        {"Fn::Sub": "${TasksTable.Arn}/index/agent_token_sha256-index"},
        {"Fn::GetAtt": ["TranscriptsTable", "Arn"]},
    ]


def test_only_the_agent_upload_and_the_viewer_s_page_skip_the_user_authorizer_and_only_the_upload_is_default() -> None:
    from devstack.runtime.template_resources import http_api_routes

    routes = {(method, path): (function, needs_jwt) for method, path, function, needs_jwt in http_api_routes()}
    assert routes == {
        ("GET", "/api/v2/tasks/{user}/{task}/logs"): ("TaskLogsFunction", True),
        ("GET", "/api/v2/tasks/{user}/{task}/transcript"): ("TaskTranscriptFunction", True),
        ("GET", "/api/v2/tasks/{user}/{task}/transcript/entries/{seq}"): ("TaskTranscriptFunction", True),
        ("GET", "/api/v2/tasks/{user}/{task}"): ("TasksFunction", True),
        ("GET", "/api/v2/tasks"): ("TasksFunction", True),
        ("POST", "/api/v2/workspaceagents/me/tasks/{task}/log-snapshot"): ("LogSnapshotFunction", False),
        # `//api/...` uploads (contract §6), should API Gateway not match them to the route above: the
        # upload function answers everything else here with 404, so no user route is reachable by
        # another spelling without a user token.
        ("ANY", "$default"): ("LogSnapshotFunction", False),
        # The web viewer's static page, script, style and sign-in settings: no task data.
        ("GET", "/viewer"): ("ViewerFunction", False),
        ("GET", "/viewer/{name}"): ("ViewerFunction", False),
    }


def test_only_functions_that_call_agents_join_the_vpc() -> None:
    in_vpc = {
        logical_id
        for logical_id, res in load_template()["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function" and "VpcConfig" in res["Properties"]
    }
    assert in_vpc == {"TaskLogsFunction", "TaskTranscriptFunction", "PauseCaptureFunction", "TaskCheckpointFunction"}
    assert "VpcConfig" not in load_template()["Globals"]["Function"]


@pytest.mark.parametrize("function", ["PauseCaptureFunction", "SnapshotCleanupFunction", "TranscriptRetryFunction"])
def test_stream_mappings_retry_a_bounded_number_of_times_then_park_the_batch(function: str) -> None:
    [event] = [e["Properties"] for e in resource(function)["Properties"]["Events"].values()]
    assert event["Stream"] == {"Fn::GetAtt": ["TasksTable", "StreamArn"]}
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 0 < event["MaximumRetryAttempts"] <= 5 and event["BisectBatchOnFunctionError"] is True
    assert event["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StreamFailuresQueue", "Arn"]}
    assert resource("StreamFailuresQueue")["Properties"]["SqsManagedSseEnabled"] is True


def test_the_schedule_is_named_per_stack_and_the_checkpoint_queue_mapping_is_bounded() -> None:
    [event] = resource("CheckpointScheduleFunction")["Properties"]["Events"].values()
    assert event["Type"] == "ScheduleV2" and event["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    assert event["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-checkpoints"}
    mapping = resource("TaskCheckpointQueueMapping")["Properties"]
    assert mapping["FunctionName"] == {"Ref": "TaskCheckpointFunction.Alias"}
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "CheckpointConcurrency"}}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # Ten agents side by side, each call bounded: the batch ends well inside the function's timeout.
    longest_agent_call = load_template()["Parameters"]["AgentApiTimeoutSeconds"]["MaxValue"]
    assert longest_agent_call < resource("TaskCheckpointFunction")["Properties"]["Timeout"]
    queue = resource("CheckpointQueue")["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and queue["VisibilityTimeout"] >= 2 * 30
    interval = load_template()["Parameters"]["CheckpointIntervalSeconds"]
    assert (interval["Default"], interval["MinValue"]) == (60, 60)


def test_capture_outlasts_its_longest_agent_call() -> None:
    capture = resource("PauseCaptureFunction")["Properties"]
    [event] = capture["Events"].values()
    longest_agent_call = load_template()["Parameters"]["AgentApiTimeoutSeconds"]["MaxValue"]
    assert event["Properties"]["BatchSize"] * longest_agent_call < capture["Timeout"]


def test_functions_run_python313_on_arm64_well_under_api_gateway_limit() -> None:
    function = load_template()["Globals"]["Function"]
    assert function["Runtime"] == "python3.13" and function["Architectures"] == ["arm64"]
    assert function["Timeout"] < 30 and function["Tracing"] == "Active"
    layer = resource("CoreLayer")
    assert layer["Metadata"]["BuildMethod"] == "python3.13" and layer["Properties"]["CompatibleArchitectures"] == [
        "arm64"
    ]


def test_logs_function_memory_is_a_parameter_defaulting_to_the_documented_choice() -> None:
    # docs/performance.md explains 1024 MB from the bench figures; a change there should change both.
    assert resource("TaskLogsFunction")["Properties"]["MemorySize"] == {"Ref": "TaskLogsMemorySize"}
    assert load_template()["Parameters"]["TaskLogsMemorySize"]["Default"] == 1024
    assert function_memory_mb("TaskLogsFunction") == 1024 and function_memory_mb("LogSnapshotFunction") == 512
    assert "TaskLogsMemorySize" in (Path(TEMPLATE).parent / "docs" / "performance.md").read_text()


def test_every_function_has_a_log_group_with_retention() -> None:
    for logical_id, res in load_template()["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            group = res["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            assert "RetentionInDays" in resource(group)["Properties"], logical_id


def test_api_requires_a_user_token_by_default_verified_by_the_lambda_authorizer() -> None:
    auth = resource("TaskLogsApi")["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "UserToken"
    authorizer = auth["Authorizers"]["UserToken"]
    assert authorizer["FunctionArn"] == {"Ref": "UserAuthorizerFunction.Alias"}  # its `live` alias
    assert (authorizer["AuthorizerPayloadFormatVersion"], authorizer["EnableSimpleResponses"]) == ("2.0", True)
    # Either header may carry the token: no identity source (any missing one would be a 401 before the
    # authorizer runs), hence no API Gateway cache.
    assert authorizer["Identity"] == {"ReauthorizeEvery": 0}
    variables = resource("UserAuthorizerFunction")["Properties"]["Environment"]["Variables"]
    assert variables["JWT_ISSUER"] == {"Ref": "JwtIssuer"} and variables["JWKS_URI"] == {"Ref": "JwksUri"}
    assert variables["JWT_AUDIENCE"] == {"Fn::Join": [",", {"Ref": "JwtAudience"}]}


def test_tasks_table_per_contract() -> None:
    table = resource("TasksTable")
    props = table["Properties"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert props["KeySchema"] == [{"AttributeName": "task_id", "KeyType": "HASH"}]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    indexes = {
        index["IndexName"]: [k["AttributeName"] for k in index["KeySchema"]]
        for index in props["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        task_repository.OWNER_ID_NAME_INDEX: ["owner_id", "name"],
        "owner_name-name-index": ["owner_name", "name"],  # Coder's lookup by owner name; not queried here
        task_repository.AGENT_TOKEN_INDEX: ["agent_token_sha256"],
        task_repository.BUILD_TRANSITION_INDEX: ["build_transition", "task_id"],
    }


def test_local_table_is_built_from_the_template_key_schema(local_aws) -> None:
    described = local_aws.client("dynamodb").describe_table(TableName=local_aws.table_name)["Table"]
    wanted = create_table_request("TasksTable", local_aws.table_name)
    assert described["KeySchema"] == wanted["KeySchema"]
    assert {i["IndexName"]: i["KeySchema"] for i in described["GlobalSecondaryIndexes"]} == {
        i["IndexName"]: i["KeySchema"] for i in wanted["GlobalSecondaryIndexes"]
    }


def test_snapshots_bucket_per_contract() -> None:
    bucket = resource("SnapshotsBucket")
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    rules = props["LifecycleConfiguration"]["Rules"]
    # Old versions expire for snapshots and copies of large entries only: a transcript chunk version a
    # header names never may.
    expiring = {rule["Id"]: rule for rule in rules if "NoncurrentVersionExpiration" in rule}
    assert set(expiring) == {"ExpireOldSnapshotVersions", "ExpireEntryCopies"}
    assert expiring["ExpireOldSnapshotVersions"]["Prefix"] == "task-snapshots/"
    copies = expiring["ExpireEntryCopies"]
    assert "Prefix" not in copies and copies["ExpirationInDays"] == 1
    # The tag the transcript function puts on each copy, and only there.
    key, _, value = ENTRY_COPY_TAG.partition("=")
    assert copies["TagFilters"] == [{"Key": key, "Value": value}]
    policy = resource("SnapshotsBucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)


def test_committed_events_match_the_demo_catalogue() -> None:
    from devstack.demo.catalogue import demo_events

    generated = demo_events()
    committed = {path.stem: json.loads(path.read_text()) for path in EVENTS_DIR.glob("*.json")}
    assert committed == generated, "events/ drifted: run `make events`"


@pytest.mark.parametrize("path", sorted(EVENTS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_events_are_http_api_v2(path) -> None:
    from devstack.runtime.template_resources import http_api_routes

    event = json.loads(path.read_text())
    route_keys = {f"{method} {route}" for method, route, _, _ in http_api_routes()}
    assert event["version"] == "2.0" and event["routeKey"] in route_keys


def test_translated_api_sends_only_the_upload_function_the_default_route(translated) -> None:
    paths = translated["Resources"]["TaskLogsApi"]["Properties"]["Body"]["paths"]
    default = paths["$default"]["x-amazon-apigateway-any-method"]
    assert default["isDefaultRoute"] is True and default["security"] == [{"NONE": []}]
    assert "${LogSnapshotFunctionAliaslive}" in default["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
    for path in ("/api/v2/tasks/{user}/{task}/logs", "/api/v2/tasks/{user}/{task}", "/api/v2/tasks"):
        assert paths[path]["get"]["security"] == [{"UserToken": []}], path


def test_translated_api_asks_the_lambda_authorizer_about_every_request(translated) -> None:
    """SAM's own translation: a REQUEST authorizer (payload 2.0, simple responses), no identity sources
    and no cache, invoking UserAuthorizerFunction, which API Gateway may invoke and nothing else may."""
    body = translated["Resources"]["TaskLogsApi"]["Properties"]["Body"]
    authorizer = body["components"]["securitySchemes"]["UserToken"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "request"
    assert (authorizer["identitySource"], authorizer["authorizerResultTtlInSeconds"]) == ([], 0)
    assert (authorizer["authorizerPayloadFormatVersion"], authorizer["enableSimpleResponses"]) == ("2.0", True)
    assert authorizer["authorizerUri"]["Fn::Sub"][1]["__FunctionArn__"] == {"Ref": "UserAuthorizerFunctionAliaslive"}
    permissions = [
        res["Properties"]
        for res in translated["Resources"].values()
        if res["Type"] == "AWS::Lambda::Permission"
        and res["Properties"]["FunctionName"] == {"Ref": "UserAuthorizerFunctionAliaslive"}
    ]
    assert [(p["Principal"], p["Action"]) for p in permissions] == [
        ("apigateway.amazonaws.com", "lambda:InvokeFunction")
    ]
    assert permissions[0]["SourceArn"]["Fn::Sub"][0].endswith("/authorizers/*")


def test_translated_roles_carry_only_the_expected_managed_policies(translated) -> None:
    """What SAM itself adds to each role, read from its own translation of the template."""
    managed = {
        logical_id.removesuffix("Role"): {
            arn.rsplit("/", 1)[-1] for arn in res["Properties"].get("ManagedPolicyArns", [])
        }
        for logical_id, res in translated["Resources"].items()
        if res["Type"] == "AWS::IAM::Role"
    }
    base = {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}
    assert managed == {
        "TaskLogsFunction": base | {"AWSLambdaVPCAccessExecutionRole"},
        "TaskTranscriptFunction": base | {"AWSLambdaVPCAccessExecutionRole"},
        "LogSnapshotFunction": base,
        "PauseCaptureFunction": base | {"AWSLambdaVPCAccessExecutionRole", "AWSLambdaDynamoDBExecutionRole"},
        "SnapshotCleanupFunction": base | {"AWSLambdaDynamoDBExecutionRole"},
        "TranscriptRetryFunction": base | {"AWSLambdaDynamoDBExecutionRole"},
        "TasksFunction": base,
        "ViewerFunction": base,
        # Its queue's permissions are its own statement, on that queue alone (not SAM's SQS role).
        "TaskCheckpointFunction": base | {"AWSLambdaVPCAccessExecutionRole"},
        "CheckpointScheduleFunction": base,
        "CheckpointScheduleFunctionEveryMinute": set(),  # the scheduler's: invoke the schedule's alias
        "UserAuthorizerFunction": base,
        "SecretRulesCheckFunction": base,  # and no statement of its own: it answers over a pre-signed URL
        # SAM's role for CodeDeploy, which shifts each function's `live` alias (gradual deploys).
        "CodeDeployService": {"AWSCodeDeployRoleForLambda"},
    }


def _functions() -> dict[str, dict]:
    resources = load_template()["Resources"]
    return {name: r for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


def test_only_the_functions_that_scan_content_carry_the_scanner_and_only_they_load_it() -> None:
    """Contract §12: every write and live read scans; the scanner's native library and its rules'
    compile time stay off the authorizer, the task routes, the viewer and the schedule."""
    scanning = {
        "TaskLogsFunction",
        "TaskTranscriptFunction",
        "LogSnapshotFunction",
        "PauseCaptureFunction",
        "TranscriptRetryFunction",
        "TaskCheckpointFunction",
    }
    carried = {name for name, f in _functions().items() if {"Ref": "ScannerLayer"} in f["Properties"].get("Layers", [])}
    # And the deploy's check of the patterns, by the scanner's own compiler (never loaded at import).
    assert carried == scanning | {"SecretRulesCheckFunction"}
    # Each changes only once the deployment's secret rules passed the stack's own check.
    assert {name for name, f in _functions().items() if f.get("DependsOn") == "SecretRules"} == scanning
    for name, function in _functions().items():
        props = function["Properties"]
        module = props["Handler"].rsplit(".", 1)[0]
        probe = f"import sys, {module}; print('kingfisher_sdk' in sys.modules)"
        path = os.pathsep.join([str(ROOT / props["CodeUri"]), str(ROOT / "layers" / "core")])
        loaded = subprocess.run(
            [sys.executable, "-c", probe],
            env={**os.environ, "PYTHONPATH": path, "POWERTOOLS_METRICS_DISABLED": "true"},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout.strip()
        assert loaded == str(name in scanning), name
