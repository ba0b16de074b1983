"""Who the client is, on a real server over loopback: every spoofing path of the issue.

The subscriber (the victim) owns 240b:10:3f6c:d400::/56; every request comes from
127.0.0.1, which is no subscriber. A spoof that worked would return the victim's rules
and id, its HB46PP token, or store a report under its id.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import httpx
import pytest

from mapekit.server.app import ServerConfig
from mapekit.server.service import Target
from mapekit.server.store import Store
from tests.server.conftest import HGW_CODE, ROUTER_CODE
from tests.server.serving import serve_rule_server

VICTIM = "240b:10:3f6c:d400:6a:483f:6c00:d400"
VICTIM_ID = "v" * 32
STRANGER = "2001:db8:ffff::1"
SPOOFS = [
    {"X-Forwarded-For": VICTIM},
    {"X-Forwarded-For": f"{VICTIM}, 127.0.0.1"},
    {"Forwarded": f'for="[{VICTIM}]"'},
    {"X-Real-IP": VICTIM},
    {"X-Client-Address": VICTIM},
]


@pytest.fixture
def victim(store: Store) -> Store:
    store.add_subscribers(
        [{"prefix": "240b:10:3f6c:d400::/56", "target": "router", "rules": "v6plus",
          "id": VICTIM_ID}], "t",
    )  # fmt: skip
    return store


def get(port: int, path: str, headers: dict[str, str], **params: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", params=params, headers=headers)


def assert_not_the_victim(
    port: int, headers: dict[str, str], store: Store, seen: str = "127.0.0.1"
) -> None:
    rules = get(port, f"/{ROUTER_CODE}/get_rules", headers, callback="cb")
    assert rules.status_code == 403 and VICTIM_ID.encode() not in rules.content, headers
    config = get(port, "/config", headers)
    assert config.status_code == 403 and b"token" not in config.content, headers
    report = get(port, f"/{ROUTER_CODE}/acct_report", headers, action="1", reason="0")
    assert report.status_code == 200 and b"ignored" in report.content
    stored = store.reports(1)[0]
    assert stored["subscriber_id"] is None and stored["client"] == seen


@pytest.fixture
def configured(victim: Store) -> Iterator[tuple[int, Store]]:
    """The issue's command: X-Real-IP believed only from 192.0.2.0/24."""
    config = ServerConfig(client_header="X-Real-IP", rate=0, access_log=False,
                          trusted_proxies=[ipaddress.ip_network("192.0.2.0/24")])  # fmt: skip
    with serve_rule_server(victim, config) as port:
        yield port, victim


@pytest.mark.parametrize("headers", SPOOFS, ids=[next(iter(h)) for h in SPOOFS])
def test_headers_from_an_untrusted_loopback_peer_are_ignored(
    configured: tuple[int, Store], headers: dict[str, str]
) -> None:
    port, store = configured
    assert_not_the_victim(port, headers, store)


@pytest.mark.parametrize("headers", SPOOFS[:3], ids=["XFF", "XFF-list", "Forwarded"])
def test_no_header_configured_means_the_peer_counts(victim: Store, headers: dict[str, str]) -> None:
    with serve_rule_server(victim, ServerConfig(rate=0, access_log=False)) as port:
        assert_not_the_victim(port, headers, victim)


@pytest.fixture
def same_host_proxy(victim: Store) -> Iterator[tuple[int, Store]]:
    """A proxy on this host (127.0.0.1, trusted) that sets X-Real-IP to the client it saw."""
    config = ServerConfig(client_header="X-Real-IP", rate=0, access_log=False,
                          trusted_proxies=[ipaddress.ip_network("127.0.0.1/32")])  # fmt: skip
    with serve_rule_server(victim, config) as port:
        yield port, victim


def test_a_same_host_proxy_passing_xff_through_is_not_beaten(
    same_host_proxy: tuple[int, Store],
) -> None:
    port, store = same_host_proxy
    for passed_through in SPOOFS[:3]:
        assert_not_the_victim(port, {"X-Real-IP": STRANGER, **passed_through}, store, STRANGER)
    store.set_target(Target.ROUTER, "t", sub_id=VICTIM_ID)
    honest = get(port, f"/{ROUTER_CODE}/get_rules", {"X-Real-IP": VICTIM}, callback="cb")
    assert honest.status_code == 200 and VICTIM_ID.encode() in honest.content  # the control


@pytest.mark.parametrize(
    "value", [f"{VICTIM}, {STRANGER}", f"{VICTIM}%eth0", "[::1]:80", "", "victim"]
)
def test_a_malformed_header_from_the_proxy_is_refused(
    same_host_proxy: tuple[int, Store], value: str
) -> None:
    port, _ = same_host_proxy
    reply = get(port, f"/{HGW_CODE}/get_rules", {"X-Real-IP": value}, callback="cb")
    assert reply.status_code == 400 and VICTIM_ID.encode() not in reply.content


def test_a_missing_header_from_the_proxy_is_refused(same_host_proxy: tuple[int, Store]) -> None:
    port, _ = same_host_proxy
    assert get(port, f"/{HGW_CODE}/get_rules", {}, callback="cb").status_code == 400


def test_serve_needs_trusted_proxies_for_a_header(capsys: pytest.CaptureFixture[str]) -> None:
    from mapekit.cli.main import main

    code = main(["server", "--db", "sqlite:////nonexistent/x.db", "--json", "serve",
                 "--client-address-header", "X-Real-IP"])  # fmt: skip
    assert code == 2 and "trusted-proxy" in capsys.readouterr().out
