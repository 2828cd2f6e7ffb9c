"""The local stand-ins for what AWS runs: moto server as DynamoDB and S3 built from template.yaml, the
Lambda runtime (in process for tests, warm containers for the stack), API Gateway's front (asking the
template's Lambda authorizer), the local identity provider, and the DynamoDB stream's event source mappings."""
