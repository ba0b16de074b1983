"""The pure parts of subscribers' mechanisms: value checks (tables and properties), what
must go together, what an HB46PP answer offers, the endpoint's tunnels, passwords, and
the update endpoint's credentials and address decisions."""

from __future__ import annotations

import base64
import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapekit.server import softwires as sw
from mapekit.server.passwords import check_password, hash_password, verify_password
from mapekit.server.service import Answer, Subscriber, Target
from mapekit.server.update import credentials, tunnel_address

PREFIX = int(ipaddress.IPv6Address("2001:db8:7:100::"))
IPIP = sw.IpipParams("2001:db8:7::1", "203.0.113.0/29", 7)


@pytest.mark.parametrize(
    ("text", "result"),
    [("203.0.113.9", "203.0.113.9/32"), ("203.0.113.9/32", "203.0.113.9/32"),
     ("203.0.113.8/29", "203.0.113.8/29"), (" 198.51.100.0/24 ", "198.51.100.0/24")],
)  # fmt: skip
def test_fixed_ipv4_accepted(text: str, result: str) -> None:
    assert sw.parse_ipv4(text) == result


@pytest.mark.parametrize(
    ("text", "why"),
    [("203.0.113.9/33", "203.0.113.9/33 is not an IPv4 prefix"),
     ("203.0.113.9/29", "has host bits set"), ("203.0.113.0/16", "host bits"),
     ("203.0.0.0/16", "too wide"), ("300.1.1.1", "not an IPv4 address or prefix"),
     ("224.0.0.1", "not unicast"), ("127.0.0.1", "not unicast"), ("0.0.0.0", "not unicast"),
     ("2001:db8::1", "not an IPv4"), ("", "not an IPv4")],
)  # fmt: skip
def test_fixed_ipv4_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        sw.parse_ipv4(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("::1234:5678:9abc:def0", 0x1234_5678_9ABC_DEF0),
     ("1234:5678:9abc:def0", 0x1234_5678_9ABC_DEF0), ("::7", 7), ("0:0:0:7", 7),
     ("::ffff:ffff:ffff:ffff", (1 << 64) - 1)],
)  # fmt: skip
def test_interface_ids(text: str, value: int) -> None:
    assert sw.parse_interface_id(text) == value


