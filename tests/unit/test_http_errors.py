import json

import pytest

from tasklogs_core.domain import errors
from tasklogs_core.edge.http_errors import ErrorBody, error_response

CONTRACT = [
    (errors.Unauthenticated("no claims"), 401, {"message": "Unauthorized."}),
    (errors.TaskNotFound(), 404, {"message": "Resource not found."}),
    (errors.PageNotFound("nope.js"), 404, {"message": "Resource not found."}),
    (errors.EntryNotFound("No entry has seq 9."), 404, {"message": "Resource not found."}),
    (
        errors.InvalidPathParameters("d", validations=[("seq", "d")]),
        400,
        {"message": "Invalid path parameters.", "validations": [{"field": "seq", "detail": "d"}]},
    ),
    (
        errors.TaskStateConflict("error"),
        409,
        {"message": "Cannot fetch logs for task in current state.", "detail": 'Task status is "error".'},
    ),
    (errors.TaskAppUrlNotConfigured("x"), 502, {"message": "Task app URL is not configured.", "detail": "x"}),
    (errors.TaskAppUnavailable("why"), 502, {"message": "Failed to get messages from task app.", "detail": "why"}),
    (errors.InvalidTaskAppResponse("role"), 502, {"message": "Invalid task app response.", "detail": "role"}),
    (errors.TaskAppTimeout("slow"), 504, {"message": "Timed out fetching messages from task app.", "detail": "slow"}),
    (errors.SnapshotDecodeError("bad"), 500, {"message": "Internal error decoding task snapshot.", "detail": "bad"}),
    (
        errors.UnsupportedSnapshotFormat("asciinema"),
        500,
        {"message": "Unsupported task snapshot format.", "detail": 'Expected format "agentapi", got "asciinema".'},
    ),
    (errors.InvalidSnapshotData("d"), 500, {"message": "Invalid snapshot data.", "detail": "d"}),
    (errors.SnapshotFetchError("gone"), 500, {"message": "Internal error fetching task snapshot.", "detail": "gone"}),
    (errors.StorageError("ThrottlingException"), 500, {"message": "Internal error fetching task."}),
    (errors.SnapshotStoreError("PutObject failed"), 500, {"message": "Internal error storing snapshot."}),
    (errors.SecretScanFailed("scan timed out"), 500, {"message": "Internal error checking content for secrets."}),
    (errors.InvalidTaskId("x"), 400, {"message": "Invalid task ID format.", "detail": "x"}),
    (
        errors.InvalidQueryParameters(validations=[("format", "required")]),
        400,
        {"message": "Invalid query parameters.", "validations": [{"field": "format", "detail": "required"}]},
    ),
    (
        errors.InvalidSnapshotFormat("asciinema"),
        400,
        {
            "message": "Invalid format parameter.",
            "detail": 'Only "agentapi" format is currently supported, got "asciinema".',
        },
    ),
    (
        errors.PayloadDecodeError("not JSON"),
        400,
        {"message": "Failed to decode request payload.", "detail": "not JSON"},
    ),
    (
        errors.TaskListTooLarge("The owner has more tasks than 16 MB of task items hold."),
        500,
        {"message": "Too many tasks to list.", "detail": "The owner has more tasks than 16 MB of task items hold."},
    ),
    (
        errors.InvalidPayloadStructure('Missing required "messages" field.'),
        400,
        {"message": "Invalid agentapi payload structure.", "detail": 'Missing required "messages" field.'},
    ),
]


@pytest.mark.parametrize(("exc", "status", "body"), CONTRACT, ids=[type(row[0]).__name__ for row in CONTRACT])
def test_domain_errors_map_to_contract_responses(exc: errors.TaskLogsError, status: int, body: dict) -> None:
    got_status, got_body = error_response(exc)
    assert (got_status, json.loads(got_body.to_json())) == (status, body)


def test_every_domain_error_has_a_response() -> None:
    mapped = {type(row[0]) for row in CONTRACT}
    every = set(errors.TaskLogsError.__subclasses__()) | set(errors.StorageError.__subclasses__())
    assert every == mapped


def test_empty_detail_and_validations_are_left_out() -> None:
    assert ErrorBody(message="m").to_json() == '{"message":"m"}'
    body = ErrorBody(message="m", validations=[{"field": "format", "detail": "required"}])
    assert json.loads(body.to_json()) == {"message": "m", "validations": [{"field": "format", "detail": "required"}]}
