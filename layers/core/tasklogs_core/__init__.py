"""The tasklogs service's code, shipped to every function as the shared layer. Its folders are its
layers, lowest first; a module imports only from its own layer or lower ones (tests/unit/test_layers.py):

- domain: the contract's rules over data, no I/O (models, errors, task status, the conversation's
  rules, identity, client text, the wording of a validation failure)
- adapters: the world outside (settings from the environment, DynamoDB, S3, the agent's AgentAPI and
  its address policy, deadlines, the clients' lifetime, stream records, logs/metrics/traces)
- use_cases: one per function, named like it (task_logs, log_snapshot, pause_capture,
  snapshot_cleanup)
- edge: HTTP in and out (request parsing, the error table, the logs response's size)

The handlers (functions/*/<function>_handler.py) sit above them all: they route and decorate, and
call one use case.
"""
