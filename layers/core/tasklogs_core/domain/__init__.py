"""The contract's rules over data: wire and stored shapes, errors, task status, the conversation's
rules, who is calling, client text. Standard library and pydantic only: no AWS, HTTP or Lambda."""
