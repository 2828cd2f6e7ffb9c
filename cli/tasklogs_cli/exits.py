"""Exit codes, one per outcome a script may want to tell apart (docs/cli.md)."""

from enum import IntEnum

from tasklogs_cli.api import ApiError


class Exit(IntEnum):
    OK = 0
    FAILED = 1  # a bug in tasklogs itself: reported in one line, never a traceback
    USAGE = 2  # a bad argument or option, or no service URL (Click's own code for usage errors)
    UNAUTHORIZED = 3  # no token, or the service refused it (401, 403)
    NOT_FOUND = 4  # no such task for this user (404), or the task was deleted
    TASK_STATE = 5  # the task is in "error" or "unknown" (its stored conversation is still printed), or a 409
    UNAVAILABLE = 6  # the service or the task's agent failed: 5xx, unreachable, timed out, live_error
    INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


def exit_for(error: ApiError) -> Exit:
    if error.status in (401, 403):
        return Exit.UNAUTHORIZED
    if error.status == 404:
        return Exit.NOT_FOUND
    if error.status == 409:
        return Exit.TASK_STATE
    if error.status is not None and 400 <= error.status < 500:
        return Exit.USAGE  # the service named what was wrong with the request
    return Exit.UNAVAILABLE
