"""Test-only tools: AWS faults moto cannot produce (faulty_aws) and a bounded loopback load (load)."""
