"""The IPIP update endpoint (``GET /update``): in process for every answer, and against the
real server (uvicorn on loopback, as ``mape server serve`` runs it) called by the CE's own
update-URL code with Basic authentication and with the credentials in the URL. The
password appears in no answer, log line or audit entry."""

from __future__ import annotations

import base64
import ipaddress
import logging
import warnings
from collections.abc import Iterator

import pytest

from mapekit.client.http import HttpSettings
from mapekit.client.update import UpdateUrl, call_update
from mapekit.core.errors import MapeError
from mapekit.server.app import LOOPBACK, ServerConfig, build_app
from mapekit.server.schemas import MechanismsIn, parse_model
from mapekit.server.store import Store
from tests.server.conftest import insert_subscriber_row
from tests.server.serving import serve_rule_server

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "pa55:w&rd=/? é+%"  # what URLs and Basic authentication must carry intact
IPIP = {"prefix": "2001:db8:7:100::/56", "target": "router", "order": ["ipip"],
        "ipip_remote": "2001:db8:7::1", "ipip_ipv4": "203.0.113.9", "ipip_interface_id": "::7",
        "update_user": "alice", "update_password": PASSWORD, "id": "ip"}  # fmt: skip
DSLITE = {"prefix": "2001:db8:8:100::/56", "target": "router", "order": ["dslite"],
          "aftr": "aftr.example.net", "update_user": "bob", "update_password": "bob-password",
          "id": "ds"}  # fmt: skip
CE = "2001:db8:7:100::7"


@pytest.fixture
def lines(store: Store) -> Store:
    store.add_subscribers([IPIP, DSLITE], "t")
    return store


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def client(store: Store, address: str = "2001:db8:7:100::7", **config: object) -> TestClient:
    settings = ServerConfig(**{"rate": 0, "auth_limit": False, **config})  # type: ignore[arg-type]
    return TestClient(build_app(store, settings), client=(address, 40000))


def current(store: Store) -> str | None:
    return store.subscriber(sub_id="ip").mechanisms.ipip_current


def everything_logged(store: Store, caplog: pytest.LogCaptureFixture) -> str:
    audit = "\n".join(f"{e.actor} {e.field} {e.old} {e.new}" for e in store.audit(1000))
    return caplog.text + audit + repr(store.subscriber(sub_id="ip"))


def test_basic_authentication_and_the_answer(lines: Store) -> None:
    c = client(lines)
    reply = c.get("/update", params={"address": "2001:db8:7:1ff::7"},
                  headers=basic("alice", PASSWORD))  # fmt: skip
    assert reply.status_code == 200 and reply.text == "OK 2001:db8:7:1ff::7\n"
    assert reply.headers["content-type"].startswith("text/plain")
    sub = lines.subscriber(sub_id="ip")
    assert sub.mechanisms.ipip_current == "2001:db8:7:1ff::7"
    assert sub.mechanisms.ipip_updated_at is not None
    entry = lines.audit(1)[0]
    assert (entry.actor, entry.entity_id, entry.field, entry.old, entry.new) == (
        "update:alice", "ip", "ipip_local", None, "2001:db8:7:1ff::7")  # fmt: skip
    again = c.get("/update", params={"address": "2001:db8:7:1ff::7"},
                  headers=basic("alice", PASSWORD))  # fmt: skip
    assert again.text == "OK 2001:db8:7:1ff::7\n" and lines.audit(1)[0] == entry  # no change
    metrics = c.get("/metrics").text
    assert 'mapekit_requests_total{endpoint="update",outcome="updated"} 1.0' in metrics
    assert 'mapekit_requests_total{endpoint="update",outcome="unchanged"} 1.0' in metrics


def test_query_credentials_and_the_source_address(lines: Store) -> None:
    reply = client(lines, "2001:db8:7:100:a:b:c:d").get(
        "/update", params={"user": "alice", "pass": PASSWORD}
    )
    assert reply.status_code == 200 and reply.text == "OK 2001:db8:7:100:a:b:c:d\n"
    assert current(lines) == "2001:db8:7:100:a:b:c:d"


