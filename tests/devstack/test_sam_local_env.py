"""devstack/sam-local-env.json, for `sam local invoke` users (docs/deploying.md: sam local invoke): SAM passes a
function only the variables its template declares, so every one the file sets is declared; and with the
file's values (its moto port swapped for the test's), a function answers an event from events/ as
the suite expects. (`sam local` itself needs Docker, which this project otherwise never requires.)"""

import json
from pathlib import Path

from devstack.generators.events import load_event
from devstack.runtime import lambda_runtime
from devstack.runtime.template_resources import load_template

ENV_FILE = Path(__file__).resolve().parents[2] / "devstack" / "sam-local-env.json"


def test_every_variable_the_file_sets_is_declared_for_every_function() -> None:
    declared = set(load_template()["Globals"]["Function"]["Environment"]["Variables"])
    assert set(json.loads(ENV_FILE.read_text())["Parameters"]) <= declared


def test_the_file_names_the_local_stack_s_tables_and_bucket(demo) -> None:
    values = json.loads(ENV_FILE.read_text())["Parameters"]
    local = demo.environment()
    for key in ("TASKS_TABLE_NAME", "SNAPSHOTS_BUCKET_NAME", "TRANSCRIPTS_TABLE_NAME", "AGENTAPI_ALLOWED_NETWORKS"):
        assert values[key] == local[key], key
    # The port docs/deploying.md's `TASKLOGS_AWS_PORT=5000 make run` opens.
    assert values["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"


def test_a_function_with_the_file_s_values_answers_a_committed_event(handler_env, monkeypatch) -> None:
    from tasklogs_core.adapters import clients

    for key, value in json.loads(ENV_FILE.read_text())["Parameters"].items():
        monkeypatch.setenv(key, value.replace("http://127.0.0.1:5000", handler_env.endpoint_url))
    clients.reset()
    result, _, _ = lambda_runtime.invoke_timed("TaskLogsFunction", load_event("logs_add_billing_page"), None)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["snapshot"] is True
