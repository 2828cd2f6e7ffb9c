"""Reads template.yaml so local tables, buckets and routes are built from the deployed definition."""

from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
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


def http_api_routes() -> list[tuple[str, str, str]]:
    """(method, path, function logical id) of every HttpApi event in the template."""
    routes = []
    for logical_id, res in load_template()["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for event in res["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                routes.append((event["Properties"]["Method"].upper(), event["Properties"]["Path"], logical_id))
    return routes


def function_timeout_seconds(logical_id: str) -> int:
    props = resource(logical_id)["Properties"]
    return int(props.get("Timeout", load_template()["Globals"]["Function"]["Timeout"]))


def function_handler(logical_id: str) -> tuple[Path, str, str]:
    """(code directory, module name, function name) of a function's handler."""
    props = resource(logical_id)["Properties"]
    module, function = props["Handler"].rsplit(".", 1)
    return ROOT / props["CodeUri"], module, function