@pytest.mark.parametrize(
    ("params", "headers"),
    [({}, {}), ({"user": "alice", "pass": "wrong-password"}, {}),
     ({}, basic("alice", "wrong-password")), ({}, basic("nobody", PASSWORD)),
     ({"user": "alice"}, basic("alice", PASSWORD)),  # half in the query: the header is not read
     ({}, {"Authorization": "Bearer x"}), ({}, {"Authorization": "Basic %%%"}),
     ({"user": "", "pass": ""}, {}), ({"user": "alice", "pass": PASSWORD * 30}, {})],
)  # fmt: skip
def test_bad_credentials_get_401_with_a_challenge(
    lines: Store, params: dict[str, str], headers: dict[str, str]
) -> None:
    reply = client(lines).get("/update", params={**params, "address": CE}, headers=headers)
    assert reply.status_code == 401 and reply.headers["www-authenticate"].startswith("Basic ")
    assert reply.text == "ERROR credentials: missing or wrong\n"
    assert current(lines) is None


@pytest.mark.parametrize(
    ("address", "peer", "status", "words"),
    [("2001:db8:7:200::7", "2001:db8:7:100::7", 400, "not inside the subscriber's prefix"),
     (None, "2001:db8:9::1", 400, "2001:db8:9::1 is not inside the subscriber's prefix"),
     (None, "192.0.2.1", 400, "did not come over IPv6"),
     ("not-an-address", "2001:db8:7:100::7", 400, "is not an IPv6 address"),
     ("203.0.113.9", "2001:db8:7:100::7", 400, "is not an IPv6 address")],
)  # fmt: skip
def test_addresses_outside_the_prefix_are_refused(
    lines: Store, address: str | None, peer: str, status: int, words: str
) -> None:
    params = {"user": "alice", "pass": PASSWORD} | ({} if address is None else {"address": address})
    reply = client(lines, peer).get("/update", params=params)
    assert reply.status_code == status and reply.text.startswith("ERROR address: ")
    assert words in reply.text and current(lines) is None


def test_a_subscriber_without_ipip_cannot_update(lines: Store) -> None:
    reply = client(lines).get("/update", params={"address": "2001:db8:8:100::1"},
                              headers=basic("bob", "bob-password"))  # fmt: skip
    assert reply.status_code == 403
    assert reply.text == "ERROR ipip: this subscriber has no IPIP tunnel\n"


def test_guessing_is_bounded_per_client_and_per_user(lines: Store) -> None:
    app = build_app(lines, ServerConfig(rate=0))  # the failed-authentication limit is on
    guesser = TestClient(app, client=("2001:db8:aaaa::1", 1))
    codes = [guesser.get("/update", headers=basic("alice", f"guess-{i}")).status_code
             for i in range(12)]  # fmt: skip
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    busy = guesser.get("/update", params={"address": CE}, headers=basic("bob", "bob-password"))
    assert busy.status_code == 429 and busy.headers["retry-after"] == "6"  # even the right one
    elsewhere = TestClient(app, client=("2001:db8:bbbb::1", 1))
    refused = elsewhere.get("/update", params={"address": CE}, headers=basic("alice", PASSWORD))
    assert refused.status_code == 429  # alice's bucket is empty too, whoever asks
    assert current(lines) is None
    other_user = elsewhere.get("/update", params={"address": "2001:db8:8:100::1"},
                               headers=basic("bob", "bob-password"))  # fmt: skip
    assert other_user.status_code == 403  # past authentication (bob has no IPIP tunnel)


def test_guessing_from_many_prefixes_is_bounded_per_user(lines: Store) -> None:
    app = build_app(lines, ServerConfig(rate=0))
    clients = [TestClient(app, client=(f"2001:db8:{i:x}::1", 1)) for i in range(11)]
    codes = [c.get("/update", headers=basic("alice", f"guess-{i}")).status_code
             for i, c in enumerate(clients)]  # fmt: skip
    assert codes[:10] == [401] * 10 and codes[10] == 429


def test_a_bad_proxy_header_is_refused(lines: Store) -> None:
    c = client(lines, "::1", client_header="X-Real-IP", trusted_proxies=LOOPBACK)
    reply = c.get("/update", headers={**basic("alice", PASSWORD), "X-Real-IP": "a, b"})
    assert reply.status_code == 400
    good = c.get("/update", headers={**basic("alice", PASSWORD), "X-Real-IP": CE})
    assert good.status_code == 200 and good.text == f"OK {CE}\n"


