"""HTTP in and out: what is read from an API Gateway event, the one table mapping errors to responses
(it also drives docs/openapi.json), and the logs response kept inside Lambda's payload limit."""
