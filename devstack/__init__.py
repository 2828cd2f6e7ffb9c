"""The local stack: moto server as DynamoDB and S3, a fake AgentAPI, demo tasks and a local API
Gateway front that calls the real handler. Used by `make run`, by the tests and by the benchmarks.
Nothing here is deployed."""
