"""The AgentAPI client against the real fake AgentAPI server on 127.0.0.1."""

import time

import pytest

from devstack.demo.fake_agentapi import FakeAgentAPI, Mode, Scenario, refused_url
from tasklogs_core.adapters.address_policy import AddressPolicy, parse_networks
from tasklogs_core.adapters.agentapi_client import AgentApiClient, messages_url
from tasklogs_core.domain import errors

LOOPBACK_ALLOWED = AddressPolicy(parse_networks("127.0.0.0/8"))


@pytest.fixture(scope="module")
def client() -> AgentApiClient:
    return AgentApiClient(LOOPBACK_ALLOWED)


def deadline_in(seconds: float) -> float:
    return time.monotonic() + seconds


def test_reads_the_conversation_with_nanosecond_times(client: AgentApiClient, fake_agentapi: FakeAgentAPI) -> None:
    scenario = Scenario()
    url = fake_agentapi.agent("client-normal", scenario)
    got = client.get_messages(url, deadline_in(5))
    assert [m.model_dump() for m in got.messages] == scenario.messages
    assert got.messages[0].id == 0 and got.messages[0].role == "agent"


def test_trailing_slash_in_the_base_url(client: AgentApiClient, fake_agentapi: FakeAgentAPI) -> None:
    url = fake_agentapi.agent("client-slash")
    assert client.get_messages(url + "/", deadline_in(5)).messages


@pytest.mark.parametrize(
    ("scenario", "detail"),
    [
        (
            Scenario(mode=Mode.HTTP_ERROR, status=500),
            "The task app answered HTTP 500: Internal Server Error: the agent's terminal is gone.",
        ),
        (
            Scenario(mode=Mode.HTTP_ERROR, status=404),
            "The task app answered HTTP 404: Internal Server Error: the agent's terminal is gone.",
        ),
        (Scenario(mode=Mode.NOT_JSON), "The task app response is not JSON."),
        (
            Scenario(mode=Mode.WRONG_SCHEMA),
            "The task app response does not match the AgentAPI schema at messages: Input should be a valid array.",
        ),
    ],
    ids=["500", "404", "html", "schema"],
)
def test_bad_answers_are_unavailable(
    client: AgentApiClient, fake_agentapi: FakeAgentAPI, scenario: Scenario, detail: str
) -> None:
    url = fake_agentapi.agent(f"client-{scenario.mode}-{scenario.status}", scenario)
    with pytest.raises(errors.TaskAppUnavailable) as raised:
        client.get_messages(url, deadline_in(5))
    assert raised.value.detail == detail


def test_refused_connection_is_unavailable(client: AgentApiClient) -> None:
    with pytest.raises(errors.TaskAppUnavailable, match="could not be reached"):
        client.get_messages(refused_url(), deadline_in(5))


@pytest.mark.parametrize(
    "scenario", [Scenario(mode=Mode.SLOW, delay=5), Scenario(mode=Mode.DRIP, delay=0.05)], ids=["slow", "drip"]
)
def test_the_deadline_bounds_the_whole_request(
    client: AgentApiClient, fake_agentapi: FakeAgentAPI, scenario: Scenario
) -> None:
    # A drip agent sends a byte every 50 ms: every single read is fast, only the request deadline stops it.
    url = fake_agentapi.agent(f"client-{scenario.mode}", scenario)
    deadline = deadline_in(0.8)
    with pytest.raises(errors.TaskAppTimeout):
        client.get_messages(url, deadline)
    assert time.monotonic() - deadline < 0.2  # ended at the deadline, not at the agent's pace


def test_a_deadline_already_past_never_connects(client: AgentApiClient, fake_agentapi: FakeAgentAPI) -> None:
    url = fake_agentapi.agent("client-late")
    before = len(fake_agentapi.requests)
    with pytest.raises(errors.TaskAppTimeout):
        client.get_messages(url, time.monotonic() - 1)
    assert len(fake_agentapi.requests) == before


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "ftp://10.0.0.1:3284",
        "10.0.4.17:3284",
        "http://",
        "http://host:99999",
        "file:///etc/passwd",
        "http//x",
    ],
)
def test_unusable_urls_are_not_configured(url: str | None) -> None:
    with pytest.raises(errors.TaskAppUrlNotConfigured):
        messages_url(url)


