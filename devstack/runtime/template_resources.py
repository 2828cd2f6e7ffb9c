"""Reads template.yaml so local tables, buckets and routes are built from the deployed definition."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation's short-form tags (!Ref, !Sub, ...) as plain data."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - safe loader subclass


def resource(logical_id: str) -> dict[str, Any]:
    return load_template()["Resources"][logical_id]


def create_table_request(logical_id: str, table_name: str) -> dict[str, Any]:
    """DynamoDB CreateTable arguments from the template's AWS::DynamoDB::Table definition."""
    props = resource(logical_id)["Properties"]
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
    }
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return request


def _function_events(event_type: str):  # noqa: ANN202
    for logical_id, res in load_template()["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for event in res["Properties"].get("Events", {}).values():
            if event["Type"] == event_type:
                yield logical_id, event["Properties"]


def http_api_routes() -> list[tuple[str, str, str, bool]]:
    """(method, path, function logical id, behind the user authorizer) of every HttpApi event in the template."""
    routes = []
    for logical_id, props in _function_events("HttpApi"):
        authorizer = props.get("Auth", {}).get("Authorizer")
        routes.append((props["Method"].upper(), props["Path"], logical_id, authorizer != "NONE"))
    return routes


def default_authorizer_function(api_logical_id: str = "TaskLogsApi") -> str:
    """The logical id of the Lambda function behind the API's default authorizer."""
    auth = resource(api_logical_id)["Properties"]["Auth"]
    arn = auth["Authorizers"][auth["DefaultAuthorizer"]]["FunctionArn"]
    if "Fn::GetAtt" in arn:
        return str(arn["Fn::GetAtt"][0])
    return str(arn["Ref"]).removesuffix(".Alias")  # the function's `live` alias (AutoPublishAlias)


@dataclass(frozen=True)
class StreamMapping:
    """A DynamoDB event source mapping of the template: which function gets which records, how."""

    function: str
    starting_position: str
    batch_size: int
    max_retries: int
    filters: tuple[dict[str, Any], ...]  # FilterCriteria patterns; a record passes if any matches


def stream_mappings() -> list[StreamMapping]:
    mappings = []
    for logical_id, props in _function_events("DynamoDB"):
        patterns = props.get("FilterCriteria", {}).get("Filters", [])
        mappings.append(
            StreamMapping(
                function=logical_id,
                starting_position=props["StartingPosition"],
                batch_size=int(props.get("BatchSize", 100)),
                max_retries=int(props.get("MaximumRetryAttempts", 0)),
                filters=tuple(json.loads(f["Pattern"]) for f in patterns),
            )
        )
    return mappings


def function_timeout_seconds(logical_id: str) -> int:
    props = resource(logical_id)["Properties"]
    return int(props.get("Timeout", load_template()["Globals"]["Function"]["Timeout"]))


def function_memory_mb(logical_id: str) -> int:
    """The function's MemorySize; a parameter reference resolves to the parameter's default."""
    template = load_template()
    size = resource(logical_id)["Properties"].get("MemorySize", template["Globals"]["Function"]["MemorySize"])
    if isinstance(size, dict) and "Ref" in size:
        size = template["Parameters"][size["Ref"]]["Default"]
    return int(size)


def function_handler(logical_id: str) -> tuple[Path, str, str]:
    """(code directory, module name, function name) of a function's handler."""
    props = resource(logical_id)["Properties"]
    module, function = props["Handler"].rsplit(".", 1)
    return ROOT / props["CodeUri"], module, function


def scheduled_functions() -> list[str]:
    """The functions an EventBridge schedule (ScheduleV2 event) invokes."""
    return [logical_id for logical_id, _props in _function_events("ScheduleV2")]


@dataclass(frozen=True)
class QueueMapping:
    """An SQS event source mapping of the template: which function takes which queue's messages."""

    function: str
    queue: str  # the queue's logical id
    batch_size: int


def queue_mappings() -> list[QueueMapping]:
    mappings = []
    for res in load_template()["Resources"].values():
        if res["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        props = res["Properties"]
        source = props["EventSourceArn"].get("Fn::GetAtt", [""])[0]
        if resource(source)["Type"] != "AWS::SQS::Queue":
            continue
        function = str(props["FunctionName"]["Ref"]).removesuffix(".Alias")
        mappings.append(QueueMapping(function, source, int(props.get("BatchSize", 10))))
    return mappings


def queues() -> dict[str, dict[str, Any]]:
    """Each AWS::SQS::Queue's logical id and properties."""
    return {
        k: r.get("Properties", {}) for k, r in load_template()["Resources"].items() if r["Type"] == "AWS::SQS::Queue"
    }


def queue_url_variables() -> dict[str, str]:
    """Environment variables of the functions that name a queue (`!Ref <queue>`), and the queue each names."""
    found = {}
    for res in load_template()["Resources"].values():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for name, value in res["Properties"].get("Environment", {}).get("Variables", {}).items():
            if isinstance(value, dict) and value.get("Ref") in queues():
                found[name] = value["Ref"]
    return found
