"""The provisioning client against hostile or broken servers: an overall deadline,
bounded decoding, refused redirects and duplicate keys, limits that fit real tables."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mapekit.cli.main import main
from mapekit.client.hgw import check_hgw
from mapekit.core.ruleset import RuleSet
from mapekit.core.tables import builtin_rules
from mapekit.provision import hb46pp, jpne, ocn
from mapekit.provision.content import decode_content
from mapekit.provision.errors import ReplyError
from mapekit.provision.hgw import HgwState
from mapekit.provision.jsonp import MAX_BODY, MAX_RULES, decode_json
from mapekit.provision.model import RuleDelivery
from tests.provision.hostile import gzip_bomb, nested_gzip_bomb, trickle_server
from tests.provision.samples import JPNE_FULL, jsonp
from tests.provision.servers import make_tls, serve_app
from tests.provision.test_drivers import CODE, V6PLUS_PREFIX, provision

FULL = jsonp("v6plus", JPNE_FULL)
ROOT = Path(__file__).resolve().parents[2]


def jpne_args(url: str, *extra: str) -> list[str]:
    return ["--provider", "jpne", "--wan-prefix", V6PLUS_PREFIX, "--url", url,
            "--vendor-code", CODE, "--no-hgw-check", *extra]  # fmt: skip


def error_of(doc: dict[str, object]) -> dict[str, object]:
    return doc["last_error"]  # type: ignore[return-value]


# --- deadlines ----------------------------------------------------------------------


def test_a_trickling_rule_server_is_given_up_at_the_deadline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + b"v" * 10000
    with trickle_server(reply, interval=0.2) as port:
        start = time.monotonic()
        code, doc = provision(
            capsys, tmp_path, *jpne_args(f"http://127.0.0.1:{port}", "--timeout", "2")
        )
        elapsed = time.monotonic() - start
    assert code == 13 and error_of(doc)["reason_code"] == "net.timeout"
    assert elapsed < 4, f"took {elapsed:.1f} s with --timeout 2"


def test_the_hgw_check_keeps_its_budget_against_a_trickling_peer() -> None:
    with trickle_server(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" + b"h" * 99) as port:
        start = time.monotonic()
        report, how = check_hgw(f"http://127.0.0.1:{port}/enabler.ipv4/check", budget=2.0)
        elapsed = time.monotonic() - start
    assert report.state is HgwState.NONE and "no answer" in how
    assert elapsed < 2.5, f"the 2 s HGW check took {elapsed:.1f} s"


# --- redirects ----------------------------------------------------------------------


def redirect_app(location: str, status: int) -> Starlette:
    async def anything(request: Request) -> Response:
        return RedirectResponse(location, status_code=status)

    return Starlette(routes=[Route("/{path:path}", anything)])


def rules_app() -> Starlette:
    async def rules(request: Request) -> Response:
        return Response(FULL, media_type="application/javascript")

    return Starlette(routes=[Route("/{path:path}", rules)])


def test_https_to_http_redirect_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    tls, ca = make_tls(tmp_path)
    with (
        serve_app(rules_app()) as plain,
        serve_app(
            redirect_app(f"{plain.replace('127.0.0.1', 'localhost')}/x", 302), "127.0.0.1", tls
        ) as secure,
    ):
        url = secure.replace("127.0.0.1", "localhost")
        code, doc = provision(capsys, tmp_path, *jpne_args(url, "--ca-file", ca))
    assert code == 13, doc
    error = error_of(doc)
    assert error["reason_code"] == "net.redirect_refused"
    assert "https to plain http" in str(error["message"])


def test_redirect_to_another_host_is_refused_for_jpne(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with serve_app(rules_app()) as other, serve_app(redirect_app(other + "/x", 307)) as first:
        code, doc = provision(capsys, tmp_path, *jpne_args(first))
    assert code == 13 and error_of(doc)["reason_code"] == "net.redirect_refused"
    assert "another host" in str(error_of(doc)["message"])


def test_same_host_redirect_is_followed_for_jpne(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    async def route(request: Request) -> Response:
        if request.url.path.startswith("/old"):
            return RedirectResponse("/new" + request.url.path[4:], status_code=301)
        return Response(FULL, media_type="application/javascript")

    with serve_app(Starlette(routes=[Route("/{path:path}", route)])) as url:
        code, doc = provision(capsys, tmp_path, *jpne_args(url + "/old"))
    assert code == 0, doc


def hb46pp_args(url: str) -> list[str]:
    return ["--provider", "hb46pp", "--wan-prefix", "2001:db8:12:3400::/56", "--url", url,
            "--no-hgw-check"]  # fmt: skip


@pytest.mark.parametrize("status", [301, 302, 303, 308])
def test_hb46pp_follows_only_307(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, status: int
) -> None:
    with serve_app(redirect_app("/elsewhere", status)) as url:
        code, doc = provision(capsys, tmp_path, *hb46pp_args(url + "/config"))
    assert code == 13 and error_of(doc)["reason_code"] == "net.redirect_refused"
    assert "307" in str(error_of(doc)["message"])


# --- decoding -----------------------------------------------------------------------


def encoded_app(body: bytes, encoding: str) -> Starlette:
    async def rules(request: Request) -> Response:
        assert request.headers.get("accept-encoding") == "identity"
        return Response(body, headers={"Content-Encoding": encoding})

    return Starlette(routes=[Route("/{path:path}", rules)])


def test_a_gzipped_reply_is_decoded(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with serve_app(encoded_app(gzip.compress(gzip.compress(FULL)), "gzip, gzip")) as url:
        code, doc = provision(capsys, tmp_path, *jpne_args(url))
    assert code == 0, doc


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress"])
def test_unknown_content_codings_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, encoding: str
) -> None:
    with serve_app(encoded_app(FULL, encoding)) as url:
        code, doc = provision(capsys, tmp_path, *jpne_args(url))
    assert code == 7 and error_of(doc)["reason_code"] == "reply.bad_encoding"


def test_bombs_are_cut_at_the_cap() -> None:
    bomb = gzip_bomb(64 << 20)
    with pytest.raises(ReplyError, match="more than") as info:
        decode_content(gzip.compress(bomb), "gzip, gzip", MAX_BODY)
    assert info.value.reason_code == "reply.too_large"
    raw = zlib.compress(FULL)
    assert decode_content(raw, "deflate", MAX_BODY) == FULL
    raw_deflate = zlib.compressobj(wbits=-15)
    data = raw_deflate.compress(FULL) + raw_deflate.flush()
    assert decode_content(data, "Deflate", MAX_BODY) == FULL
    with pytest.raises(ReplyError, match="truncated"):
        decode_content(gzip.compress(FULL)[:-12], "gzip", MAX_BODY)
    with pytest.raises(ReplyError, match="more than 4"):
        decode_content(FULL, "gzip, gzip, gzip, gzip, gzip", MAX_BODY)


@pytest.fixture(scope="module", params=["gzip, gzip", "gzip"])
def bomb_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """256 MiB of zeros, gzipped once or twice (``Content-Encoding: gzip, gzip``)."""
    encoding = str(request.param)
    body = nested_gzip_bomb(256 << 20) if "," in encoding else gzip_bomb(256 << 20)

    async def rules(request: Request) -> Response:
        return Response(body, headers={"Content-Encoding": encoding})

    with serve_app(Starlette(routes=[Route("/{path:path}", rules)])) as url:
        yield url


# Linux carries a process's high-water RSS across exec, so a child forked from this large
# pytest process would inherit its size: a small launcher process starts mape instead and
# reports the child's own peak from wait4.
LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
out = proc.stdout.read()
_, status, usage = os.wait4(proc.pid, 0)
sys.stderr.write(str(usage.ru_maxrss) + "\\n")
sys.stdout.buffer.write(out)
"""


