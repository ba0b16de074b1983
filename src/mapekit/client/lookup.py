"""An AAAA lookup that says what the resolver answered, for the doctor: the AFTR's name
resolves, or the answer was NXDOMAIN (no such name), NODATA (the name exists without an
IPv6 address), a timeout, or every server failed (SERVFAIL, REFUSED)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import dns.exception
import dns.resolver

from mapekit.client.fetch import DNS_TIMEOUT


class Answer(enum.Enum):
    OK = "ok"
    NXDOMAIN = "NXDOMAIN"
    NODATA = "NODATA"
    TIMEOUT = "timeout"
    SERVFAIL = "SERVFAIL"  # every server failed or refused
    ERROR = "error"


@dataclass(frozen=True)
class AaaaLookup:
    name: str
    resolver: str  # the servers asked, e.g. "2001:db8::53" or "192.0.2.53, 192.0.2.54"
    answer: Answer
    addresses: tuple[str, ...] = ()
    detail: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "resolver": self.resolver, "answer": self.answer.value,
                "addresses": list(self.addresses), "detail": self.detail}  # fmt: skip


def _resolver(dns_server: str | None, port: int, timeout: float) -> dns.resolver.Resolver:
    try:
        resolver = dns.resolver.Resolver(configure=dns_server is None)
    except dns.resolver.NoResolverConfiguration:
        resolver = dns.resolver.Resolver(configure=False)
    if dns_server is not None:
        resolver.nameservers = [dns_server]
        resolver.port = port
    resolver.lifetime = timeout
    return resolver


def lookup_aaaa(
    name: str, dns_server: str | None = None, port: int = 53, timeout: float = DNS_TIMEOUT
) -> AaaaLookup:
    """Ask for ``name``'s AAAA records (the configured server, else the system's)."""
    resolver = _resolver(dns_server, port, timeout)
    servers = ", ".join(str(s) for s in resolver.nameservers) or "no resolver configured"
    if dns_server is not None and port != 53:
        servers += f" port {port}"
    try:
        found = resolver.resolve(name, "AAAA")
    except dns.resolver.NXDOMAIN:
        return AaaaLookup(name, servers, Answer.NXDOMAIN)
    except dns.resolver.NoAnswer:
        return AaaaLookup(name, servers, Answer.NODATA)
    except dns.exception.Timeout:
        return AaaaLookup(name, servers, Answer.TIMEOUT)
    except dns.resolver.NoNameservers as exc:
        return AaaaLookup(name, servers, Answer.SERVFAIL, detail=str(exc)[:200])
    except dns.exception.DNSException as exc:
        return AaaaLookup(name, servers, Answer.ERROR, detail=str(exc)[:200])
    addresses = tuple(str(r.address) for r in found)
    return AaaaLookup(name, servers, Answer.OK, addresses)
