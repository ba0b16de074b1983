"""The AFTR name's AAAA lookup against a real (loopback) DNS server: what the resolver
answered is told apart — an address, NXDOMAIN, NODATA, SERVFAIL, or silence."""

from __future__ import annotations

from contextlib import AbstractContextManager

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rrset
import pytest

from mapekit.client.lookup import Answer, lookup_aaaa
from tests.provision.servers import udp_dns

ZONE = {
    "aftr.example.": (dns.rcode.NOERROR, ["2001:db8:ffff::1", "2001:db8:ffff::2"]),
    "noaaaa.example.": (dns.rcode.NOERROR, []),  # the name exists, without AAAA
    "broken.example.": (dns.rcode.SERVFAIL, []),
}


def dns_server() -> AbstractContextManager[int]:
    """Answers ZONE over UDP on 127.0.0.1; names not in it get NXDOMAIN, except
    ``silent.example`` which gets nothing at all."""

    def answer(query: dns.message.Message) -> dns.message.Message | None:
        name = query.question[0].name.to_text()
        if name == "silent.example.":
            return None
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.AA
        rcode, addresses = ZONE.get(name, (dns.rcode.NXDOMAIN, []))
        reply.set_rcode(rcode)
        if addresses:
            reply.answer.append(dns.rrset.from_text(
                query.question[0].name, 60, dns.rdataclass.IN, "AAAA", *addresses))  # fmt: skip
        return reply

    return udp_dns(answer)


@pytest.mark.parametrize(
    ("name", "answer", "addresses"),
    [("aftr.example", Answer.OK, ("2001:db8:ffff::1", "2001:db8:ffff::2")),
     ("nothing.example", Answer.NXDOMAIN, ()),
     ("noaaaa.example", Answer.NODATA, ()),
     ("broken.example", Answer.SERVFAIL, ()),
     ("silent.example", Answer.TIMEOUT, ())],
)  # fmt: skip
def test_each_answer_is_told_apart(name: str, answer: Answer, addresses: tuple[str, ...]) -> None:
    with dns_server() as port:
        found = lookup_aaaa(name, "127.0.0.1", port, timeout=0.5)
    assert (found.name, found.answer, sorted(found.addresses)) == (name, answer, list(addresses))
    assert found.resolver == f"127.0.0.1 port {port}"
    assert found.to_dict()["answer"] == answer.value
