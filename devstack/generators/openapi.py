"""The OpenAPI 3.1 document of the service, generated from the code: routes and their authorizers from
template.yaml, bodies from the pydantic models, error statuses and messages from the error table (http_errors).

`python -m devstack openapi` (make openapi) rewrites docs/openapi.json; a test fails when the
committed document drifts from this, and schemathesis runs against it (tests/hostile).
"""

import json
from pathlib import Path
from typing import Any

from devstack.runtime.lambda_runtime import ensure_layer_on_path
from devstack.runtime.template_resources import ROOT, http_api_routes

ensure_layer_on_path()

OPENAPI_PATH = ROOT / "docs" / "openapi.json"
LOGS_PATH = "/api/v2/tasks/{user}/{task}/logs"
TRANSCRIPT_PATH = "/api/v2/tasks/{user}/{task}/transcript"
TRANSCRIPT_ENTRY_PATH = "/api/v2/tasks/{user}/{task}/transcript/entries/{seq}"
UPLOAD_PATH = "/api/v2/workspaceagents/me/tasks/{task}/log-snapshot"
TASK_PATH = "/api/v2/tasks/{user}/{task}"
TASKS_PATH = "/api/v2/tasks"
VIEWER_PATH = "/viewer"
VIEWER_FILE_PATH = "/viewer/{name}"
OMITTED_TASKS_HEADER = "X-Tasklogs-Omitted-Tasks"
# Every user route: the token in `Authorization: Bearer` or in `Coder-Session-Token` (contract §2).
USER_SECURITY = [{"userJwt": []}, {"userSessionToken": []}]


def _schemas() -> dict[str, Any]:
    from tasklogs_core.domain.coder_task import TasksListResponse
    from tasklogs_core.domain.models import AgentMessages, TaskLogsResponse
    from tasklogs_core.domain.secrets import KIND_PATTERN
    from tasklogs_core.domain.status import TaskStatus
    from tasklogs_core.domain.transcript import TranscriptPage
    from tasklogs_core.edge.http_errors import ErrorBody
    from tasklogs_core.use_cases.viewer import ViewerSignIn

    schemas: dict[str, Any] = {}
    models = (
        ("TaskLogsResponse", TaskLogsResponse),
        ("Error", ErrorBody),
        ("AgentMessages", AgentMessages),
        ("TasksListResponse", TasksListResponse),
        ("TranscriptPage", TranscriptPage),
        ("ViewerSignIn", ViewerSignIn),
    )
    for name, model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    # What the models check in code, said in the schema too.
    message = schemas["AgentMessage"]["properties"]
    message["role"] = {"type": "string", "enum": ["user", "agent"]}
    message["time"] = {"type": "string", "format": "date-time"}
    schemas["LogEntry"]["properties"]["time"]["format"] = "date-time"
    schemas["TaskLogsResponse"]["properties"]["snapshot_at"] = {"type": "string", "format": "date-time"}
    task = schemas["CoderTask"]["properties"]
    for key in ("id", "organization_id", "owner_id", "template_id", "template_version_id"):
        task[key]["format"] = "uuid"
    for key in ("workspace_id", "workspace_agent_id", "workspace_app_id"):
        task[key] = {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}
    for key in ("created_at", "updated_at"):
        task[key]["format"] = "date-time"
    entry = schemas["TranscriptEntry"]["properties"]
    entry["time"]["format"] = "date-time"
    # Sent only for an entry cut to fit its page (never null); its whole content is at the entry route.
    entry["truncated"] = {"type": "boolean", "const": True, "description": "the content is the entry's start"}
    entry["content_bytes"] = {"type": "integer", "minimum": 0, "description": "the whole content's UTF-8 length"}
    # Sent only when secrets were removed from the content (never null or empty).
    entry["redactions"] = {
        "type": "array",
        "minItems": 1,
        "items": {"$ref": "#/components/schemas/Redaction"},
        "description": "each kind of secret replaced by `[REDACTED:<kind>]` in the content, with its count",
    }
    schemas["Redaction"]["properties"]["count"]["minimum"] = 1
    schemas["Redaction"]["properties"]["kind"]["pattern"] = f"^{KIND_PATTERN}$"
    optional = ("truncated", "content_bytes", "redactions")
    schemas["TranscriptEntry"]["required"] = [key for key in entry if key not in optional]
    page = schemas["TranscriptPage"]
    page["properties"]["live_error"] = {
        "$ref": "#/components/schemas/LiveError",
        "description": "Only when the agent was called and failed: the message and detail /logs would answer",
    }
    # Sent only when known (never null): §7's snapshot time of a task that is not active, and §11's
    # newest checkpoint of an active one.
    page["properties"]["snapshot_at"] = {
        "type": "string",
        "format": "date-time",
        "description": "A task that is not active: when its stored session was last written",
    }
    page["properties"]["checkpoint_at"] = {
        "type": "string",
        "format": "date-time",
        "description": "An active task: when the newest checkpoint stored its live session",
    }
    optional = ("live_error", "snapshot_at", "checkpoint_at")
    page["required"] = [key for key in page["properties"] if key not in optional]
    page["properties"]["status"] = {"type": "string", "enum": [status.value for status in TaskStatus]}
    schemas["CoderTask"]["required"] = list(task)  # every field is always sent, as Go's encoder does
    schemas["CoderTask"]["description"] = (
        "Go's codersdk.Task. Fields this service has no source for hold Coder's zero values."
    )
    return schemas