# --- the CE's update-URL code against the real server --------------------------------------


@pytest.fixture
def served(lines: Store) -> Iterator[tuple[Store, int]]:
    with serve_rule_server(lines, ServerConfig(rate=0)) as port:
        yield lines, port


@pytest.mark.parametrize(
    "template",
    ["http://127.0.0.1:{port}/update?address={{address}}",
     "http://127.0.0.1:{port}/update?user={{user}}&pass={{password}}&address={{address}}"],
)  # fmt: skip
def test_the_ce_calls_the_server(
    served: tuple[Store, int], template: str, caplog: pytest.LogCaptureFixture
) -> None:
    store, port = served
    caplog.set_level(logging.DEBUG)
    update = UpdateUrl(template.format(port=port), "alice", PASSWORD)
    answer = call_update(update, "2001:db8:7:1ff::7", "2001:db8:7:100::/56", HttpSettings())
    assert answer.ok and str(answer) == "HTTP 200 OK 2001:db8:7:1ff::7"
    assert current(store) == "2001:db8:7:1ff::7"
    assert store.audit(1)[0].actor == "update:alice"
    (tunnel,) = store.ipip_tunnels()
    assert (tunnel.local, tunnel.ipv4, tunnel.remote) == (
        "2001:db8:7:1ff::7", "203.0.113.9/32", "2001:db8:7::1")  # fmt: skip
    wrong = UpdateUrl(update.template, "alice", "not-the-password")
    refused = call_update(wrong, CE, "2001:db8:7:100::/56", HttpSettings())
    assert not refused.ok and refused.status == 401
    error = refused.refusal()
    assert error.reason_code == "update.refused" and "HTTP 401 ERROR credentials" in error.message
    assert "not-the-password" not in error.message and "not-the-password" not in refused.url
    outside = call_update(update, "2001:db8:9::7", "2001:db8:7:100::/56", HttpSettings())
    assert str(outside).startswith("HTTP 400 ERROR address: 2001:db8:9::7 is not inside")
    assert PASSWORD not in str(outside) + outside.url
    logged = everything_logged(store, caplog)
    assert "update" in caplog.text  # the access log was captured
    assert PASSWORD not in logged and "pa55" not in logged and "not-the-password" not in logged


def test_without_an_address_the_source_counts(store: Store) -> None:
    """Served on [::1] with the prefix ::/64, so the request's real source lies inside."""
    insert_subscriber_row(store, "::/64", "router", "v6plus", "lo")
    fields = {key: IPIP[key] for key in IPIP if key not in ("prefix", "target", "id")}
    changes = parse_model(MechanismsIn, fields)
    store.set_mechanisms(changes, "t", sub_id="lo")
    with serve_rule_server(store, ServerConfig(rate=0), host="::1") as port:
        update = UpdateUrl(f"http://[::1]:{port}/update", "alice", PASSWORD)
        # the CE sends from its tunnel address (here ::1, the only one loopback has)
        assert str(call_update(update, "::1", "::/64", HttpSettings())) == "HTTP 200 OK ::1"
        with pytest.raises(MapeError) as info:  # not an address of this host: no way to send
            call_update(update, "::7", "::/64", HttpSettings())
        assert "Cannot assign requested address" in info.value.message
    assert store.subscriber(sub_id="lo").mechanisms.ipip_current == "::1"


def test_the_ce_sends_from_its_tunnel_address_only_without_address_in_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mapekit.client.update as client_update

    seen: list[str | None] = []

    def make_client(http: HttpSettings) -> object:
        seen.append(http.source_address)
        raise MapeError("net.unreachable", "stop here")

    monkeypatch.setattr(client_update, "make_client", make_client)
    for template, source, expected in (
        ("https://u.example/update", None, "2001:db8::7"),
        ("https://u.example/update?address={address}", None, None),
        ("https://u.example/update", "2001:db8::1", "2001:db8::1"),
    ):
        with pytest.raises(MapeError):
            call_update(UpdateUrl(template, "u", "p"), "2001:db8::7", "2001:db8::/56",
                        HttpSettings(source_address=source))  # fmt: skip
        assert seen[-1] == expected