def test_peak_memory_of_provision_against_gzip_bombs(bomb_server: str, tmp_path: Path) -> None:
    """``mape provision`` in its own process against a gzip bomb, nested
    (``Content-Encoding: gzip, gzip``) or single (256 MiB of zeros inside); peak RSS
    ≤ 64 MB."""
    argv = [sys.executable, "-m", "mapekit", "provision", "--once", "--json",
            "--state-dir", str(tmp_path), *jpne_args(bomb_server)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *argv], capture_output=True, env=env, check=True
    )
    peak_mb = int(done.stderr.decode().split()[-1]) / 1024  # kilobytes on Linux
    doc = json.loads(done.stdout)
    assert error_of(doc)["reason_code"] == "reply.too_large"
    print(f"peak RSS of mape provision against a 256 MiB gzip bomb: {peak_mb:.1f} MB")
    assert peak_mb <= 64, f"peak RSS {peak_mb:.1f} MB"


# --- duplicate keys -----------------------------------------------------------------


def test_duplicate_keys_are_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = json.dumps(JPNE_FULL)
    twice = text.replace('"dmr":', '"dmr": "2001:db8::1", "dmr":', 1)
    body = f"v6plus({twice})".encode()
    with pytest.raises(ReplyError) as info:
        jpne.decode_get_rules(body)
    assert info.value.reason_code == "reply.duplicate_key" and info.value.field == "dmr"
    with serve_app(encoded_app(body, "identity")) as url:
        code, doc = provision(capsys, tmp_path, *jpne_args(url))
    assert code == 7 and error_of(doc)["reason_code"] == "reply.duplicate_key"
    nested = b'{"basicMapRules": [{"a": 1, "a": 2}]}'
    with pytest.raises(ReplyError, match="appears twice"):
        decode_json(nested, "OCN rules")