def _errors(*error_types: type) -> dict[str, Any]:
    """Responses for these domain errors, grouped by status, with their exact messages."""
    from tasklogs_core.edge.http_errors import ERROR_TABLE

    by_status: dict[int, list[str]] = {}
    for error_type in error_types:
        status, message, _ = ERROR_TABLE[error_type]
        by_status.setdefault(status, []).append(message)
    return {
        str(status): {
            "description": " / ".join(f"`{m}`" for m in sorted(set(messages))),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status, messages in sorted(by_status.items())
    }


def document() -> dict[str, Any]:
    from tasklogs_core.domain import errors
    from tasklogs_core.edge.response_size import OMITTED_HEADER
    from tasklogs_core.use_cases.viewer import CONFIG, CONTENT_TYPES

    routes = {(method, path): needs_jwt for method, path, _, needs_jwt in http_api_routes()}
    # `$default` only serves the upload by another spelling (`//api/...`), documented on the upload.
    assert routes == {
        ("GET", LOGS_PATH): True,
        ("GET", TRANSCRIPT_PATH): True,
        ("GET", TRANSCRIPT_ENTRY_PATH): True,
        ("GET", TASK_PATH): True,
        ("GET", TASKS_PATH): True,
        ("POST", UPLOAD_PATH): False,
        ("ANY", "$default"): False,
        ("GET", VIEWER_PATH): False,
        ("GET", VIEWER_FILE_PATH): False,
    }, "template routes changed: update openapi.py"
    user_param = {
        "name": "user",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "`me`, the caller's username or user id",
        "example": "me",
    }
    task_param = {"name": "task", "in": "path", "required": True, "schema": {"type": "string"}}
    task_ref_param = {**task_param, "description": "task UUID or name", "example": "refactor-auth"}
    logs_errors = _errors(
        errors.Unauthenticated,
        errors.TaskNotFound,
        errors.TaskStateConflict,
        errors.TaskAppUrlNotConfigured,
        errors.TaskAppUnavailable,
        errors.InvalidTaskAppResponse,
        errors.TaskAppTimeout,
        errors.SnapshotDecodeError,
        errors.UnsupportedSnapshotFormat,
        errors.InvalidSnapshotData,
        errors.SnapshotFetchError,
        errors.StorageError,
    )
    transcript_errors = _errors(
        errors.Unauthenticated,
        errors.TaskNotFound,
        errors.InvalidQueryParameters,
        errors.SnapshotDecodeError,
        errors.UnsupportedSnapshotFormat,
        errors.InvalidSnapshotData,
        errors.SnapshotFetchError,
        errors.StorageError,
    )
    entry_errors = _errors(
        errors.Unauthenticated,
        errors.TaskNotFound,
        errors.EntryNotFound,
        errors.InvalidPathParameters,
        errors.TaskAppUrlNotConfigured,
        errors.TaskAppUnavailable,
        errors.InvalidTaskAppResponse,
        errors.TaskAppTimeout,
        errors.SnapshotDecodeError,
        errors.UnsupportedSnapshotFormat,
        errors.InvalidSnapshotData,
        errors.SnapshotFetchError,
        errors.StorageError,
    )
    if_none_match = {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "An ETag from an earlier answer (one or a list, weak or strong, or *): 304 while it is current",
    }
    validators = {
        "ETag": {"description": "weak; changes whenever the body would", "schema": {"type": "string"}},
        "Cache-Control": {"schema": {"type": "string", "const": "private, no-cache"}},
    }
    not_modified = {"304": {"description": "Not modified: the ETag named is current", "headers": validators}}

    def seq_param(name: str, description: str, minimum: int) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": minimum, "maximum": 2**53 - 1},
            "description": description,
        }

    upload_errors = _errors(
        errors.Unauthenticated,
        errors.InvalidTaskId,
        errors.InvalidQueryParameters,
        errors.InvalidSnapshotFormat,
        errors.TaskNotFound,
        errors.PayloadDecodeError,
        errors.InvalidPayloadStructure,
        errors.SnapshotStoreError,
        errors.StorageError,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tasklogs",
            "version": "1.0.0",
            "description": "Conversation logs of AI coding-agent tasks (the Coder task logs API): live "
            "from the task's AgentAPI while it runs, from storage while it does not, and the whole "
            "conversation across pauses as a transcript. The guides are in the repository's docs/.",
        },
        "paths": {
            LOGS_PATH: {
                "get": {
                    "operationId": "getTaskLogs",
                    "summary": "Live logs of an active task, or its stored snapshot",
                    "description": (
                        "A task that is not active shows its newest stored session, whole; `snapshot_at` is when"
                        " it was last written."
                    ),
                    "security": USER_SECURITY,
                    "parameters": [user_param, task_ref_param, if_none_match],
                    "responses": {
                        "200": {
                            "description": "Logs; `snapshot` and `snapshot_at` only when read from a snapshot",
                            "headers": {
                                **validators,
                                OMITTED_HEADER: {
                                    "description": (
                                        "older entries left out to fit Lambda's 6 MB response (no gzip accepted)"
                                    ),
                                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                                },
                            },
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/TaskLogsResponse"}}
                            },
                        },
                        **not_modified,
                        **logs_errors,
                    },
                }
            },
            TRANSCRIPT_PATH: {
                "get": {
                    "operationId": "getTaskTranscript",
                    "summary": "The task's whole conversation across pauses, a page at a time",
                    "description": (
                        "Entries ascend by `seq`. Without a cursor, the newest `limit` entries; a page also stops"
                        " early to keep its body under 1 MiB. To follow a task, call again with `after` = the"
                        " highest `seq` of a final entry received. Stored sessions are readable in every state;"
                        " the agent is called only when the task is active and the page reaches its live session."
                    ),
                    "security": USER_SECURITY,
                    "parameters": [
                        user_param,
                        task_ref_param,
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 200},
                        },
                        seq_param(
                            "after",
                            "the oldest `limit` entries with a greater `seq`; -1: from the first (not with `before`)",
                            -1,
                        ),
                        seq_param("before", "the newest `limit` entries with a smaller `seq` (not with `after`)", 0),
                        if_none_match,
                    ],
                    "responses": {
                        "200": {
                            "description": "One page",
                            "headers": validators,
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/TranscriptPage"}}
                            },
                        },
                        **not_modified,
                        **transcript_errors,
                    },
                }
            },
            TRANSCRIPT_ENTRY_PATH: {
                "get": {
                    "operationId": "getTranscriptEntry",
                    "summary": "One transcript entry's whole content",
                    "description": (
                        "Where a page's entry marked `truncated` is read whole. An entry of the live session of"
                        " an active task is read from the agent. Up to 5 MiB that Lambda can carry as text: 200"
                        " with the text; else 303 to a presigned URL of a copy of it, valid 5 minutes."
                    ),
                    "security": USER_SECURITY,
                    "parameters": [
                        user_param,
                        task_ref_param,
                        {
                            "name": "seq",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 0, "maximum": 2**53 - 1},
                            "description": "the entry's `seq`, as a page gave it",
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The entry's whole content",
                            "headers": {"Cache-Control": {"schema": {"type": "string", "const": "private, no-cache"}}},
                            "content": {"text/plain; charset=utf-8": {"schema": {"type": "string"}}},
                        },
                        "303": {
                            "description": "Too large to answer here: fetch it from `Location` within 5 minutes",
                            "headers": {
                                "Location": {"schema": {"type": "string", "format": "uri"}},
                                "Cache-Control": {"schema": {"type": "string", "const": "no-store"}},
                            },
                        },
                        **entry_errors,
                    },
                }
            },
            TASK_PATH: {
                "get": {
                    "operationId": "getTask",
                    "summary": "One of the caller's tasks, as Coder's codersdk.Task",
                    "description": "Found as the logs route finds it: by UUID, then by name; 404, never 403.",
                    "security": USER_SECURITY,
                    "parameters": [user_param, task_ref_param],
                    "responses": {
                        "200": {
                            "description": "The task",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CoderTask"}}},
                        },
                        **_errors(errors.Unauthenticated, errors.TaskNotFound, errors.StorageError),
                    },
                }
            },
            TASKS_PATH: {
                "get": {
                    "operationId": "listTasks",
                    "summary": "The caller's tasks, newest first, as Coder's TasksListResponse",
                    "description": (
                        "Deleted tasks never appear, nor anyone else's. An answer stays inside one Lambda response"
                        f" (5 MiB of JSON): beyond that the oldest tasks are left out and `{OMITTED_TASKS_HEADER}`"
                        " says how many."
                    ),
                    "security": USER_SECURITY,
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": (
                                "Coder's filter: space-separated `key:value` terms, values optionally in double"
                                " quotes, case-insensitive. `owner:` (`me`, the caller's username or id; anyone"
                                " else: an empty list) and `status:` (a task status); a term without a key is"
                                " the owner; any other key is a 400."
                            ),
                            "example": 'owner:"me" status:"paused"',
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The tasks; `count` is how many the answer holds",
                            "headers": {
                                OMITTED_TASKS_HEADER: {
                                    "description": "older matching tasks left out to fit one Lambda response",
                                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                                }
                            },
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/TasksListResponse"}}
                            },
                        },
                        **_errors(
                            errors.Unauthenticated,
                            errors.InvalidQueryParameters,
                            errors.TaskListTooLarge,
                            errors.StorageError,
                        ),
                    },
                }
            },
            UPLOAD_PATH: {
                "post": {
                    "operationId": "uploadLogSnapshot",
                    "summary": "A workspace agent stores its task's conversation snapshot",
                    "description": (
                        "Also served at `//api/v2/workspaceagents/me/tasks/{task}/log-snapshot`, where Coder's"
                        " agents post when their CODER_AGENT_URL ends in `/`."
                    ),
                    "security": [{"agentToken": []}, {"agentBearer": []}],
                    "parameters": [
                        {
                            **task_param,
                            "schema": {"type": "string", "format": "uuid"},
                            "description": "task UUID",
                            "example": "7a5c0000-0000-4000-8000-000000000020",
                        },
                        {
                            "name": "format",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "enum": ["agentapi"]},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "description": "AgentAPI's GET /messages answer, at most 65,536 bytes",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentMessages"}}},
                    },
                    "responses": {"204": {"description": "Stored"}, **upload_errors},
                }
            },
            VIEWER_PATH: {
                "get": {
                    "operationId": "getViewer",
                    "summary": "The web viewer's page (no token: it signs people in, then reads the API with theirs)",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The page; its Content-Security-Policy allows this origin's scripts only",
                            "headers": {"Content-Security-Policy": {"schema": {"type": "string"}}},
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            VIEWER_FILE_PATH: {
                "get": {
                    "operationId": "getViewerFile",
                    "summary": "The viewer's script, style, or sign-in settings (an OIDC public client's); "
                    "a task's name opens its page",
                    "security": [],
                    "parameters": [
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "description": "One of the viewer's files, or a task's name (no dot)",
                            "schema": {"type": "string"},
                            "examples": {
                                "settings": {"value": CONFIG},
                                **{name: {"value": name} for name in sorted(CONTENT_TYPES)},
                                "task": {"value": "refactor-auth"},
                            },
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The file",
                            "content": {
                                "text/javascript": {"schema": {"type": "string"}},
                                "text/css": {"schema": {"type": "string"}},
                                "text/html": {"schema": {"type": "string"}},
                                "application/json": {"schema": {"$ref": "#/components/schemas/ViewerSignIn"}},
                            },
                        },
                        "302": {
                            "description": "A task's name: to the viewer's page of that task",
                            "headers": {
                                "Location": {
                                    "schema": {"type": "string", "example": "/viewer#/tasks/refactor-auth"},
                                }
                            },
                        },
                        **_errors(errors.PageNotFound),
                    },
                }
            },
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "userJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "userSessionToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Coder-Session-Token",
                    "description": "The same JWT, where Coder's CLI, SDK and VS Code extension send it",
                },
                "agentToken": {"type": "apiKey", "in": "header", "name": "Coder-Session-Token"},
                "agentBearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


def write(path: Path = OPENAPI_PATH) -> Path:
    path.parent.mkdir(exist_ok=True)
    path.write_text(render())
    return path
