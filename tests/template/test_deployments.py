"""Gradual deploys and alarms, read from SAM's own translation of the template: every function behind
its `live` alias with a CodeDeploy deployment group that rolls back on its own deployment alarm, which
reads only that function's new version; every caller (API routes, the authorizer, stream mappings) on
the alias; and the alarms' reasoned limits."""

import re

import pytest

from devstack.runtime.template_resources import load_template
from tasklogs_core.adapters.observability import SERVER_ERROR_ANSWERS, UNHANDLED_ERRORS

TEMPLATE = load_template()
# CloudFormation calls it by its ARN while a stack deploys (the secret rules' check): no alias traffic to
# shift, so no deployment group and no canary; a failure of it is the deploy's, which rolls back.
DEPLOY_TIME_FUNCTIONS = ["SecretRulesCheckFunction"]
FUNCTIONS = sorted(
    k
    for k, r in TEMPLATE["Resources"].items()
    if r["Type"] == "AWS::Serverless::Function" and k not in DEPLOY_TIME_FUNCTIONS
)
HTTP_FUNCTIONS = [
    "LogSnapshotFunction",
    "TaskLogsFunction",
    "TaskTranscriptFunction",
    "TasksFunction",
    "ViewerFunction",
]
STREAM_FUNCTIONS = ["PauseCaptureFunction", "SnapshotCleanupFunction", "TranscriptRetryFunction"]
# Called by a stream, the checkpoint queue or the schedule: a bug is a raised error, retried or replaced.
BACKGROUND_FUNCTIONS = [*STREAM_FUNCTIONS, "CheckpointScheduleFunction", "TaskCheckpointFunction"]
SERVICE = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]


def canary(function: str) -> str:
    return function.removesuffix("Function") + "CanaryAlarm"


def alarm(name: str) -> dict:
    return TEMPLATE["Resources"][name]["Properties"]


def metrics_by_function(name: str) -> dict[str, dict]:
    """An alarm's metric math inputs, by the function each one watches."""
    return {
        m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]: m
        for m in alarm(name)["Metrics"]
        if "MetricStat" in m
    }


