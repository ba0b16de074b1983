"""``mape provision`` in the words of docs/cli.md: ``--prefix``, ``--source-address`` (the
old spellings still work, with a note), and the softwire providers ``dslite`` (the AFTR by
address, by name through a loopback DNS server, or from the hook's file) and ``ipip``."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dns.message
import dns.rdataclass
import dns.rrset
import pytest

from mapekit.cli.main import main
from tests.provision.servers import udp_dns

PREFIX = "2001:db8:12:3400::/56"
AFTR_ADDRESS = "2001:db8:ffff::1"
DNS_HOST = "127.0.113.53"  # a loopback address of its own: the client asks port 53


Capture = pytest.CaptureFixture[str]


def provision(capsys: Capture, tmp_path: Path, *argv: str) -> tuple[int, dict[str, object], str]:
    code = main(["provision", "--once", "--no-hgw-check", "--state-dir", str(tmp_path), "--json",
                 *argv])  # fmt: skip
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_ipip_from_the_command_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, doc, err = provision(capsys, tmp_path, "--provider", "ipip", "--prefix", PREFIX,
                               "--remote", "2001:db8::9", "--ipv4", "192.0.2.7",
                               "--interface-id", "::1234:5678:9abc:def0")  # fmt: skip
    assert (code, err) == (0, "")
    softwire = doc["softwire"]
    assert isinstance(softwire, dict)
    assert softwire["mechanism"] == "ipip" and softwire["remote"] == "2001:db8::9"
    assert softwire["local"] == "2001:db8:12:3400:1234:5678:9abc:def0"
    assert softwire["ipv4"] == "192.0.2.7" and doc["mapping"] is None


def test_dslite_with_an_aftr_address(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, doc, _ = provision(capsys, tmp_path, "--provider", "dslite", "--prefix", PREFIX,
                             "--aftr", AFTR_ADDRESS)  # fmt: skip
    assert code == 0
    assert doc["softwire"] == {**doc["softwire"], "mechanism": "dslite", "remote": AFTR_ADDRESS,  # type: ignore[dict-item]
                               "remote_name": None}  # fmt: skip


@contextmanager
def aaaa_server(name: str, address: str) -> Iterator[None]:
    """A DNS server on DNS_HOST:53 answering ``name AAAA`` with ``address``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((DNS_HOST, 53))
    except OSError as exc:
        sock.close()
        pytest.skip(f"cannot listen on {DNS_HOST}:53 ({exc.strerror}); needs root")

    def answer(query: dns.message.Message) -> dns.message.Message:
        reply = dns.message.make_response(query)
        question = query.question[0]
        if question.name.to_text().rstrip(".") == name and question.rdtype == 28:
            reply.answer.append(dns.rrset.from_text(question.name, 60, dns.rdataclass.IN,
                                                    "AAAA", address))  # fmt: skip
        return reply

    with udp_dns(answer, sock):
        yield


def test_dslite_resolves_the_aftr_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with aaaa_server("aftr.example.jp", AFTR_ADDRESS):
        code, doc, _ = provision(capsys, tmp_path, "--provider", "dslite", "--prefix", PREFIX,
                                 "--aftr", "aftr.example.jp", "--dns-server", DNS_HOST)  # fmt: skip
    assert code == 0
    softwire = doc["softwire"]
    assert isinstance(softwire, dict)
    assert (softwire["remote"], softwire["remote_name"]) == (AFTR_ADDRESS, "aftr.example.jp")


def test_dslite_takes_the_name_the_hook_wrote(capsys: Capture, tmp_path: Path) -> None:
    aftr = tmp_path / "aftr"
    aftr.write_text("gw.transix.example\n")
    with aaaa_server("gw.transix.example", AFTR_ADDRESS):
        code, doc, _ = provision(capsys, tmp_path, "--provider", "dslite", "--prefix", PREFIX,
                                 "--aftr-file", str(aftr), "--dns-server", DNS_HOST)  # fmt: skip
    assert code == 0 and doc["softwire"]["remote"] == AFTR_ADDRESS  # type: ignore[index]


@pytest.mark.parametrize(
    ("argv", "status", "field"),
    [
        (["--provider", "dslite"], 2, "aftr"),
        (["--provider", "ipip", "--ipv4", "192.0.2.7"], 2, "remote"),
        (["--provider", "ipip", "--remote", "2001:db8::9"], 2, "ipv4"),
        (["--provider", "ipip", "--remote", "2001:db8::9", "--ipv4", "192.0.2.300"], 3, "ipv4"),
        (
            [
                "--provider",
                "ipip",
                "--remote",
                "2001:db8::9",
                "--ipv4",
                "192.0.2.7",
                "--interface-id",
                "2001:db8::1",
            ],
            3,
            "interface-id",
        ),
        (["--provider", "ipip", "--remote", "nowhere", "--ipv4", "192.0.2.7"], 3, "remote"),
    ],
)
def test_softwire_options_are_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], status: int, field: str
) -> None:
    code, doc, _ = provision(capsys, tmp_path, "--prefix", PREFIX, *argv)
    error = doc["error"]
    assert isinstance(error, dict)
    assert (code, error["field"]) == (status, field)


def test_the_old_spellings_still_work_with_a_note(capsys: Capture, tmp_path: Path) -> None:
    code, doc, err = provision(capsys, tmp_path, "--provider", "static", "--wan-prefix",
                               "240b:10:3f6c:d400::/56", "--wan-address",
                               "240b:10:3f6c:d400::1")  # fmt: skip
    assert code == 0 and doc["mapping"]["ipv4"] == "106.72.63.108"  # type: ignore[index]
    assert "--wan-prefix is deprecated" in err and "use --prefix" in err
    assert "--wan-address is deprecated" in err and "use --source-address" in err


def test_the_prefix_is_required(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, doc, _ = provision(capsys, tmp_path, "--provider", "static")
    assert code == 2 and doc["error"]["field"] == "prefix"  # type: ignore[index]
