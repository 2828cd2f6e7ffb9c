"""A rehearsal of `sam deploy`, as far as the tools here reach: SAM's own translation of the template is
what CloudFormation receives, so it must hold no dependency cycle, name only what exists, and fit
CloudFormation's limits. (The parameters' constraints: test_samconfig.py; the packages' size against
Lambda's: test_sam_build.py.)"""

import copy
import json

from tests.tools.cfn_dependencies import cycles, dependency_graph, references

# CloudFormation's own names, always there: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}
TEMPLATE_BODY_LIMIT = 1_000_000  # bytes, a template that sam deploy uploads to S3
RESOURCE_LIMIT = 500
ENVIRONMENT_LIMIT = 4096  # bytes of a function's environment variables, names and values


def test_sam_s_translation_has_no_dependency_cycle(translated) -> None:
    found = cycles(dependency_graph(translated))
    assert found == [], "CloudFormation would refuse these cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_cycle_check_sees_a_cycle_through_an_update_policy(translated) -> None:
    # The defect of the template before each function had its own deployment alarm: the API-wide 5xx
    # alarm in a deployment group. The alarm names the API, the API's routes name the alias, and the
    # alias names its deployment group in its UpdatePolicy only.
    broken = copy.deepcopy(translated)
    group = broken["Resources"]["TaskLogsFunctionDeploymentGroup"]["Properties"]
    group["AlarmConfiguration"]["Alarms"].append({"Name": {"Ref": "ApiServerErrorsAlarm"}})
    assert cycles(dependency_graph(broken)) == [
        [
            "ApiServerErrorsAlarm",
            "TaskLogsApi",
            "TaskLogsFunctionAliaslive",
            "TaskLogsFunctionDeploymentGroup",
            "ApiServerErrorsAlarm",
        ]
    ]


def test_the_cycle_check_counts_every_kind_of_reference() -> None:
    template = {
        "Resources": {
            "A": {"Type": "T", "Properties": {"X": {"Fn::Sub": "arn:${B.Arn}:${AWS::Region}:${!Literal}"}}},
            "B": {"Type": "T", "Metadata": {"Y": {"Fn::GetAtt": ["C", "Id"]}}},
            "C": {"Type": "T", "DependsOn": "D"},
            "D": {"Type": "T", "UpdatePolicy": {"Z": {"Fn::Sub": ["${Named}", {"Named": {"Ref": "A"}}]}}},
            "E": {"Type": "T", "Properties": {"Q": {"Fn::GetAtt": "E.Arn"}}},
            "F": {"Type": "T", "Condition": "SomeCondition", "Properties": {"R": {"Ref": "A"}}},
        }
    }
    assert cycles(dependency_graph(template)) == [["A", "B", "C", "D", "A"], ["E", "E"]]
    assert sorted(references(template["Resources"]["A"])) == ["AWS::Region", "B"]


def test_every_ref_names_a_resource_a_parameter_or_a_pseudo_parameter(translated) -> None:
    known = set(translated["Resources"]) | set(translated.get("Parameters", {})) | PSEUDO_PARAMETERS
    dangling = {
        (name, target) for name, resource in translated["Resources"].items() for target in references(resource)
    } | {(f"Outputs.{name}", target) for name, output in translated["Outputs"].items() for target in references(output)}
    assert sorted((name, target) for name, target in dangling if target not in known) == []


def test_cloudformation_s_own_rules_pass_on_the_translation(translated) -> None:
    """cfn-lint on what CloudFormation receives, not on the SAM source (where it skips what starts from
    a SAM resource): every GetAtt's attribute exists for its resource type, every property is in the
    type's schema, no cycle, no limit passed."""
    from cfnlint.api import ManualArgs, lint

    found = lint(json.dumps(translated), config=ManualArgs(regions=["eu-west-1"]))
    # W2001: DeploymentType is used by SAM and resolved to its default in this translation.
    assert [str(m) for m in found if m.rule.id != "W2001"] == []


def test_the_translation_fits_cloudformation_s_and_lambda_s_limits(translated) -> None:
    assert len(json.dumps(translated, separators=(",", ":"))) < TEMPLATE_BODY_LIMIT
    assert len(translated["Resources"]) < RESOURCE_LIMIT
    functions = {k: r for k, r in translated["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    assert len(functions) == 12
    parameters = translated["Parameters"]

    def longest(value: object) -> int:
        # A parameter with a MaxLength is counted at it (the secret rules); any other value still to be
        # resolved as its longest plausible expansion: an ARN or a name.
        if isinstance(value, str):
            return len(value)
        if isinstance(value, dict) and "Ref" in value and "MaxLength" in parameters.get(value["Ref"], {}):
            return int(parameters[value["Ref"]]["MaxLength"])
        return 256

    for name, function in functions.items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        size = sum(len(k) + longest(v) for k, v in variables.items())
        assert size < ENVIRONMENT_LIMIT, name
    assert "SECRET_PATTERNS" in functions["TaskCheckpointFunction"]["Properties"]["Environment"]["Variables"]