@pytest.mark.parametrize(
    ("text", "why"),
    [("::", "no interface id"), ("1::7", "above the lower 64"), ("7", "not an interface id"),
     ("1:2:3:4:5", "not an interface id"), ("::1%eth0", "not an interface id"),
     ("g::1", "not an interface id")],
)  # fmt: skip
def test_bad_interface_ids(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        sw.parse_interface_id(text)


@pytest.mark.parametrize(
    ("text", "result"),
    [("aftr.example.net", "aftr.example.net"), ("AFTR.Example.NET.", "aftr.example.net"),
     ("2001:DB8::1", "2001:db8::1"), ("dgw.xpass.jp", "dgw.xpass.jp")],
)  # fmt: skip
def test_aftr_accepted(text: str, result: str) -> None:
    assert sw.parse_aftr(text) == result


@pytest.mark.parametrize(
    ("text", "why"),
    [("192.0.2.1", "IPv4 address"), ("fe80::1", "not a unicast"), ("::1", "not a unicast"),
     ("ff02::2", "not a unicast"), ("::ffff:192.0.2.1", "not a unicast"),
     ("-aftr.net", "neither"), ("a..b", "neither"), ("a_b.net", "neither"), ("x" * 300, "neither"),
     ("2001:db8::1%eth0", "not an IPv6"), ("<script>", "neither")],
)  # fmt: skip
def test_aftr_refused(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        sw.parse_aftr(text)


@pytest.mark.parametrize(
    ("value", "result"),
    [("map_e", ("map_e",)), ("dslite, map_e", ("dslite", "map_e")),
     ("ipip dslite map_e", ("ipip", "dslite", "map_e")), (["ipip"], ("ipip",))],
)  # fmt: skip
def test_orders(value: str | list[str], result: tuple[str, ...]) -> None:
    assert sw.parse_order(value) == result


@pytest.mark.parametrize(
    ("value", "why"),
    [("", "empty"), ([], "empty"), ("lw4o6", "not one of"), ("map_e,map_e", "twice"),
     ("MAP_E", "not one of")],
)  # fmt: skip
def test_bad_orders(value: str | list[str], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        sw.parse_order(value)


@given(st.text(max_size=80))
def test_parsers_raise_only_value_errors(text: str) -> None:
    for parse in (sw.parse_ipv4, sw.parse_interface_id, sw.parse_aftr, sw.parse_ipv6,
                  sw.parse_order):  # fmt: skip
        try:
            parse(text)
        except ValueError as exc:
            assert str(exc) and len(str(exc)) < 200
        else:  # whatever passes is stored in its canonical form and parses again
            assert parse(text) == parse(text)


@given(st.integers(1, (1 << 64) - 1), st.integers(0, (1 << 56) - 1))
def test_local_address_is_subnet_zero_with_the_interface_id(iid: int, upper: int) -> None:
    prefix = (0x2 << 124) | (upper << 72)  # a /56 inside 2000::/3
    local = int(ipaddress.IPv6Address(sw.IpipParams("2001:db8::1", "192.0.2.1/32", iid)
                                      .local(prefix)))  # fmt: skip
    assert local >> 64 == prefix >> 64  # subnet 0 of the prefix
    assert local & ((1 << 64) - 1) == iid
    text = str(ipaddress.IPv6Address(iid))
    assert sw.parse_interface_id(text) == iid


def test_the_ipip_parameters_go_together() -> None:
    assert sw.ipip_params(None, None, None) is None
    with pytest.raises(sw.FieldProblem) as info:
        sw.ipip_params("2001:db8::1", None, 7)
    assert info.value.field == "ipip_ipv4" and "ipip_remote" in info.value.why
    with pytest.raises(sw.FieldProblem) as info:
        sw.ipip_params(None, None, 7)
    assert info.value.field == "ipip_remote"


@pytest.mark.parametrize(
    ("mechanisms", "has_rules", "field", "why"),
    [(sw.Mechanisms(("dslite",)), False, "aftr", "required when order has dslite"),
     (sw.Mechanisms(("map_e",)), False, "rules", "required when order has map_e"),
     (sw.Mechanisms(("ipip",)), True, "ipip_remote", "required when order has ipip"),
     (sw.Mechanisms(("map_e",), update_user="u"), True, "update_password",
      "required with update_user"),
     (sw.Mechanisms(("map_e",), password_set=True), True, "update_user",
      "required with update_password")],
)  # fmt: skip
def test_incomplete_mechanisms_name_the_field(
    mechanisms: sw.Mechanisms, has_rules: bool, field: str, why: str
) -> None:
    with pytest.raises(sw.FieldProblem) as info:
        sw.check_complete(mechanisms, has_rules)
    assert (info.value.field, info.value.why) == (field, why)
    assert str(info.value) == f"{field}: {why}"


def test_complete_mechanisms_pass() -> None:
    sw.check_complete(sw.Mechanisms(("ipip", "dslite"), "aftr.example.net", IPIP), False)
    sw.check_complete(sw.Mechanisms(("map_e",), aftr="prepared.example.net"), True)


def test_offered_follows_the_order_and_the_capability() -> None:
    m = sw.Mechanisms(("dslite", "map_e", "ipip"), "aftr.example.net", IPIP)
    assert sw.offered(m, True, None) == ["dslite", "map_e", "ipip"]
    assert sw.offered(m, False, None) == ["dslite", "ipip"]  # no rules: no map_e
    assert sw.offered(m, True, sw.parse_capability("map_e,ipip")) == ["map_e", "ipip"]
    assert sw.offered(m, True, sw.parse_capability("464xlat,lw4o6")) == []
    assert sw.offered(m, True, sw.parse_capability("")) == []
    assert sw.parse_capability(None) is None
    assert sw.parse_capability(" map_e , dslite") == frozenset({"map_e", "dslite"})


def test_tunnel_of_an_ipip_subscriber() -> None:
    m = sw.Mechanisms(("ipip",), ipip=IPIP)
    assert sw.tunnel(m, PREFIX) == sw.IpipTunnel(
        "203.0.113.0/29", "2001:db8:7:100::7", "2001:db8:7::1", None
    )
    moved = sw.Mechanisms(("ipip",), ipip=IPIP, ipip_current="2001:db8:7:1ff::7",
                          ipip_updated_at=0.0)  # fmt: skip
    assert sw.tunnel(moved, PREFIX) == sw.IpipTunnel(
        "203.0.113.0/29", "2001:db8:7:1ff::7", "2001:db8:7::1", "1970-01-01T00:00:00+00:00"
    )
    assert sw.tunnel(sw.Mechanisms(("map_e",), ipip=IPIP), PREFIX) is None  # prepared only


# --- passwords ----------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes() -> None:
    one, two = hash_password("correct horse"), hash_password("correct horse")
    assert one != two and one.startswith("scrypt$16384$8$1$") and "correct" not in one
    assert verify_password(one, "correct horse") and verify_password(two, "correct horse")
    assert not verify_password(one, "correct horsE")
    assert not verify_password(None, "correct horse")  # an unknown user
    assert not verify_password("scrypt$x$8$1$00$00", "correct horse")
    assert not verify_password("sha256$abc", "correct horse")
    assert not verify_password(one, "x" * 10_000)


@pytest.mark.parametrize(("password", "why"), [("short", "8 to 256"), ("x" * 257, "8 to 256"),
                                               ("tab\there!", "control")])  # fmt: skip
def test_password_rules_never_repeat_the_password(password: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as info:
        check_password(password)
    assert password not in str(info.value)


# --- the update endpoint's decisions ------------------------------------------------------


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("query", "header", "result"),
    [({"user": "alice", "pass": "p:w"}, None, ("alice", "p:w")),
     ({}, basic("alice:p:w"), ("alice", "p:w")),
     ({"user": "alice", "pass": "x"}, basic("bob:y"), ("alice", "x")),  # the query wins
     ({"user": "alice"}, basic("alice:p"), None), ({"pass": "p"}, None, None),
     ({}, None, None), ({}, "Bearer abc", None), ({}, "Basic !!!", None),
     ({}, basic("no colon"), None), ({}, basic(":p"), None), ({}, "Basic " + "A" * 2000, None),
     ({"user": "u" * 65, "pass": "p"}, None, None), ({"user": "u", "pass": "p" * 257}, None, None),
     ({}, "Basic " + base64.b64encode(b"\xff:x").decode(), None)],
)  # fmt: skip
def test_credentials_from_query_or_basic(
    query: dict[str, str], header: str | None, result: tuple[str, str] | None
) -> None:
    found = credentials(query, header)
    assert (None if found is None else (found.user, found.password)) == result
    if found is not None:
        assert found.password not in repr(found)


def subscriber(m: sw.Mechanisms) -> Subscriber:
    return Subscriber("s", PREFIX, 56, False, Target.ROUTER, None, "0" * 64, m)


@pytest.mark.parametrize(
    ("given", "client", "expect"),
    [("2001:db8:7:100::7", None, "2001:db8:7:100::7"),
     ("2001:DB8:7:1ff:0::8", None, "2001:db8:7:1ff::8"),
     (None, ipaddress.IPv6Address("2001:db8:7:155::99"), "2001:db8:7:155::99"),
     ("2001:db8:7:200::7", None, (400, "is not inside the subscriber's prefix")),
     (None, ipaddress.IPv6Address("2001:db8:9::1"), (400, "not inside")),
     (None, ipaddress.IPv4Address("192.0.2.1"), (400, "did not come over IPv6")),
     (None, None, (400, "did not come over IPv6")),
     ("192.0.2.1", None, (400, "not an IPv6 address")),
     ("fe80::1%eth0", None, (400, "not an IPv6 address")),
     ("<b>x</b>", None, (400, "not an IPv6 address"))],
)  # fmt: skip
def test_the_new_tunnel_address(
    given: str | None,
    client: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
    expect: str | tuple[int, str],
) -> None:
    result = tunnel_address(subscriber(sw.Mechanisms(("ipip",), ipip=IPIP)), given, client)
    if isinstance(expect, str):
        assert result == expect
        return
    assert isinstance(result, Answer) and result.status == expect[0]
    assert result.body.startswith(b"ERROR address: ") and expect[1] in result.body.decode()


def test_no_tunnel_no_update() -> None:
    result = tunnel_address(subscriber(sw.Mechanisms()), "2001:db8:7:100::7", None)
    assert isinstance(result, Answer) and result.status == 403


@settings(max_examples=200)
@given(st.text(max_size=60), st.dictionaries(st.sampled_from(["user", "pass", "x"]),
                                              st.text(max_size=30)))  # fmt: skip
def test_hostile_update_requests_get_an_answer(text: str, query: dict[str, str]) -> None:
    credentials(query, text)
    credentials({}, "Basic " + text)
    result = tunnel_address(subscriber(sw.Mechanisms(("ipip",), ipip=IPIP)), text, None)
    assert isinstance(result, str) or result.status == 400
