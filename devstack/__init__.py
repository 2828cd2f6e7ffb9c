"""The local stack, used by `make run`, by the tests and by the benchmarks; nothing here is deployed.

- runtime: moto server as DynamoDB and S3, the Lambda runtime and warm containers, the API Gateway
  front with its Lambda authorizer and local identity provider, the stream's event source mappings
- demo: the demo catalogue, the fake AgentAPI, the demo's control routes
- generators: events/*.json and docs/openapi.json
"""
