"""Deterministic AgentAPI conversations of a given size, shaped like a coding agent's terminal:
code with quotes and backslashes, box-drawing frames and a few non-ASCII symbols, messages from
a few hundred bytes to tens of kilobytes."""

from __future__ import annotations

import json
import random
import time

_ASCII_LINES = [
    'def handler(event: dict, context: object) -> dict:  # "route" \\ decorators only',
    '    raise TaskNotFound(f"no task {task_id!r} for {caller.username}")',
    "  C:\\Users\\dev\\repo> pytest -q tests/unit   # 312 passed in 4.21s",
    "    return {'statusCode': 200, 'body': json.dumps(body), 'headers': {'Content-Type': 'application/json'}}",
    "Now I'll update the repository to raise a domain error when DynamoDB throttles the request.",
    "+    item = self._table.get_item(Key={'task_id': task_id}, ConsistentRead=True).get('Item')",
    "-    item = self._table.get_item(Key={'task_id': task_id}).get('Item')",
    "",
]
_OTHER_LINES = [
    "╭─────────────────────────────╮",
    "│ ✻ Welcome to Claude Code!   │",
    "⏺ Update(layers/core/tasklogs_core/models.py)",
    "  ⎿  Updated models.py with 3 additions and 1 removal",
    "> Résumé: the café's naïve façade — 5 € — “quoted” ‘text’ …",
]
# Mostly ASCII, as terminals are: non-ASCII becomes a 6-byte escape in Lambda's response payload.
_LINES = _ASCII_LINES * 12 + _OTHER_LINES
_EPOCH_NS = 1_764_000_000_000_000_000


def _time(i: int) -> str:
    seconds, nanos = divmod(_EPOCH_NS + i * 7_123_456_789, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def messages_of_size(size: int, seed: int = 7) -> list[dict]:
    """AgentAPI messages whose `/messages` answer (see `answer`) is just under `size` bytes."""
    rng = random.Random(seed)
    messages: list[dict] = []
    total = 0
    while True:
        i = len(messages)
        content = "\n".join(rng.choice(_LINES) for _ in range(rng.randint(3, 300)))
        message = {"id": i, "content": content, "role": "agent" if i % 2 == 0 else "user", "time": _time(i)}
        length = len(json.dumps(message, ensure_ascii=False).encode()) + 2
        if total + length > size:  # the last message takes what room is left
            message["content"] = content[: max(0, len(content) - (total + length - size) - 8)]
            messages.append(message)
            return messages
        total += length
        messages.append(message)


def answer(messages: list[dict], schema_url: str = "http://127.0.0.1:3284/schemas/MessagesResponseBody.json") -> bytes:
    """The body AgentAPI (Go, encoding/json) sends: `$schema` first, UTF-8 as is."""
    return json.dumps({"$schema": schema_url, "messages": messages}, ensure_ascii=False).encode()


def envelope(messages: list[dict]) -> bytes:
    """A stored snapshot, as the service writes it (UTF-8 as is)."""
    return json.dumps({"format": "agentapi", "data": {"messages": messages}}, ensure_ascii=False).encode()
