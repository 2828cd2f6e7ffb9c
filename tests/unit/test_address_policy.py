"""The SSRF guard's rules (the client applies them to the address it connects to)."""

import pytest
from pydantic import ValidationError

from tasklogs_core.adapters.address_policy import AddressPolicy, parse_networks
from tasklogs_core.adapters.settings import Settings

OPEN = AddressPolicy()
VPC = AddressPolicy(parse_networks("10.0.0.0/16, fd00:1::/64"))


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "fe80::1%eth0",
        "::ffff:169.254.169.254",
        "0.0.0.0",
        "::",
        "224.0.0.1",
    ],
)
def test_reserved_addresses_are_always_refused(address: str) -> None:
    assert OPEN.refusal(address) and VPC.refusal(address)
    assert AddressPolicy(parse_networks("0.0.0.0/0, ::/0")).refusal(address)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_needs_the_allow_list(address: str) -> None:
    assert "loopback" in OPEN.refusal(address)
    assert AddressPolicy(parse_networks("127.0.0.0/8, ::1")).refusal(address) is None


@pytest.mark.parametrize(
    ("address", "open_allows", "vpc_allows"),
    [
        ("10.0.4.17", True, True),
        ("10.1.4.17", True, False),
        ("203.0.113.9", True, False),
        ("fd00:1::17", True, True),
        ("2001:db8::1", True, False),
    ],
)
def test_the_allow_list_limits_everything_else(address: str, open_allows: bool, vpc_allows: bool) -> None:
    assert (OPEN.refusal(address) is None) is open_allows
    assert (VPC.refusal(address) is None) is vpc_allows


def test_not_an_address() -> None:
    assert "not an IP address" in OPEN.refusal("agent.internal")


def test_networks_parse_loosely_and_fail_loudly() -> None:
    assert [str(n) for n in parse_networks(" 10.0.0.1 , 10.0.0.0/8,,")] == ["10.0.0.1/32", "10.0.0.0/8"]
    assert parse_networks("") == ()
    with pytest.raises(ValidationError, match="agentapi_allowed_networks"):
        Settings(
            tasks_table_name="t",
            snapshots_bucket_name="b",
            transcripts_table_name="s",
            agentapi_allowed_networks="10.0.0.0/33",
        )
