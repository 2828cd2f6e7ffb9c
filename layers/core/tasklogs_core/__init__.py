"""Domain package of the tasklogs service, shipped to every function as the shared layer.

Modules, from the outside in:
- settings: environment variables, modelled once
- models: the contract's wire shapes and the task item
- conversation: the snapshot format, the roles and their log types, the upload cap, the role check
- status: task status derivation (contract §3), a pure function
- text: rules for client text (lone surrogates, NUL) and exactly the UUID forms Go accepts
- identity: who is calling, from the JWT claims API Gateway verified
- task_repository / snapshot_store / agentapi_client: data access, SDK errors become domain errors
- task_logs: the read path's domain logic (contract §5)
- errors / http_errors: domain exceptions, and the HTTP edge's one table mapping them to responses
- observability: the logger, metrics and tracer, and each kind of handler's decorator stack
"""