# --- renumbered lines (mape server serve --update-moves-prefix) ---------------------------


def test_a_renumbered_line_moves_its_prefix_when_allowed(lines: Store) -> None:
    strict = client(lines).get("/update", params={"address": "2001:db8:7:300::7"},
                               headers=basic("alice", PASSWORD))  # fmt: skip
    assert strict.status_code == 400 and "not inside the subscriber's prefix" in strict.text
    c = client(lines, update_moves_prefix=True)
    reply = c.get("/update", params={"address": "2001:db8:7:300::7"},
                  headers=basic("alice", PASSWORD))  # fmt: skip
    assert reply.status_code == 200
    assert reply.text == "OK 2001:db8:7:300::7\nprefix moved from 2001:db8:7:100::/56\n"
    sub = lines.subscriber(sub_id="ip")
    assert sub.prefix_text == "2001:db8:7:300::/56"
    assert lines.subscriber_by_address(int(ipaddress.IPv6Address("2001:db8:7:3ff::1"))) == sub
    assert lines.subscriber_by_address(int(ipaddress.IPv6Address("2001:db8:7:100::1"))) is None
    changes = {(e.field, e.old, e.new) for e in lines.audit(5) if e.actor == "update:alice"}
    assert ("prefix", "2001:db8:7:100::/56", "2001:db8:7:300::/56") in changes
    assert ("ipip_local", None, "2001:db8:7:300::7") in changes
    (tunnel,) = lines.ipip_tunnels()
    assert tunnel.local == "2001:db8:7:300::7"
    assert c.get("/config").status_code == 403  # the old prefix is no subscriber's any more
    config = client(lines, "2001:db8:7:300::7").get("/config")  # found at the new prefix
    assert config.json()["ipip"][0]["ipv6_local"] == "2001:db8:7:300::7"
    metrics = c.get("/metrics").text
    assert 'mapekit_requests_total{endpoint="update",outcome="moved"} 1.0' in metrics


@pytest.mark.parametrize(
    ("address", "status", "words"),
    [("2001:db8:8:100::7", 409, "2001:db8:8:100::/56 belongs to another subscriber"),
     ("2001:db8:7:300:e4ac:34ff:fefc:1697", 400, "does not end in its interface id ::7"),
     ("2001:db8:8:1ff::7", 409, "belongs to another subscriber"),
     ("fd00::7", 400, "fd00::/56 is not global unicast")],
)  # fmt: skip
def test_a_prefix_does_not_move_onto_another_line(
    lines: Store, address: str, status: int, words: str
) -> None:
    reply = client(lines, update_moves_prefix=True).get(
        "/update", params={"address": address}, headers=basic("alice", PASSWORD))  # fmt: skip
    assert reply.status_code == status and reply.text.startswith("ERROR address: ")
    assert words in reply.text and "ds" not in reply.text.split()  # no other subscriber's id
    assert lines.subscriber(sub_id="ip").prefix_text == "2001:db8:7:100::/56"
    assert current(lines) is None


def test_a_prefix_with_a_rule_set_moves_only_where_it_fits(store: Store) -> None:
    store.add_subscribers([{**IPIP, "prefix": "240b:10:1:100::/56", "rules": "v6plus"}], "t")
    c = client(store, update_moves_prefix=True)
    outside = c.get("/update", params={"address": "2001:db8:1:100::7"},
                    headers=basic("alice", PASSWORD))  # fmt: skip
    assert outside.status_code == 400 and "does not fit the subscriber's rule set" in outside.text
    inside = c.get("/update", params={"address": "240b:10:2:200::7"},
                   headers=basic("alice", PASSWORD))  # fmt: skip
    assert inside.status_code == 200 and "prefix moved" in inside.text
    assert store.subscriber(sub_id="ip").prefix_text == "240b:10:2:200::/56"


def test_the_workers_learn_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from mapekit.server.asgi import config_from_env

    assert config_from_env()[1].update_moves_prefix is False
    monkeypatch.setenv("MAPEKIT_SERVER_UPDATE_MOVES_PREFIX", "1")
    assert config_from_env()[1].update_moves_prefix is True