def timeout_ms(function: str) -> int:
    own = TEMPLATE["Resources"][function]["Properties"].get("Timeout")
    return 1000 * int(own or TEMPLATE["Globals"]["Function"]["Timeout"])


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_is_deployed_through_its_live_alias_and_rolled_back_on_alarms(translated, function) -> None:
    resources = translated["Resources"]
    alias = resources[f"{function}Aliaslive"]
    assert alias["Type"] == "AWS::Lambda::Alias" and alias["Properties"]["Name"] == "live"
    group_name = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]["DeploymentGroupName"]["Ref"]
    group = resources[group_name]["Properties"]
    assert group["DeploymentConfigName"]["Fn::Sub"][1]["ConfigName"] == "AllAtOnce"  # the parameter's default
    assert group["AlarmConfiguration"] == {"Enabled": True, "Alarms": [{"Name": {"Ref": canary(function)}}]}
    assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_deployment_alarm_reads_only_its_function_s_new_version(translated, function) -> None:
    resources = translated["Resources"]
    version = next(k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Version" and k.startswith(function))
    properties = resources[canary(function)]["Properties"]
    inputs = {m["Id"]: m["MetricStat"] for m in properties["Metrics"] if "MetricStat" in m}
    for stat in inputs.values():
        metric = stat["Metric"]
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        if metric["Namespace"] == "AWS/Lambda":  # Lambda's own metrics of invocations through the alias
            assert dimensions == {
                "FunctionName": {"Ref": function},
                "Resource": {"Fn::Sub": f"${{{function}}}:live"},
                "ExecutedVersion": {"Fn::GetAtt": [version, "Version"]},
            }
        else:  # the service's own counts (observability.count_for_this_version)
            assert (
                metric["Namespace"]
                == TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
            )
            assert dimensions == {
                "function_name": {"Ref": function},
                "function_version": {"Fn::GetAtt": [version, "Version"]},
                "service": SERVICE,
            }
    watched = {i: (s["Metric"]["MetricName"], s["Stat"]) for i, s in inputs.items()}
    expected = {"slowest": ("Duration", "Maximum")}
    if function != "UserAuthorizerFunction":  # its refusals are raised errors (API Gateway's design)
        expected["errors"] = ("Errors", "Sum")
    if function not in BACKGROUND_FUNCTIONS:  # a background function's bug is a raised error
        expected["bugs"] = (UNHANDLED_ERRORS, "Sum")
    if function in HTTP_FUNCTIONS:
        expected |= {"invocations": ("Invocations", "Sum"), "answers5xx": (SERVER_ERROR_ANSWERS, "Sum")}
    assert watched == expected
    expression = properties["Metrics"][0]["Expression"]
    assert f"IF(FILL(slowest, 0) >= {timeout_ms(function) * 8 // 10}, 1, 0)" in expression
    if function in HTTP_FUNCTIONS:  # the API alarm's rule, for this version's answers alone
        assert "IF(FILL(invocations, 0) >= 10, IF(FILL(answers5xx, 0) / invocations > 0.05, 1, 0), 0)" in expression
    assert set(re.findall(r"\b[a-z]\w*\b", expression)) - {"failing"} == set(inputs)
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert (properties["DatapointsToAlarm"], properties["EvaluationPeriods"]) == (2, 5)


def test_the_deploy_time_check_has_no_deployment_group_and_is_called_by_its_arn(translated) -> None:
    resources = translated["Resources"]
    for function in DEPLOY_TIME_FUNCTIONS:
        assert not [k for k in resources if k.startswith(function) and k.endswith("DeploymentGroup")]
        assert canary(function) not in resources
    check = resources["SecretRules"]["Properties"]
    assert check["ServiceToken"] == {"Fn::GetAtt": ["SecretRulesCheckFunction", "Arn"]}
    assert check["ServiceTimeout"] == 60  # a lost answer fails the resource in a minute, not an hour
    assert "Policies" not in TEMPLATE["Resources"]["SecretRulesCheckFunction"]["Properties"]


def test_every_caller_calls_the_alias(translated) -> None:
    resources = translated["Resources"]
    body = resources["TaskLogsApi"]["Properties"]["Body"]
    uris = [
        operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for path in body["paths"].values()
        for operation in path.values()
    ]
    assert uris and all(re.search(r"\$\{\w+Aliaslive\}/invocations$", uri) for uri in uris), uris
    authorizer = body["components"]["securitySchemes"]["UserToken"]["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizerUri"]["Fn::Sub"][1]["__FunctionArn__"] == {"Ref": "UserAuthorizerFunctionAliaslive"}
    mappings = [
        r["Properties"]["FunctionName"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert sorted(m["Ref"] for m in mappings) == sorted(
        f"{function}Aliaslive" for function in [*STREAM_FUNCTIONS, "TaskCheckpointFunction"]
    )
    [schedule] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert schedule["Target"]["Arn"] == {"Ref": "CheckpointScheduleFunctionAliaslive"}


def test_the_deployment_type_is_a_parameter_prod_deploys_a_canary() -> None:
    import tomllib
    from pathlib import Path

    parameter = TEMPLATE["Parameters"]["DeploymentType"]
    assert parameter["Default"] == "AllAtOnce" and "Canary10Percent5Minutes" in parameter["AllowedValues"]
    config = tomllib.loads((Path(__file__).resolve().parents[2] / "samconfig.toml").read_text())
    chosen = {
        env: dict(e.split("=", 1) for e in config[env]["deploy"]["parameters"]["parameter_overrides"])["DeploymentType"]
        for env in ("dev", "prod")
    }
    assert chosen == {"dev": "AllAtOnce", "prod": "Canary10Percent5Minutes"}


def test_errors_and_throttles_alarms_watch_every_function_the_errors_one_but_the_authorizer() -> None:
    assert sorted(metrics_by_function("FunctionThrottlesAlarm")) == FUNCTIONS
    # The authorizer's refusals are raised errors (API Gateway's convention): its Errors count refusals.
    assert sorted(metrics_by_function("FunctionErrorsAlarm")) == [f for f in FUNCTIONS if f != "UserAuthorizerFunction"]
    for name, statistic in (("FunctionThrottlesAlarm", "Throttles"), ("FunctionErrorsAlarm", "Errors")):
        assert {m["MetricStat"]["Metric"]["MetricName"] for m in metrics_by_function(name).values()} == {statistic}
        assert alarm(name)["Metrics"][0]["Expression"] == "SUM(METRICS())"


def test_the_duration_alarm_divides_each_function_s_slowest_invocation_by_its_own_timeout() -> None:
    inputs = metrics_by_function("DurationNearTimeoutAlarm")
    assert sorted(inputs) == FUNCTIONS
    expression = alarm("DurationNearTimeoutAlarm")["Metrics"][0]["Expression"]
    shares = dict(re.findall(r"(\w+) / (\d+)", expression))
    assert {function: int(shares[m["Id"]]) for function, m in inputs.items()} == {f: timeout_ms(f) for f in FUNCTIONS}
    assert all(m["MetricStat"]["Stat"] == "Maximum" for m in inputs.values())
    assert alarm("DurationNearTimeoutAlarm")["Threshold"] == 0.8


def test_the_api_alarm_is_a_5xx_rate_with_a_floor_of_requests() -> None:
    properties = alarm("ApiServerErrorsAlarm")
    assert properties["Metrics"][0]["Expression"] == "IF(requests >= 10, errors / requests, 0)"
    names = {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in properties["Metrics"][1:]}
    assert names == {"errors": "5xx", "requests": "Count"}
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (0.05, "GreaterThanThreshold")


def test_the_operational_alarms_watch_captures_agents_and_the_failure_queue() -> None:
    capture = alarm("PauseCaptureFailuresAlarm")
    assert (capture["MetricName"], capture["Dimensions"][0]["Value"]) == ("Errors", {"Ref": "PauseCaptureFunction"})
    agents = alarm("AgentsUnavailableAtPauseAlarm")
    # The metric the capture emits (use_cases/pause_capture.py), under Powertools' service dimension.
    assert (agents["Namespace"], agents["MetricName"]) == ("TaskLogs", "PauseCaptureAgentUnavailable")
    assert agents["Dimensions"] == [
        {
            "Name": "service",
            "Value": TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"],
        }
    ]
    queue = alarm("StreamFailuresQueueAlarm")
    assert (queue["MetricName"], queue["Threshold"]) == ("ApproximateNumberOfMessagesVisible", 1)


def test_the_checkpoint_alarms_watch_failures_and_a_queue_that_falls_behind_its_interval() -> None:
    failures = alarm("CheckpointFailuresAlarm")
    watched = [
        (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"], dimension["Value"])
        for m in failures["Metrics"]
        if "MetricStat" in m
        for dimension in m["MetricStat"]["Metric"]["Dimensions"]
    ]
    # CheckpointsFailed: what use_cases/task_checkpoint.py counts for a checkpoint it could not store.
    from tasklogs_core.use_cases.task_checkpoint import Checkpoint

    assert sorted(watched, key=str) == sorted(
        [
            ("AWS/Lambda", "Errors", {"Ref": "CheckpointScheduleFunction"}),
            ("AWS/Lambda", "Errors", {"Ref": "TaskCheckpointFunction"}),
            ("TaskLogs", f"Checkpoints{Checkpoint.FAILED.value}", SERVICE),
        ],
        key=str,
    )
    age = alarm("CheckpointQueueAgeAlarm")
    assert (age["MetricName"], age["Threshold"]) == (
        "ApproximateAgeOfOldestMessage",
        {"Ref": "CheckpointIntervalSeconds"},
    )
    assert age["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["CheckpointQueue", "QueueName"]}}]


def test_every_alarm_notifies_the_topic_only_when_an_email_is_given() -> None:
    alarms = [k for k, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == 9 + len(FUNCTIONS)
    for name in alarms:
        for actions in ("AlarmActions", "OKActions"):
            assert alarm(name)[actions] == {
                "Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]
            }
        assert alarm(name)["TreatMissingData"] == "notBreaching"
    topic = TEMPLATE["Resources"]["AlarmTopic"]
    assert topic["Condition"] == "HasAlarmEmail"
    assert topic["Properties"]["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
