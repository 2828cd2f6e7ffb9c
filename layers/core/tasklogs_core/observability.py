"""How the functions log: structured JSON lines that can always be written."""

import json
from typing import Any

from aws_lambda_powertools import Logger

from tasklogs_core.text import well_formed


def _log_line(record: dict[str, Any]) -> str:
    # Powertools' own serializer, plus well_formed: a lone surrogate from a client (in a path, a header,
    # an exception's text) would otherwise make the line unwritable to stdout, and the line is lost.
    return well_formed(json.dumps(record, default=str, separators=(",", ":"), ensure_ascii=False))


def new_logger(**options: Any) -> Logger:
    return Logger(json_serializer=_log_line, **options)
