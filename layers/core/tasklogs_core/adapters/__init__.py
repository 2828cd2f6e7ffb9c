"""The world outside the domain: settings from the environment, the tasks table (DynamoDB), the
snapshot bucket (S3), a task's AgentAPI and the addresses it may be at, the invocation's deadlines,
each client made once per container, the table's stream records, and logs, metrics and traces. SDK
and network failures leave here as the domain's errors."""