# --- limits from the real tables ----------------------------------------------------


def tables() -> list[tuple[str, RuleSet]]:
    everything = builtin_rules()
    isps = sorted({r.isp for r in everything if r.isp})
    return [(isp, RuleSet(list(everything.filter(isp)))) for isp in isps] + [
        ("all", RuleSet(list(everything)))
    ]


@pytest.mark.parametrize(("name", "rules"), tables(), ids=[n for n, _ in tables()])
def test_replies_built_from_every_builtin_table_are_accepted(name: str, rules: RuleSet) -> None:
    br = str(next(r.br for r in rules if r.br))
    doc = jpne.rules_object(rules, br, "a" * 32, 56)
    pretty = f"v6plus({json.dumps(doc, indent=4)})".encode()
    result = jpne.decode_get_rules(pretty)
    assert isinstance(result, RuleDelivery) and len(result.rules) == len(rules)
    body = json.dumps(ocn.rules_object(rules), indent=4).encode()
    result = ocn.decode_rules(body)
    assert isinstance(result, RuleDelivery) and len(result.rules) == len(rules)
    config = hb46pp.config_object(rules, br=br, ttl=3600, token="0" * 64,
                                  iid=rules[0].iid, mesh=True)  # fmt: skip
    result = hb46pp.decode_config(json.dumps(config, indent=4).encode())
    assert isinstance(result, RuleDelivery) and len(result.rules) == len(rules)
    assert len(pretty) * 4 < MAX_BODY and len(rules) * 5 < MAX_RULES  # a wide margin


def test_the_whole_table_passes_through_the_client(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = RuleSet(list(builtin_rules()))
    body = jsonp("v6plus", jpne.rules_object(rules, "2404:9200:225:100::64", "a" * 32, 56))
    with serve_app(encoded_app(gzip.compress(body), "gzip")) as url:
        code, doc = provision(capsys, tmp_path, *jpne_args(url))
    assert code == 0, doc


def test_a_fifo_as_ca_file_is_refused_at_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fifo = tmp_path / "ca.pem"
    os.mkfifo(fifo)
    start = time.monotonic()
    code = main(["provision", "--once", "--json", "--state-dir", str(tmp_path),
                 *jpne_args("https://localhost:1", "--ca-file", str(fifo))])  # fmt: skip
    error = json.loads(capsys.readouterr().out)["last_error"]
    assert code == 3 and error["field"] == "ca-file" and "FIFO" in error["message"]
    assert time.monotonic() - start < 5
