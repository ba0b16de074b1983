"""The AFTR name's AAAA lookup against a real (loopback) DNS server: what the resolver
answered is told apart — an address, NXDOMAIN, NODATA, SERVFAIL, or silence."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rrset
import pytest

from mapekit.client.lookup import Answer, lookup_aaaa

ZONE = {
    "aftr.example.": (dns.rcode.NOERROR, ["2001:db8:ffff::1", "2001:db8:ffff::2"]),
    "noaaaa.example.": (dns.rcode.NOERROR, []),  # the name exists, without AAAA
    "broken.example.": (dns.rcode.SERVFAIL, []),
}


@contextmanager
def dns_server() -> Iterator[int]:
    """Answers ZONE over UDP on 127.0.0.1; names not in it get NXDOMAIN, except
    ``silent.example`` which gets nothing at all."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(2048)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            name = query.question[0].name.to_text()
            if name == "silent.example.":
                continue
            reply = dns.message.make_response(query)
            reply.flags |= dns.flags.AA
            rcode, addresses = ZONE.get(name, (dns.rcode.NXDOMAIN, []))
            reply.set_rcode(rcode)
            if addresses:
                reply.answer.append(dns.rrset.from_text(
                    query.question[0].name, 60, dns.rdataclass.IN, "AAAA", *addresses))  # fmt: skip
            sock.sendto(reply.to_wire(), peer)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()


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
