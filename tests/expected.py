"""What each event in events/ must answer (contract §5, §6, §7, §9): status and the exact error message."""

UNAVAILABLE = "Failed to get messages from task app."
SNAPSHOT_DECODE = "Internal error decoding task snapshot."

# event name → (status, message for errors or None for 200)
EXPECTED = {
    "logs_refactor_auth": (200, None),
    "logs_by_task_uuid": (200, None),
    "logs_by_username": (200, None),
    "logs_by_user_uuid": (200, None),
    "logs_add_billing_page": (200, None),
    "logs_write_docs": (200, None),
    "logs_upgrade_deps": (200, None),
    "logs_flaky_build": (409, "Cannot fetch logs for task in current state."),
    "logs_stopping_task": (409, "Cannot fetch logs for task in current state."),
    "logs_agent_down": (502, UNAVAILABLE),
    "logs_agent_http_500": (502, UNAVAILABLE),
    "logs_agent_not_json": (502, UNAVAILABLE),
    "logs_agent_wrong_schema": (502, UNAVAILABLE),
    "logs_agent_unknown_role": (502, "Invalid task app response."),
    "logs_agent_slow": (504, "Timed out fetching messages from task app."),
    "logs_no_app_url": (502, "Task app URL is not configured."),
    "logs_snapshot_corrupt": (500, SNAPSHOT_DECODE),
    "logs_snapshot_other_format": (500, "Unsupported task snapshot format."),
    "logs_snapshot_bad_message": (500, "Invalid snapshot data."),
    "logs_snapshot_lost": (500, "Internal error fetching task snapshot."),
    "logs_old_experiment": (404, "Resource not found."),
    "logs_bobs_task": (404, "Resource not found."),
    "logs_other_user_in_path": (404, "Resource not found."),
    "logs_other_users_task_uuid": (404, "Resource not found."),
    "logs_missing_task": (404, "Resource not found."),
    "logs_no_claims": (401, "Unauthorized."),
    "logs_release_notes": (200, None),
    "logs_port_rate_limiter": (200, None),
    "logs_metadata_url": (502, "Task app URL is not configured."),
    "logs_nightly_migration": (409, "Cannot fetch logs for task in current state."),
    "logs_leaky_env": (200, None),
}

DECODE = "Failed to decode request payload."
INVALID_QUERY = "Invalid query parameters."

# Snapshot uploads: 204 has no body.
EXPECTED_UPLOADS = {
    "upload_success": (204, None),
    "upload_bearer_token": (204, None),
    "upload_base64_body": (204, None),
    "upload_empty_messages": (204, None),
    "upload_no_token": (401, "Unauthorized."),
    "upload_unknown_token": (401, "Unauthorized."),
    "upload_deleted_task": (401, "Unauthorized."),
    "upload_invalid_task_id": (400, "Invalid task ID format."),
    "upload_missing_format": (400, INVALID_QUERY),
    "upload_extra_query_param": (400, INVALID_QUERY),
    "upload_invalid_format": (400, "Invalid format parameter."),
    "upload_unknown_task": (404, "Resource not found."),
    "upload_other_workspace_token": (404, "Resource not found."),
    "upload_too_large": (400, DECODE),
    "upload_malformed_json": (400, DECODE),
    "upload_missing_messages": (400, "Invalid agentapi payload structure."),
    "upload_non_go_task_id": (400, "Invalid task ID format."),
    "upload_nan": (400, DECODE),
    "upload_id_beyond_int64": (400, DECODE),
    "upload_lone_surrogate_role": (400, DECODE),
}

# Task routes (contract §9): event name → (status, message for errors or None for 200).
EXPECTED_TASK_ROUTES = {
    "task_by_name": (200, None),
    "task_by_uuid": (200, None),
    "task_by_owner_and_name": (200, None),
    "task_deleted": (404, "Resource not found."),
    "task_of_someone_else": (404, "Resource not found."),
    "task_no_claims": (401, "Unauthorized."),
    "tasks_list": (200, None),
    "tasks_list_no_filter": (200, None),
    "tasks_list_paused": (200, None),
    "tasks_list_other_owner": (200, None),
    "tasks_list_unknown_key": (400, INVALID_QUERY),
    "tasks_list_bad_status": (400, INVALID_QUERY),
}

# Transcript pages (contract §7): event name → (status, message for errors or None for 200).
EXPECTED_TRANSCRIPTS = {
    "transcript_two_sessions": (200, None),
    "transcript_older_page": (200, None),
    "transcript_newer_page": (200, None),
    "transcript_live": (200, None),
    "transcript_agent_down": (200, None),
    "transcript_from_old_snapshot": (200, None),
    "transcript_failed_task": (200, None),
    "transcript_crashed_task": (200, None),
    "transcript_redacted": (200, None),
    "transcript_bad_query": (400, INVALID_QUERY),
    "transcript_someone_elses": (404, "Resource not found."),
    "transcript_no_claims": (401, "Unauthorized."),
}

# One transcript entry whole (contract §7 Large entries): event name → (status, message for errors or
# None for a 200, whose body is the entry's content as text).
EXPECTED_TRANSCRIPT_ENTRIES = {
    "transcript_entry_whole": (200, None),
    "transcript_entry_missing": (404, "Resource not found."),
    "transcript_entry_bad_seq": (400, "Invalid path parameters."),
}

# The web viewer's files: event name → (status, Content-Type, message for errors or None).
EXPECTED_VIEWER = {
    "viewer_page": (200, "text/html; charset=utf-8", None),
    "viewer_script": (200, "text/javascript; charset=utf-8", None),
    "viewer_sign_in": (200, "application/json", None),
    "viewer_unknown_file": (404, "application/json", "Resource not found."),
    "viewer_task_name": (302, "text/plain; charset=utf-8", None),
}

# The user authorizer (contract §2): event name → the username it lets through, or None for API
# Gateway's 401 (the authorizer raises "Unauthorized").
EXPECTED_AUTHORIZER = {
    "authorizer_session_token": "alice",
    "authorizer_bearer": "alice",
    "authorizer_no_token": None,
    "authorizer_expired": None,
    "authorizer_wrong_audience": None,
}
