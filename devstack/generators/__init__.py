"""What is generated from the code and committed: events/*.json and docs/openapi.json (tests fail when
the committed files drift)."""
