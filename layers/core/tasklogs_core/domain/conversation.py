"""The rules of a conversation as this service stores and serves it (contract §4, §5, §6): the
snapshot format's name, the roles a message may have and the log type each becomes, the size of an
agent's upload, and the one role check every path uses."""

from collections.abc import Iterable
from typing import Protocol

SNAPSHOT_FORMAT = "agentapi"
# AgentAPI role → log entry type (contract §5); no other role is valid anywhere.
LOG_TYPE_BY_ROLE = {"user": "input", "agent": "output"}
ROLE_BY_LOG_TYPE = {log_type: role for role, log_type in LOG_TYPE_BY_ROLE.items()}
# Coder's limit for a snapshot upload; the AgentAPI module's shutdown script trims to fit it, and the
# capture at pause keeps a conversation within it too.
MAX_UPLOAD_BYTES = 65_536


class Message(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...


def unknown_role(messages: Iterable[Message]) -> tuple[int, Message] | None:
    """The first message whose role is neither `user` nor `agent`, with its place, or None."""
    for index, message in enumerate(messages):
        if message.role not in LOG_TYPE_BY_ROLE:
            return index, message
    return None


def role_problem(message: Message) -> str:
    """What is wrong with an uploaded message's role, after its place (`messages[2].role: ...`)."""
    return f'must be "user" or "agent", got "{message.role}"'


def unknown_role_detail(message: Message) -> str:
    """How the read path and the capture name an agent's message with an unknown role."""
    return f'Invalid AgentAPI message role "{message.role}" (message id {message.id}).'
