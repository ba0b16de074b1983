"""``mape export`` of a DS-Lite or IPIP line as a user runs it: from options, from the
agent's saved status, `--json`, and the errors (each naming the flag)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mapekit.cli.main import main
from mapekit.client.state import StateStore
from tests.export.softwire_cases import UPDATE_URL, render_softwire_case

PD = "2001:db8:12:3400::/56"
DSLITE = ["--provider", "dslite", "--aftr", "gw.aftr.example", "--aftr-address",
          "2001:db8:ffff::1"]  # fmt: skip
IPIP = ["--provider", "ipip", "--remote", "2001:db8:ffff::2", "--ipv4", "203.0.113.9",
        "--interface-id", "::1234:5678:9abc:def0", "--update-url", UPDATE_URL]  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", ["openwrt", "linux", "networkd", "rtx", "fortigate", "ix"])
def test_ds_lite_from_options(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, err = run(capsys, "export", "--format", fmt, *DSLITE, PD)
    assert (code, err) == (0, "")
    assert out == render_softwire_case("dslite", fmt)


@pytest.mark.parametrize(("fmt", "prefix", "case"),
                         [("linux", PD, "ipip-pd"), ("openwrt", PD, "ipip-pd"),
                          ("rtx", "2001:db8:12:3400::/64", "ipip-ra"),
                          ("fortigate", "2001:db8:12:3400::/64", "ipip-ra")])  # fmt: skip
def test_ipip_from_options(
    capsys: pytest.CaptureFixture[str], fmt: str, prefix: str, case: str
) -> None:
    code, out, err = run(capsys, "export", "--format", fmt, *IPIP, prefix)
    assert (code, err) == (0, "")
    assert out == render_softwire_case(case, fmt)


def test_the_whole_tunnel_address_instead_of_the_interface_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [a for a in IPIP if a not in ("--interface-id", "::1234:5678:9abc:def0")]
    code, out, _ = run(capsys, "export", "--format", "linux", *argv, "--ipv6-local",
                       "2001:db8:12:3400:1234:5678:9abc:def0", PD)  # fmt: skip
    assert code == 0 and out == render_softwire_case("ipip-pd", "linux")
    code, _, err = run(capsys, "export", "--format", "linux", *argv, "--ipv6-local",
                       "2001:db8:99::1", PD)  # fmt: skip
    assert code == 7 and "softwire.outside_prefix" in err  # not inside the prefix


def test_json_says_what_was_exported_and_what_no_document_confirms(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "export", "--format", "rtx", *IPIP, PD, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["format"] == "rtx" and doc["softwire"]["mechanism"] == "ipip"
    assert doc["softwire"]["local"] == "2001:db8:12:3400:1234:5678:9abc:def0"
    assert doc["unverified"] == ["ipv6 lan1 address dhcp-prefix@lan2::1234:5678:9abc:def0/64"]
    assert doc["text"] == render_softwire_case("ipip-pd", "rtx")
    code, out, _ = run(capsys, "export", "--format", "linux", "--json", "240b:10:3f6c:d400::/56")
    doc = json.loads(out)
    assert code == 0 and doc["mapping"]["ipv4"] == "106.72.63.108" and doc["unverified"] == []


def test_from_the_agents_saved_status(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    wire = {"mechanism": "ipip", "local": "2001:db8:12:3400:1234:5678:9abc:def0",
            "remote": "2001:db8:ffff::2", "remote_name": None, "ipv4": "203.0.113.9",
            "ipv4_prefix_len": 32, "nat": True}  # fmt: skip
    StateStore(tmp_path).save_status({"state": "established", "softwire": wire, "prefix": PD})
    code, out, err = run(capsys, "export", "--format", "linux", "--from-status", "--state-dir",
                         str(tmp_path))  # fmt: skip
    assert (code, err) == (0, "") and out == render_softwire_case("ipip-pd", "linux")
    StateStore(tmp_path).save_status({"state": "established", "mapping": {}})
    code, _, err = run(capsys, "export", "--format", "linux", "--from-status", "--state-dir",
                       str(tmp_path))  # fmt: skip
    assert code == 5 and "no DS-Lite or IPIP softwire" in err


@pytest.mark.parametrize(
    ("argv", "code", "field"),
    [(["--provider", "dslite", PD], 2, "aftr"),
     (["--provider", "ipip", "--remote", "2001:db8:ffff::2", PD], 2, "ipv4"),
     ([*IPIP, "--ipv6-local", "2001:db8:12:3400::9", PD], 2, "interface-id"),
     ([*DSLITE, "--remote", "2001:db8:ffff::2", PD], 2, "remote"),
     ([*DSLITE, "--forward", "tcp:80=192.168.1.2", PD], 2, "forward"),
     ([*DSLITE, "--rule-ipv6", "2001:db8::/40", PD], 2, "rule-ipv6"),
     ([*DSLITE, "--full", PD], 2, "full"),
     (["--provider", "dslite", "--aftr", "bad name!", PD], 3, "aftr"),
     ([*IPIP[:-2], "--interface-id", "2001:db8::1", PD], 3, "interface-id"),
     (["--provider", "ipip", "--remote", "2001:db8:ffff::2", "--ipv4", "10.0.0.1",
       "--interface-id", "::1", PD], 3, "ipv4"),
     ([*DSLITE], 2, "prefix"),
     (["--socket", "/nonexistent", *DSLITE, PD], 2, "socket")],
)  # fmt: skip
def test_errors_name_the_flag(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, field: str
) -> None:
    got, out, _ = run(capsys, "export", "--format", "linux", "--json", *argv)
    assert got == code and json.loads(out)["error"]["field"] == field, out


def test_an_aftr_name_that_does_not_resolve(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mapekit.client import lookup
    from tests.provision.test_aftr_lookup import dns_server

    original = lookup.lookup_aaaa
    with dns_server() as port:  # a resolver that does not know the name: NXDOMAIN
        monkeypatch.setattr(
            lookup, "lookup_aaaa", lambda name, *_: original(name, "127.0.0.1", port, timeout=1)
        )
        code, _, err = run(capsys, "export", "--format", "linux", "--provider", "dslite",
                           "--aftr", "nothing.example", PD)  # fmt: skip
    assert code == 13 and "nothing.example: NXDOMAIN" in err and "--aftr-address" in err
    code, out, _ = run(capsys, "export", "--format", "openwrt", "--provider", "dslite",
                       "--aftr", "nothing.example", PD)  # fmt: skip
    assert code == 0 and "option peeraddr 'nothing.example'" in out  # OpenWrt resolves it
