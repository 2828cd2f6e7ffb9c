"""Task items in DynamoDB (contract §3). Reads only; SDK errors become domain errors."""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tasklogs_core.errors import StorageError
from tasklogs_core.models import TaskItem

# Index names; template.yaml defines them and tests/template checks they agree.
OWNER_ID_NAME_INDEX = "owner_id-name-index"
OWNER_NAME_NAME_INDEX = "owner_name-name-index"
AGENT_TOKEN_INDEX = "agent_token_sha256-index"


def _from_dynamodb(item: dict[str, dict[str, Any]]) -> TaskItem:
    # Every attribute of the contract is a string, so the low-level client's {"S": ...} is all we
    # need; it is much cheaper to create and call than the boto3 resource layer.
    return TaskItem.model_validate({name: value["S"] for name, value in item.items() if "S" in value})


class TaskRepository:
    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        self._client = dynamodb_client
        self._table = table_name

    def get(self, task_id: str) -> TaskItem | None:
        try:
            answer = self._client.get_item(
                TableName=self._table, Key={"task_id": {"S": task_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"GetItem failed: {type(exc).__name__}") from exc
        item = answer.get("Item")
        return _from_dynamodb(item) if item else None

    def find_by_owner_and_name(self, owner_id: str, name: str) -> list[TaskItem]:
        """Tasks of one owner with this name; deleted ones included, the caller filters."""
        try:
            answer = self._client.query(
                TableName=self._table,
                IndexName=OWNER_ID_NAME_INDEX,
                KeyConditionExpression="owner_id = :owner AND #name = :name",
                ExpressionAttributeNames={"#name": "name"},
                ExpressionAttributeValues={":owner": {"S": owner_id}, ":name": {"S": name}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"Query failed: {type(exc).__name__}") from exc
        return [_from_dynamodb(item) for item in answer.get("Items", [])]
