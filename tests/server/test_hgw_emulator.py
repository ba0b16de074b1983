"""The HGW emulator over real loopback HTTP: the check, the /t/ probe, the status switch,
the real client seeing it, and ``mape hgw-emulator`` as a user runs it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager

import httpx
import pytest

from mapekit.cli.hgw_emulator import parse_listen, start_line
from mapekit.cli.main import main
from mapekit.client.hgw import check_hgw
from mapekit.provision.hgw import BIGLOBE_PATH, HgwState, decode_check
from mapekit.server.hgw_emulator import ENABLER_PATH, HgwEmulatorState, make_hgw_app
from tests.provision.servers import serve_app


def serve(state: HgwEmulatorState) -> AbstractContextManager[str]:
    """The emulator on a free loopback port in a thread; yields its base URL."""
    return serve_app(make_hgw_app(state))


@pytest.fixture
def state() -> HgwEmulatorState:
    return HgwEmulatorState()


@pytest.fixture
def base(state: HgwEmulatorState) -> Iterator[str]:
    with serve(state) as url:
        yield url


@pytest.mark.parametrize("path", [ENABLER_PATH, BIGLOBE_PATH])
@pytest.mark.parametrize("status", ["ON", "OFF"])
def test_check_answers_jsonp_that_the_codec_decodes(
    state: HgwEmulatorState, base: str, path: str, status: str
) -> None:
    state.status = status
    reply = httpx.get(base + path, params={"callback": "hgw"})
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/javascript"
    report = decode_check(reply.content)
    assert report.state is (HgwState.ON if status == "ON" else HgwState.OFF)
    assert (report.name, report.version) == ("jp.ne.enabler.ipv4.setting", "1.2.0")
    doc = json.loads(reply.text.removeprefix("hgw(").removesuffix(")"))
    assert doc == {"name": "jp.ne.enabler.ipv4.setting", "version": "1.2.0", "status": status}


def test_callback_defaults_to_hgw_and_echoes_a_given_one(base: str) -> None:
    assert httpx.get(base + ENABLER_PATH).text.startswith("hgw({")
    reply = httpx.get(base + ENABLER_PATH, params={"callback": "jQuery_12$3"})
    assert decode_check(reply.content, callback="jQuery_12$3").state is HgwState.OFF


@pytest.mark.parametrize(
    "callback", ["", "alert(1);x", "a.b", "1abc", "x" * 65, "hgw</script>", "ｈｇｗ"]
)
def test_a_callback_that_is_not_an_identifier_gets_400_and_no_body(
    base: str, callback: str
) -> None:
    reply = httpx.get(base + ENABLER_PATH, params={"callback": callback})
    assert (reply.status_code, reply.content) == (400, b"")


def test_t_probe_answers_200_empty(base: str) -> None:
    for method in ("HEAD", "GET"):
        reply = httpx.request(method, base + "/t/")
        assert (reply.status_code, reply.content) == (200, b"")


@pytest.mark.parametrize("body", [b"ON", b"on", b" On\n", b"OFF", b"off\r\n"])
def test_put_status_switches_and_get_status_shows_it(
    state: HgwEmulatorState, base: str, body: bytes
) -> None:
    state.status = "OFF" if body.strip().upper() == b"ON" else "ON"
    reply = httpx.put(base + "/status", content=body)
    assert (reply.status_code, reply.content) == (204, b"")
    assert state.status == body.strip().upper().decode()
    assert httpx.get(base + "/status").text.strip() == state.status


@pytest.mark.parametrize("body", [b"", b"MAYBE", b"ONN", b"O N", b"OFF" + b" " * 40, b"\xff"])
def test_put_status_with_a_bad_value_gets_400_and_changes_nothing(
    state: HgwEmulatorState, base: str, body: bytes
) -> None:
    reply = httpx.put(base + "/status", content=body)
    assert (reply.status_code, reply.content) == (400, b"")
    assert state.status == "OFF"


def test_requests_are_counted(state: HgwEmulatorState, base: str) -> None:
    httpx.get(base + ENABLER_PATH)
    httpx.get(base + BIGLOBE_PATH)
    httpx.head(base + "/t/")
    httpx.get(base + "/status")
    assert state.counts() == {"check": 2, "probe": 1, "status": 1}


def test_state_refuses_a_status_other_than_on_or_off() -> None:
    with pytest.raises(ValueError, match="ON or OFF"):
        HgwEmulatorState(status="maybe")


def test_the_real_client_sees_off_on_and_the_switch_at_run_time(
    state: HgwEmulatorState, base: str
) -> None:
    url = base + ENABLER_PATH
    assert check_hgw(url)[0].state is HgwState.OFF
    assert httpx.put(base + "/status", content=b"ON").status_code == 204
    report, account = check_hgw(url)
    assert report.state is HgwState.ON
    assert report.name == "jp.ne.enabler.ipv4.setting"
    assert "ON" in account
    state.status = "OFF"
    assert check_hgw(base + BIGLOBE_PATH)[0].state is HgwState.OFF


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.0.0:8888", ("0.0.0.0", 8888)),
        ("[::]:8888", ("::", 8888)),
        ("[2001:db8::1]:80", ("2001:db8::1", 80)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_listen_values(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "nonsense",
        "127.0.0.1",
        ":8888",
        "127.0.0.1:",
        "127.0.0.1:65536",
        "127.0.0.1:-1",
        "::1:8888",
        "[::1]8888",
        "[nonsense]:8888",
        "bad host:8888",
    ],
)
def test_a_bad_listen_value_is_a_one_line_usage_error(
    capsys: pytest.CaptureFixture[str], text: str
) -> None:
    assert main(["hgw-emulator", "--listen", text]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("mape: error: listen: ")
    assert err.rstrip().endswith("[usage.invalid_arguments]")


def test_a_bad_listen_value_with_json_is_a_json_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hgw-emulator", "--listen", "nonsense", "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert (error["reason_code"], error["field"]) == ("usage.invalid_arguments", "listen")


def test_a_port_in_use_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["hgw-emulator", "--listen", f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert "cannot be listened on" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("host", "shown", "url"),
    [
        ("0.0.0.0", "0.0.0.0:8888", "http://127.0.0.1:8888/status"),
        ("::", "[::]:8888", "http://[::1]:8888/status"),
        ("192.0.2.1", "192.0.2.1:8888", "http://192.0.2.1:8888/status"),
        ("2001:db8::1", "[2001:db8::1]:8888", "http://[2001:db8::1]:8888/status"),
    ],
)
def test_start_line_says_where_it_listens_and_how_to_switch(
    host: str, shown: str, url: str
) -> None:
    line = start_line((host, 8888), "ON", as_json=False)
    assert "\n" not in line
    assert shown in line
    assert f"curl -X PUT --data ON {url}" in line
    assert json.loads(start_line((host, 8888), "ON", as_json=True)) == {
        "listen": shown,
        "status": "ON",
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_answering(proc: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the emulator exited with {proc.returncode}"
        try:
            if httpx.get(base + "/status", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail("the emulator did not answer within 20 s")


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_the_command_serves_until_terminated(extra: list[str]) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mapekit", "hgw-emulator", "--listen", f"127.0.0.1:{port}"]
    with subprocess.Popen(
        [*command, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            _wait_until_answering(proc, base)
            assert check_hgw(base + ENABLER_PATH)[0].state is HgwState.OFF
            assert httpx.put(base + "/status", content=b"ON").status_code == 204
            assert check_hgw(base + ENABLER_PATH)[0].state is HgwState.ON
            assert httpx.put(base + "/status", content=b"off").status_code == 204
            assert httpx.get(base + "/status").text.strip() == "OFF"
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
    lines = out.splitlines()
    assert len(lines) == 1
    if extra:
        assert json.loads(lines[0]) == {"listen": f"127.0.0.1:{port}", "status": "OFF"}
    else:
        assert f"127.0.0.1:{port}" in lines[0]
        assert "curl -X PUT" in lines[0]