def test_messages_url_keeps_the_base_path() -> None:
    assert messages_url("http://10.0.4.17:3284") == "http://10.0.4.17:3284/messages"
    assert messages_url("https://apps.example.com/agents/a1/") == "https://apps.example.com/agents/a1/messages"


# ---------------------------------------------------------------- SSRF guard


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://169.254.170.2/v2/credentials",
        "http://[fd00:ec2::254]/latest",
        "http://[fe80::1]:3284",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0:3284",
    ],
)
def test_metadata_and_link_local_addresses_are_refused_whatever_the_allow_list(url: str) -> None:
    for policy in (AddressPolicy(), AddressPolicy(parse_networks("0.0.0.0/0, ::/0"))):
        with pytest.raises(errors.TaskAppUrlNotConfigured, match="not allowed"):
            AgentApiClient(policy).get_messages(url, deadline_in(2))


def test_loopback_is_refused_unless_allowed(fake_agentapi: FakeAgentAPI) -> None:
    url = fake_agentapi.agent("ssrf-loopback")
    with pytest.raises(errors.TaskAppUrlNotConfigured, match="loopback"):
        AgentApiClient().get_messages(url, deadline_in(2))
    assert AgentApiClient(LOOPBACK_ALLOWED).get_messages(url, deadline_in(2)).messages


def test_a_name_is_checked_by_the_address_it_resolves_to(fake_agentapi: FakeAgentAPI) -> None:
    url = fake_agentapi.agent("ssrf-name").replace("127.0.0.1", "localhost")
    with pytest.raises(errors.TaskAppUrlNotConfigured, match="loopback"):
        AgentApiClient().get_messages(url, deadline_in(2))
    assert AgentApiClient(LOOPBACK_ALLOWED).get_messages(url, deadline_in(2)).messages


def test_an_allow_list_refuses_everything_outside_it(fake_agentapi: FakeAgentAPI) -> None:
    url = fake_agentapi.agent("ssrf-outside")
    with pytest.raises(errors.TaskAppUrlNotConfigured, match="outside AGENTAPI_ALLOWED_NETWORKS"):
        AgentApiClient(AddressPolicy(parse_networks("10.0.0.0/8"))).get_messages(url, deadline_in(2))


def test_a_refused_address_is_never_contacted(fake_agentapi: FakeAgentAPI) -> None:
    url = fake_agentapi.agent("ssrf-untouched")
    before = len(fake_agentapi.requests)
    with pytest.raises(errors.TaskAppUrlNotConfigured):
        AgentApiClient(AddressPolicy(parse_networks("10.0.0.0/8"))).get_messages(url, deadline_in(2))
    assert len(fake_agentapi.requests) == before


def test_a_slow_resolver_is_bounded_by_the_deadline(
    client: AgentApiClient, fake_agentapi: FakeAgentAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A resolver that answers after 3 s cannot be made for real without changing the machine's DNS
    # configuration: getaddrinfo itself is slowed, for this one name only.
    import socket

    real = socket.getaddrinfo
    resolved = []

    def slow_resolver(host, *args, **kwargs):
        if host == "slow-dns.agents.test":
            time.sleep(3)
            resolved.append(host)
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    url = fake_agentapi.agent("slow-dns").replace("127.0.0.1", "slow-dns.agents.test")
    started = time.monotonic()
    with pytest.raises(errors.TaskAppTimeout):
        client.get_messages(url, deadline_in(0.8))
    assert time.monotonic() - started < 1.2  # the deadline, not the resolver's 3 s
    assert not resolved  # it was still resolving when the request ended


def test_a_lone_surrogate_escape_becomes_u_fffd_as_go_decodes_it(
    client: AgentApiClient, fake_agentapi: FakeAgentAPI
) -> None:
    # `\ud800` alone, a pair, and an escaped backslash before `ud800` (text, not an escape).
    content = rb"half \ud800 | pair \ud83d\ude00 | text \\ud800 | low \udc00"
    body = b'{"messages":[{"id":0,"content":"' + content + b'","role":"agent","time":"2026-11-25T04:31:04Z"}]}'
    url = fake_agentapi.agent("client-lone-surrogate", Scenario(mode=Mode.RAW, raw=body))
    [message] = client.get_messages(url, deadline_in(5)).messages
    assert message.content == "half \ufffd | pair \U0001f600 | text \\ud800 | low \ufffd"
