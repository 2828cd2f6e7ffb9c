"""Which addresses the service may call as a task's AgentAPI (SSRF guard).

`agentapi_url` comes from the task item. Without this guard, a wrong or hostile value could make the
function call the instance metadata service, the Lambda runtime API on loopback, or anything else it
can reach. The check runs on the address actually connected to (after DNS), so a name that resolves
to a forbidden address is refused too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Never an agent: link-local (IMDS 169.254.169.254, the ECS/Lambda credential endpoints), EC2's IPv6
# metadata address, unspecified and multicast addresses.
ALWAYS_DENIED: tuple[IpNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "0.0.0.0/8", "::/128", "224.0.0.0/4", "ff00::/8")
)
# Loopback is where the Lambda runtime API listens: allowed only when an allow-list names it.
LOOPBACK: tuple[IpNetwork, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """`10.0.0.0/8, fd00::/8` → networks; a bare address is a /32 or /128. ValueError when invalid."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class AddressPolicy:
    """`allowed` empty: any address except the denied ones and loopback. Otherwise only addresses in
    `allowed`, and still never the denied ones."""

    allowed: tuple[IpNetwork, ...] = ()

    def refusal(self, address: str) -> str | None:
        """Why `address` may not be called, or None when it may."""
        try:
            ip: IpAddress = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
        except ValueError:
            return f"{address!r} is not an IP address"
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if _within(ip, ALWAYS_DENIED):
            return f"{ip} is a link-local, metadata or otherwise reserved address"
        if self.allowed:
            return None if _within(ip, self.allowed) else f"{ip} is outside AGENTAPI_ALLOWED_NETWORKS"
        if _within(ip, LOOPBACK):
            return f"{ip} is a loopback address (allow it with AGENTAPI_ALLOWED_NETWORKS)"
        return None


def _within(ip: IpAddress, networks: Iterable[IpNetwork]) -> bool:
    return any(ip.version == network.version and ip in network for network in networks)
