"""The drivers against real loopback servers, for every outcome, through ``mape provision``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import dns.rcode
import pytest

from mapekit.cli.main import main
from mapekit.client.hgw import check_hgw
from mapekit.client.state import StateStore
from mapekit.core.s46 import PortParams, S46Container, S46Kind, S46Rule
from mapekit.core.s46_wire import encode_options
from mapekit.provision.hgw import HgwState
from tests.provision.samples import USER_ID
from tests.provision.servers import Script, dns_server, make_tls, serve

CODE = "0123456789abcdef0123456789abcdef"
V6PLUS_PREFIX = "240b:10:3f6c:d400::/56"
OCN_PREFIX = "2400:4050:5a7:f600::/56"
LAB_PREFIX = "2001:db8:12:3400::/56"


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def server(script: Script) -> Iterator[str]:
    with serve(script) as url:
        yield url


def provision(
    capsys: pytest.CaptureFixture[str], state: Path, *argv: str
) -> tuple[int, dict[str, object]]:
    code = main(["provision", "--once", "--json", "--state-dir", str(state), *argv])
    out = capsys.readouterr().out
    return code, json.loads(out)


def jpne(
    capsys: pytest.CaptureFixture[str], state: Path, url: str, *extra: str
) -> tuple[int, dict[str, object]]:
    hgw = [] if "--no-hgw-check" in extra else ["--hgw-url", f"{url}/enabler.ipv4/check"]
    return provision(
        capsys,
        state,
        "--provider",
        "jpne",
        "--wan-prefix",
        V6PLUS_PREFIX,
        "--url",
        url,
        "--vendor-code",
        CODE,
        *hgw,
        *extra,
    )


def events(doc: dict[str, object]) -> list[str]:
    return [e["code"] for e in doc["events"]]  # type: ignore[index, union-attr]


# --- JPNE ---------------------------------------------------------------------------


def test_jpne_full_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str, script: Script
) -> None:
    code, doc = jpne(capsys, tmp_path, server)
    assert code == 0 and doc["outcome"] == "established" and doc["state"] == "established"
    mapping = doc["mapping"]
    assert isinstance(mapping, dict)
    assert (mapping["ipv4"], mapping["psid"], mapping["br"]) == (
        "106.72.63.108",
        212,
        "2404:9200:225:100::64",
    )
    assert mapping["ce_ipv6"] == "240b:10:3f6c:d400:6a:483f:6c00:d400"
    assert mapping["rule"]["ipv6_prefix"] == "240b:10::/32"  # type: ignore[index]
    saved, problem = StateStore(tmp_path).load()
    assert problem is None and saved is not None and saved.user_id == USER_ID
    assert [name for name, _ in script.requests] == ["hgw", "jpne_get_rules"]  # --once: no report
    assert doc["next_attempt_in"] is not None and 3 * 3600 <= doc["next_attempt_in"] <= 86400
    # the loopback server is reached from 127.0.0.1, outside the prefix: the user is told
    assert any("outside the prefix" in n for n in doc["notes"])  # type: ignore[union-attr]


def test_jpne_report_only_when_asked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str, script: Script
) -> None:
    code, doc = jpne(capsys, tmp_path, server, "--report")
    assert code == 0
    name, query = script.requests[-1]
    assert name == "jpne_acct_report"
    assert (query["action"], query["reason"], query["callback"]) == ("1", "0", "rpt")
    assert {"MAPE.017", "MAPE.018"} <= set(events(doc))
    # the second request sends back the id the server gave
    jpne(capsys, tmp_path, server)
    get_rules = [q for n, q in script.requests if n == "jpne_get_rules"]
    assert "id" not in get_rules[0] and get_rules[-1]["id"] == USER_ID


def test_jpne_blank_answer_explains_the_deployment_target(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str, script: Script
) -> None:
    jpne(capsys, tmp_path, server)  # saved rules from an earlier success
    script.jpne = "blank"
    code, doc = jpne(capsys, tmp_path, server)
    assert code == 8 and doc["outcome"] == "blank" and doc["state"] == "waiting"
    assert doc["reason_code"] == "rules.blank"
    assert "deployment target" in str(doc["explanation"])
    assert StateStore(tmp_path).load() == (None, None)  # blank drops the saved rules
    assert 600 <= doc["next_attempt_in"] <= 1800  # type: ignore[operator]


@pytest.mark.parametrize(
    ("mode", "status", "outcome", "reason", "keeps"),
    [
        ("403", 10, "forbidden", "rules.forbidden", False),
        ("503", 12, "server_error", "server.error", True),
        ("timeout", 13, "unreachable", "net.timeout", True),
        ("malformed", 7, "invalid", "reply.not_json", True),
        ("wrong_types", 7, "invalid", "reply.wrong_type", True),
        ("foreign", 7, "invalid", "rules.no_bmr", True),
    ],
)
def test_jpne_failures_and_saved_rules(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: str,
    script: Script,
    mode: str,
    status: int,
    outcome: str,
    reason: str,
    keeps: bool,
) -> None:
    assert jpne(capsys, tmp_path, server)[0] == 0
    script.jpne, script.delay = mode, 1.5
    code, doc = jpne(capsys, tmp_path, server, "--timeout", "0.5")
    assert (code, doc["outcome"], doc["reason_code"]) == (status, outcome, reason)
    assert doc["explanation"]
    saved, _ = StateStore(tmp_path).load()
    assert (saved is not None) is keeps
    assert (doc["state"] == "established") is keeps  # the CE keeps its last good rules
    assert (doc["mapping"] is not None) is keeps
    if reason == "reply.wrong_type":
        assert doc["last_error"]["field"] == "ipv6_fixlen"  # type: ignore[index]


def test_jpne_503_message_mentions_the_manufacturer_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str, script: Script
) -> None:
    script.jpne = "503"
    _, doc = jpne(capsys, tmp_path, server)
    assert "manufacturer code" in doc["last_error"]["message"]  # type: ignore[index]


def test_corrupt_state_is_reported_and_ignored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str
) -> None:
    (tmp_path / "rules.json").write_text("{not json")
    code, doc = jpne(capsys, tmp_path, server)
    assert code == 0
    assert any("ignored" in n for n in doc["notes"])  # type: ignore[union-attr]


# --- TLS ----------------------------------------------------------------------------


def test_tls_verified_by_default_and_with_a_lab_ca(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, script: Script
) -> None:
    pair, ca_file = make_tls(tmp_path)
    with serve(script, tls=pair) as served:
        url = served.replace("127.0.0.1", "localhost")
        code, doc = jpne(capsys, tmp_path / "a", url, "--no-hgw-check")
        assert (code, doc["reason_code"]) == (13, "net.tls")
        assert "--ca-file" in str(doc["explanation"])
        code, doc = jpne(capsys, tmp_path / "b", url, "--no-hgw-check", "--ca-file", ca_file)
        assert code == 0


def test_hgw_url_conflicts_with_no_hgw_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        [
            "provision",
            "--provider",
            "jpne",
            "--wan-prefix",
            V6PLUS_PREFIX,
            "--no-hgw-check",
            "--hgw-url",
            "http://x/",
            "--json",
        ]
    )
    assert code == 2
    assert json.loads(capsys.readouterr().out)["error"]["reason_code"] == "usage.invalid_arguments"


# --- HGW ----------------------------------------------------------------------------


def test_hgw_running_mape(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str, script: Script
) -> None:
    script.hgw = "on"
    code, doc = jpne(capsys, tmp_path, server, "--report")
    assert (code, doc["outcome"], doc["state"]) == (9, "hgw_active", "HGW active")
    assert "MAPE.012" in events(doc)
    name, query = script.requests[-1]
    assert name == "jpne_acct_report" and (query["action"], query["reason"]) == ("2", "4")
    assert "jpne_get_rules" not in [n for n, _ in script.requests]


def test_hgw_off_and_garbage_continue(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str, script: Script
) -> None:
    assert jpne(capsys, tmp_path, server)[1]["hgw"] == "off"
    script.hgw = "garbage"
    assert jpne(capsys, tmp_path, server)[1]["hgw"] == "none"


def test_no_hgw_is_concluded_quickly() -> None:
    start = time.monotonic()
    # no name: the resolver (replaced here, so that no query leaves the machine) has none
    report, how = check_hgw("http://ntt.setup:8888/enabler.ipv4/check", resolve=lambda h, t: None)
    assert report.state is HgwState.NONE and "resolve" in how
    report, how = check_hgw("http://127.0.0.1:9/enabler.ipv4/check")  # nothing listens
    assert report.state is HgwState.NONE and "no answer" in how
    assert time.monotonic() - start < 2.0 * 2


def test_unanswering_hgw_is_given_up_within_the_budget() -> None:
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        start = time.monotonic()
        report, _ = check_hgw(f"http://127.0.0.1:{port}/enabler.ipv4/check", budget=1.0)
        assert report.state is HgwState.NONE
        assert time.monotonic() - start < 2.0


# --- OCN ----------------------------------------------------------------------------


def ocn(capsys: pytest.CaptureFixture[str], state: Path, url: str) -> tuple[int, dict[str, object]]:
    return provision(
        capsys,
        state,
        "--provider",
        "ocn",
        "--wan-prefix",
        OCN_PREFIX,
        "--url",
        f"{url}/ocn/",
        "--vendor-code",
        "lab",
        "--no-hgw-check",
    )


def test_ocn(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str, script: Script
) -> None:
    code, doc = ocn(capsys, tmp_path, server)
    assert code == 0 and doc["mapping"]["ipv4"] == "153.240.22.159"  # type: ignore[index]
    query = script.requests[-1][1]
    assert query == {"ipv6Prefix": "2400:4050:5a7:f600::", "ipv6PrefixLength": "56", "code": "lab"}
    script.ocn = "fixed"
    code, doc = ocn(capsys, tmp_path / "x", server)
    assert (code, doc["outcome"]) == (14, "unsupported")
    assert "fixed-IPv4" in doc["last_error"]["message"]  # type: ignore[index]


# --- HB46PP -------------------------------------------------------------------------


def hb(
    capsys: pytest.CaptureFixture[str], state: Path, *extra: str
) -> tuple[int, dict[str, object]]:
    return provision(
        capsys,
        state,
        "--provider",
        "hb46pp",
        "--wan-prefix",
        LAB_PREFIX,
        "--no-hgw-check",
        *extra,
    )


def test_hb46pp_discovered_through_dns(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str, script: Script
) -> None:
    script.hb46pp = "redirect"  # the first answer is a 307, which is followed
    with dns_server([f"v=v6mig-1 url={server}/hb46pp/config t=a".encode()]) as port:
        code, doc = hb(capsys, tmp_path, "--dns-server", "127.0.0.1", "--dns-port", str(port))
    assert code == 0
    mapping = doc["mapping"]
    assert mapping["ce_ipv6"] == "2001:db8:12:3400:0:c000:212:34"  # type: ignore[index]
    assert mapping["iid"] == "rfc"  # type: ignore[index]
    assert 20 * 3600 <= doc["next_attempt_in"] <= 86400  # type: ignore[operator]
    query = script.requests[-1][1]
    assert query["capability"] == "map_e,dslite,ipip" and query["vendorid"] == "000000-mapekit"


def test_hb46pp_without_discovery_record(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with dns_server(None, rcode=dns.rcode.NXDOMAIN) as port:
        code, doc = hb(capsys, tmp_path, "--dns-server", "127.0.0.1", "--dns-port", str(port))
    assert (code, doc["reason_code"]) == (13, "dns.no_record")
    assert 3600 <= doc["next_attempt_in"] <= 3 * 3600  # type: ignore[operator]


def test_hb46pp_t_a_on_https_needs_an_opt_in(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, script: Script
) -> None:
    pair, _ = make_tls(tmp_path)
    with serve(script, tls=pair) as url:
        record = f"v=v6mig-1 url={url.replace('127.0.0.1', 'localhost')}/hb46pp/config t=a"
        with dns_server([record.encode()]) as port:
            dns_args = ("--dns-server", "127.0.0.1", "--dns-port", str(port))
            code, doc = hb(capsys, tmp_path / "a", *dns_args)
            assert doc["reason_code"] == "net.tls"  # not silently insecure
            code, doc = hb(capsys, tmp_path / "b", *dns_args, "--insecure-discovery")
            assert code == 0


@pytest.mark.parametrize(
    ("mode", "status", "reason"),
    [
        ("lw4o6", 14, "hb46pp.unsupported"),
        ("empty", 8, "hb46pp.nothing_offered"),
        ("404", 10, "rules.forbidden"),
    ],
)
def test_hb46pp_refusals(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    server: str,
    script: Script,
    mode: str,
    status: int,
    reason: str,
) -> None:
    script.hb46pp = mode
    code, doc = hb(capsys, tmp_path, "--url", f"{server}/hb46pp/config")
    assert (code, doc["reason_code"]) == (status, reason)


def test_hb46pp_offering_dslite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str, script: Script
) -> None:
    script.hb46pp = "dslite"
    code, doc = hb(capsys, tmp_path, "--url", f"{server}/hb46pp/config")
    assert code == 0 and doc["mapping"] is None
    softwire = doc["softwire"]
    assert softwire["mechanism"] == "dslite" and softwire["remote"] == "2001:db8::1"
    assert softwire["ipv4"] == "192.0.0.2" and softwire["nat"] is False


# --- DHCPv6 and static --------------------------------------------------------------


def test_dhcpv6_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import ipaddress

    container = S46Container(
        S46Kind.MAP_E,
        rules=(
            S46Rule(
                True,
                16,
                ipaddress.IPv4Network("192.0.2.0/24"),
                ipaddress.IPv6Network("2001:db8::/40"),
                PortParams(6, 8, 0),
            ),
        ),
        brs=(ipaddress.IPv6Address("2001:db8:ffff::1"),),
    )
    (tmp_path / "opts.hex").write_text(encode_options([container]).hex())
    code, doc = provision(
        capsys,
        tmp_path,
        "--provider",
        "dhcpv6",
        "--wan-prefix",
        LAB_PREFIX,
        "--no-hgw-check",
        "--dhcpv6-options",
        f"@{tmp_path / 'opts.hex'}",
    )
    assert code == 0 and doc["mapping"]["psid"] == 0x34  # type: ignore[index]
    code, doc = provision(
        capsys,
        tmp_path,
        "--provider",
        "dhcpv6",
        "--wan-prefix",
        LAB_PREFIX,
        "--no-hgw-check",
        "--dhcpv6-options",
        "005e0002ff",
    )
    assert doc["outcome"] == "invalid"


def test_wan_address_must_be_inside_the_prefix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        [
            "provision",
            "--provider",
            "jpne",
            "--wan-prefix",
            V6PLUS_PREFIX,
            "--once",
            "--wan-address",
            "2001:db8::1",
            "--json",
            "--state-dir",
            str(tmp_path),
        ]
    )
    error = json.loads(capsys.readouterr().out)["error"]
    assert code == 3 and error["field"] == "wan-address"


def test_status_reads_the_saved_status(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str
) -> None:
    jpne(capsys, tmp_path, server)
    code = main(["status", "--state-dir", str(tmp_path), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["state"] == "established" and "saved status" in doc["source"]
    code = main(["status", "--state-dir", str(tmp_path), "--lang", "ja"])
    out = capsys.readouterr().out
    assert code == 0 and "MAP-E 状態" in out and "106.72.63.108" in out
    code = main(["status", "--socket", str(tmp_path / "none.sock"), "--json"])
    assert code == 5
    assert json.loads(capsys.readouterr().out)["error"]["reason_code"] == "status.unavailable"


def test_status_asks_a_running_agent(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import socket
    import threading

    path = str(tmp_path / "agent.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    seen: list[bytes] = []

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            seen.append(conn.recv(1024))
            conn.sendall(json.dumps({"provider": "jpne", "state": "established"}).encode())

    thread = threading.Thread(target=answer)
    thread.start()
    code = main(["status", "--socket", path, "--json"])
    thread.join()
    listener.close()
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["state"] == "established" and "agent" in doc["source"]
    assert json.loads(seen[0]) == {"command": "status"}


def test_forget_erases_the_saved_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str
) -> None:
    jpne(capsys, tmp_path, server)
    assert main(["forget", "--state-dir", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["erased"] is True
    assert StateStore(tmp_path).load() == (None, None)
    assert main(["forget", "--state-dir", str(tmp_path)]) == 0
    assert "No saved rules" in capsys.readouterr().out
