"""Real loopback servers for driver tests: a scriptable rule server (JPNE, OCN, HB46PP and
the HGW check) on uvicorn, optionally over TLS with a throw-away CA, and a tiny UDP DNS
server that answers the HB46PP discovery TXT record.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from tests.provision.samples import HB46PP_FULL, JPNE_FULL, OCN_FULL, jsonp


@dataclass
class Script:
    """What the server answers; tests change it between requests."""

    jpne: str = "full"  # full|blank|403|503|timeout|malformed|wrong_types|foreign
    ocn: str = "full"  # full|fixed|blank|403
    hb46pp: str = "full"  # full|dslite|lw4o6|empty|404|redirect
    hgw: str = "off"  # on|off|garbage
    delay: float = 2.0  # for "timeout"
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)  # source address of each request


def _body(script: Script, kind: str) -> Response:
    mode = getattr(script, kind)
    if mode == "403":
        return Response(b"", 403)
    if mode == "404":
        return Response(b"", 404)
    if mode == "503":
        return Response(b"", 503)
    if kind == "jpne":
        doc: object = {
            "full": JPNE_FULL,
            "blank": {},
            "wrong_types": {**JPNE_FULL, "ipv6_fixlen": "56"},
            "foreign": {
                **JPNE_FULL,
                "fmr": [
                    {
                        "ipv6": "2001:db8::/32",
                        "ipv4": "198.18.0.0/16",
                        "psid_offset": 4,
                        "ea_length": 24,
                    }
                ],
            },
        }.get(mode, JPNE_FULL)
        if mode == "malformed":
            return Response(b'v6plus({"dmr": ', 200, media_type="application/javascript")
        return Response(jsonp("v6plus", doc), 200, media_type="application/javascript")
    if kind == "ocn":
        rules = OCN_FULL["basicMapRules"]
        fixed = [{**rules[0], "hostName": "fixed.example"}]  # type: ignore[index]
        doc = {"full": OCN_FULL, "fixed": {"basicMapRules": fixed}, "blank": {"basicMapRules": []}}[
            mode
        ]
        return Response(json.dumps(doc).encode(), 200, media_type="application/json")
    doc = {
        "full": HB46PP_FULL,
        "dslite": {"order": ["dslite"], "dslite": {"aftr": "2001:db8::1"}},
        "lw4o6": {"order": ["lw4o6"], "lw4o6": {}},
        "empty": {"order": [], "auth": "bad"},
    }[mode]
    return Response(json.dumps(doc).encode(), 200, media_type="application/json")


def make_app(script: Script) -> Starlette:
    async def record(request: Request, name: str) -> None:
        script.requests.append((name, dict(request.query_params)))
        script.clients.append(request.client.host if request.client else "")
        if getattr(script, name.split("_", maxsplit=1)[0], "") == "timeout":
            await asyncio.sleep(script.delay)

    async def get_rules(request: Request) -> Response:
        await record(request, "jpne_get_rules")
        return _body(script, "jpne")

    async def acct_report(request: Request) -> Response:
        await record(request, "jpne_acct_report")
        return Response(jsonp("rpt", {"result": "ok"}), 200)

    async def ocn(request: Request) -> Response:
        await record(request, "ocn")
        return _body(script, "ocn")

    async def hb46pp(request: Request) -> Response:
        await record(request, "hb46pp")
        if script.hb46pp == "redirect":
            script.hb46pp = "full"
            return RedirectResponse("/hb46pp/config?" + request.url.query, status_code=307)
        return _body(script, "hb46pp")

    async def hgw(request: Request) -> Response:
        await record(request, "hgw")
        if script.hgw == "garbage":
            return Response(b"<html>router login</html>", 200)
        status = "ON" if script.hgw == "on" else "OFF"
        doc = {"name": "jp.ne.enabler.ipv4.setting", "version": "1.2.0", "status": status}
        callback = request.query_params.get("callback", "hgw")
        return Response(jsonp(callback, doc), 200)

    return Starlette(
        routes=[
            Route("/{code}/get_rules", get_rules),
            Route("/{code}/acct_report", acct_report),
            Route("/ocn/", ocn),
            Route("/hb46pp/config", hb46pp),
            Route("/enabler.ipv4/check", hgw),
        ]
    )


@contextmanager
def serve(
    script: Script, host: str = "127.0.0.1", tls: tuple[str, str] | None = None
) -> Iterator[str]:
    """Run the scripted rule server on a free loopback port; yields its base URL."""
    with serve_app(make_app(script), host, tls) as url:
        yield url


@contextmanager
def serve_app(
    app: object, host: str = "127.0.0.1", tls: tuple[str, str] | None = None
) -> Iterator[str]:
    """Run any ASGI app with uvicorn on a free loopback port; yields its base URL."""
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=0,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"{scheme}://{shown}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def make_tls(directory: Path) -> tuple[tuple[str, str], str]:
    """A throw-away CA and a server certificate for localhost: ((cert, key), ca file)."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1", "::1")
    cert_file, key_file, ca_file = (directory / n for n in ("cert.pem", "key.pem", "ca.pem"))
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    return (str(cert_file), str(key_file)), str(ca_file)


Answerer = Callable[[dns.message.Message], "dns.message.Message | None"]


@contextmanager
def udp_dns(answer: Answerer, sock: socket.socket | None = None) -> Iterator[int]:
    """A UDP DNS server: ``answer`` turns each query into a reply (None: stay silent). On
    ``sock`` when given (bound by the caller), else on 127.0.0.1 and a free port; yields the
    port, and stops and closes the socket on leaving."""
    if sock is None:
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
            except OSError:
                return
            reply = answer(dns.message.from_wire(data))
            if reply is not None:
                sock.sendto(reply.to_wire(), peer)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()


def dns_server(txt: list[bytes] | None, rcode: int = dns.rcode.NOERROR) -> ContextManager[int]:
    """A UDP DNS server on 127.0.0.1 answering ``4over6.info TXT``; yields its port."""

    def answer(query: dns.message.Message) -> dns.message.Message:
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.AA
        reply.set_rcode(rcode)
        question = query.question[0]
        if txt is not None and rcode == dns.rcode.NOERROR:
            text = " ".join('"' + part.decode() + '"' for part in txt)
            reply.answer.append(
                dns.rrset.from_text(question.name, 60, dns.rdataclass.IN, "TXT", text)
            )
        return reply

    return udp_dns(answer)


def main() -> None:
    """``python -m tests.provision.servers HOST PORTFILE LOGFILE``: serve until killed,
    writing the port to PORTFILE and one JSON line per request (name, query, client)."""
    import sys

    host, port_file, log_file = sys.argv[1:4]
    script = Script()
    with serve(script, host=host) as url:
        Path(port_file).write_text(url.rsplit(":", 1)[1])
        seen = 0
        while True:
            time.sleep(0.05)
            if len(script.requests) > seen:
                with open(log_file, "a") as log:
                    for (name, query), client in zip(
                        script.requests[seen:], script.clients[seen:], strict=False
                    ):
                        log.write(json.dumps([name, query, client]) + "\n")
                seen = len(script.requests)


if __name__ == "__main__":
    main()
