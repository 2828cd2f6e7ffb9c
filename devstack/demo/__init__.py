"""The demo: tasks in every state (one catalogue for the stack, events/ and the tests), the fake
AgentAPI that plays their agents over loopback, and the control routes that pause, resume and delete."""
