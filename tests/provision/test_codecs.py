"""Codecs of every provisioning reply: real shapes, hostile variants, fuzzing."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapekit.core.errors import MapeError
from mapekit.core.rule import IidFormat
from mapekit.provision import hb46pp, hgw, jpne, ocn
from mapekit.provision.errors import ProvisionError, ReplyError
from mapekit.provision.httpstatus import check_status
from mapekit.provision.jsonp import MAX_BODY, decode_json, decode_jsonp, valid_callback
from mapekit.provision.model import (
    BlankAnswer,
    Provider,
    RuleDelivery,
    SoftwireDelivery,
    Unsupported,
)
from tests.provision.samples import HB46PP_FULL, JPNE_FULL, OCN_FULL, USER_ID, jsonp

# --- JSONP --------------------------------------------------------------------------


def test_jsonp_accepts_the_plain_shapes() -> None:
    assert decode_jsonp(b'cb({"a": 1})', "t", "cb") == {"a": 1}
    assert decode_jsonp(b'  cb ( {"a": [1]} ) ;\n', "t", "cb") == {"a": [1]}
    assert decode_jsonp(b"x({})", "t", None) == {}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"a": 1}', "reply.not_jsonp"),
        (b'cb({"a": 1}); alert(1)', "reply.not_jsonp"),
        (b'evil({"a": 1})', "reply.bad_callback"),
        (b'cb({"a": 1)', "reply.not_json"),
        (b"cb(NaN)", "reply.not_json"),
        (b"cb(" + b"[" * 40 + b"]" * 40 + b")", "reply.too_deep"),
        (b"cb([" + b"1," * MAX_BODY + b"1])", "reply.too_large"),
        (b'cb("\xff")', "reply.not_json"),
    ],
)
def test_jsonp_hostile(body: bytes, code: str) -> None:
    with pytest.raises(ReplyError) as info:
        decode_jsonp(body, "t", "cb")
    assert info.value.reason_code == code


def test_depth_counting_ignores_brackets_in_strings() -> None:
    assert decode_json(json.dumps({"s": "[" * 100 + '\\"' + "{" * 100}).encode(), "t")


def test_callback_names() -> None:
    assert valid_callback("v6plus") and valid_callback("$_x1")
    for bad in ("", "1a", "a-b", "a(", "a" * 65, "alert(1);x"):
        assert not valid_callback(bad)


# --- HGW ----------------------------------------------------------------------------


def test_hgw_on_off() -> None:
    on = hgw.decode_check(
        jsonp("hgw", {"name": "jp.ne.enabler.ipv4.setting", "version": "1.2.0", "status": "ON"})
    )
    assert (on.state, on.version) == (hgw.HgwState.ON, "1.2.0")
    assert hgw.decode_check(jsonp("hgw", {"status": "OFF"})).state is hgw.HgwState.OFF
    with pytest.raises(ReplyError) as info:
        hgw.decode_check(jsonp("hgw", {"status": "MAYBE"}))
    assert info.value.field == "hgw.status"


# --- JPNE ---------------------------------------------------------------------------


def test_jpne_full_reply() -> None:
    result = jpne.decode_get_rules(jsonp("v6plus", JPNE_FULL))
    assert isinstance(result, RuleDelivery)
    assert (result.user_id, result.fixlen, len(result.rules)) == (USER_ID, 56, 8)
    rule = result.rules.bmr(int.from_bytes(bytes.fromhex("240b0010" + "3f6cd400" + "00" * 8)), 56)
    assert (str(rule.br), rule.psid_len, rule.iid, rule.fmr) == (
        "2404:9200:225:100::64", 8, IidFormat.LEGACY, True,
    )  # fmt: skip


def test_jpne_blank_reply_is_an_outcome_not_an_error() -> None:
    result = jpne.decode_get_rules(b"v6plus({})")
    assert isinstance(result, BlankAnswer) and result.reason_code == "rules.blank"


def _mutated(path: list[object], value: object) -> bytes:
    doc = copy.deepcopy(JPNE_FULL)
    target: object = doc
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    if value is KeyError:
        del target[path[-1]]  # type: ignore[attr-defined]
    else:
        target[path[-1]] = value  # type: ignore[index]
    return jsonp("v6plus", doc)


@pytest.mark.parametrize(
    ("path", "value", "code", "field"),
    [
        (["dmr"], KeyError, "reply.missing_field", "dmr"),
        (["dmr"], 5, "reply.wrong_type", "dmr"),
        (["dmr"], "106.72.0.1", "reply.bad_value", "dmr"),
        (["fmr"], KeyError, "reply.missing_field", "fmr"),
        (["fmr"], [], "reply.missing_field", "fmr"),
        (["fmr"], "x", "reply.wrong_type", "fmr"),
        (["ipv6_fixlen"], "56", "reply.wrong_type", "ipv6_fixlen"),
        (["id"], "has space", "reply.bad_value", "id"),
        (["fmr", 2, "ea_length"], 60, "reply.bad_value", "fmr[2].ea_length"),
        (["fmr", 2, "ea_length"], 40, "reply.invalid_rule", "fmr[2].ea_length"),
        (["fmr", 3, "psid_offset"], "4", "reply.wrong_type", "fmr[3].psid_offset"),
        (["fmr", 1, "ipv6"], "240b:11::1/32", "reply.invalid_rule", "fmr[1].ipv6"),
        (["fmr", 1, "ipv4"], "nonsense", "reply.invalid_rule", "fmr[1].ipv4"),
        (["fmr", 1, "ipv6"], "240b:10::/32", "reply.invalid_rule", "fmr.ipv6_prefix"),
        (["fmr", 0], [], "reply.wrong_type", "fmr[0]"),
    ],
)
def test_jpne_hostile_fields(path: list[object], value: object, code: str, field: str) -> None:
    with pytest.raises(ReplyError) as info:
        jpne.decode_get_rules(_mutated(path, value))
    assert (info.value.reason_code, info.value.field) == (code, field)
    assert field.split(".", maxsplit=1)[0] in info.value.message


def test_jpne_requests() -> None:
    code = "0123456789ABCDEF0123456789abcdef"
    path, query = jpne.get_rules_request(code, USER_ID)
    assert path == f"/{code.lower()}/get_rules"
    assert query == [("callback", "v6plus"), ("id", USER_ID)]
    path, query = jpne.acct_report_request(
        code, jpne.ReportAction.STOP, jpne.ReportReason.HGW_MAPE, None
    )
    assert path.endswith("/acct_report") and ("reason", "4") in query and ("action", "2") in query
    with pytest.raises(ProvisionError) as info:
        jpne.get_rules_request("../../etc/passwd", None)
    assert info.value.field == "vendor-code"
    assert jpne.decode_acct_report(b'rpt({"result": "ok"})') == {"result": "ok"}


# --- OCN ----------------------------------------------------------------------------


def test_ocn_reply_with_per_rule_br() -> None:
    result = ocn.decode_rules(json.dumps(OCN_FULL).encode())
    assert isinstance(result, RuleDelivery)
    rule = result.rules[0]
    assert (str(rule.ipv6_prefix), str(rule.br), rule.psid_len) == (
        "2400:4050:400::/38", "2001:380:a120::9", 6,
    )  # fmt: skip


def test_ocn_fixed_ipv4_rules_are_skipped_with_a_message() -> None:
    fixed = {**OCN_FULL["basicMapRules"][0], "hostName": "fixed.example"}  # type: ignore[index]
    other = {**fixed, "ipv6Prefix": "2400:4050::"}
    del other["hostName"]
    result = ocn.decode_rules(json.dumps({"basicMapRules": [fixed, other]}).encode())
    assert isinstance(result, RuleDelivery) and len(result.rules) == 1
    assert "fixed-IPv4" in result.notes[0]
    only_fixed = ocn.decode_rules(json.dumps({"basicMapRules": [fixed]}).encode())
    assert isinstance(only_fixed, Unsupported)
    assert isinstance(ocn.decode_rules(b'{"basicMapRules": []}'), BlankAnswer)


def test_ocn_hostile() -> None:
    bad = {**OCN_FULL["basicMapRules"][0], "eaBitLength": 30}  # type: ignore[index]
    with pytest.raises(ReplyError) as info:
        ocn.decode_rules(json.dumps({"basicMapRules": [bad]}).encode())
    assert (info.value.reason_code, info.value.field) == (
        "reply.invalid_rule", "basicMapRules[0].eaBitLength",
    )  # fmt: skip
    assert ocn.rules_query(0x2400_4050_05A7_F600 << 64, 56, "c") == [
        ("ipv6Prefix", "2400:4050:5a7:f600::"), ("ipv6PrefixLength", "56"), ("code", "c"),
    ]  # fmt: skip


# --- HB46PP -------------------------------------------------------------------------


def test_hb46pp_txt() -> None:
    d = hb46pp.parse_txt([[b"v=v6mig-1 url=https://prov.example/config t=b"]])
    assert (d.url, d.verify_tls) == ("https://prov.example/config", True)
    d = hb46pp.parse_txt([[b"v=v6mig-1 url=http://prov.exa", b"mple/config t=a"]])
    assert (d.url, d.verify_tls) == ("http://prov.example/config", False)


@pytest.mark.parametrize(
    ("records", "field"),
    [
        ([], "txt"),
        ([[b"v=v6mig-1 url=https://a/ t=b"], [b"v=v6mig-1 url=https://b/ t=b"]], "txt"),
        ([[b"v=v6mig-2 url=https://a/ t=b"]], "txt.v"),
        ([[b"v=v6mig-1 url=ftp://a/ t=b"]], "txt.url"),
        ([[b"v=v6mig-1 url=https://a/ t=c"]], "txt.t"),
        ([[b"v=v6mig-1 url=http://a/ t=b"]], "txt.t"),
    ],
)
def test_hb46pp_bad_txt(records: list[list[bytes]], field: str) -> None:
    with pytest.raises(ReplyError) as info:
        hb46pp.parse_txt(records)
    assert (info.value.reason_code, info.value.field) == ("dns.bad_record", field)


def test_hb46pp_config() -> None:
    result = hb46pp.decode_config(json.dumps(HB46PP_FULL).encode())
    assert isinstance(result, RuleDelivery)
    assert (result.ttl, result.token) == (86400, "ab" * 32)
    rule = result.rules[0]
    assert (rule.iid, rule.fmr, str(rule.br)) == (IidFormat.RFC, True, "2001:db8:ffff::1")
    legacy = {**HB46PP_FULL, "map_e": {**HB46PP_FULL["map_e"], "version": 0}}  # type: ignore[dict-item]
    result = hb46pp.decode_config(json.dumps(legacy).encode())
    assert isinstance(result, RuleDelivery) and result.rules[0].iid is IidFormat.LEGACY


def test_hb46pp_nothing_or_only_unsupported() -> None:
    blank = hb46pp.decode_config(b'{"order": [], "auth": "bad"}')
    assert isinstance(blank, BlankAnswer) and "authentication failed" in blank.detail
    only = hb46pp.decode_config(b'{"order": ["lw4o6", "map_t"], "lw4o6": {}}')
    assert isinstance(only, Unsupported) and only.offered == ("lw4o6", "map_t")
    assert "lw4o6" in only.detail


# the spec's example of a DS-Lite answer (the shape of its JSON), and an IPIP one
DSLITE = (b'{"enabler_name": "example", "ttl": 86400, "order": ["dslite", "map_e"],'
          b' "dslite": {"aftr": "gw.transix.example"}, "map_e": {"br": "2001:db8::1",'
          b' "rules": [{"ipv6": "2001:db8::/40", "ipv4": "192.0.2.0/24", "ea_length": 16,'
          b' "psid_offset": 6}]}}')  # fmt: skip
IPIP = (b'{"order": ["ipip"], "ipip": [{"ipv6_local": "2001:db8:12:3400:1:2:3:4",'
        b' "ipv6_remote": "2001:db8:ffff::2", "ipv4": "203.0.113.9"}]}')  # fmt: skip


def test_hb46pp_dslite_ipip_and_the_order() -> None:
    first = hb46pp.decode_config(DSLITE)
    assert isinstance(first, SoftwireDelivery) and first.mechanism == "dslite"
    assert first.remote == "gw.transix.example" and first.ttl == 86400
    assert first.order == ("dslite", "map_e")
    preferred = hb46pp.decode_config(DSLITE, prefer="map_e")  # the configuration's choice
    assert isinstance(preferred, RuleDelivery)
    ipip = hb46pp.decode_config(IPIP)
    assert isinstance(ipip, SoftwireDelivery) and ipip.mechanism == "ipip"
    assert (ipip.local, ipip.remote, ipip.ipv4) == (
        "2001:db8:12:3400:1:2:3:4", "2001:db8:ffff::2", "203.0.113.9",
    )  # fmt: skip
    literal = hb46pp.decode_config(b'{"order": ["dslite"], "dslite": {"aftr": "2001:DB8::1"}}')
    assert isinstance(literal, SoftwireDelivery) and literal.remote == "2001:db8::1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"order": ["dslite"], "dslite": {"aftr": "bad name!"}}', "dslite.aftr"),
        (b'{"order": ["dslite"], "dslite": {}}', "dslite.aftr"),
        (b'{"order": ["ipip"], "ipip": []}', "ipip"),
        (b'{"order": ["ipip"], "ipip": [{"ipv6_local": "x", "ipv6_remote": "2001:db8::1",'
         b' "ipv4": "203.0.113.9"}]}', "ipip[0]"),
    ],
)  # fmt: skip
def test_hb46pp_bad_softwires(body: bytes, field: str) -> None:
    with pytest.raises(MapeError) as info:
        hb46pp.decode_config(body)
    assert str(info.value.field).startswith(field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ttl": 604801}, "ttl"),
        ({"token": "AB" * 32}, "token"),
        ({"auth": "maybe"}, "auth"),
        ({"order": "map_e"}, "order"),
        ({"map_e": {"br": "2001:db8::1", "rules": []}}, "map_e.rules"),
        ({"map_e": {"rules": []}}, "map_e.br"),
        ({"map_e": {"br": "2001:db8::1", "version": 2, "rules": []}}, "map_e.version"),
    ],
)
def test_hb46pp_hostile(change: dict[str, object], field: str) -> None:
    with pytest.raises(ReplyError) as info:
        hb46pp.decode_config(json.dumps({**HB46PP_FULL, **change}).encode())
    assert info.value.field == field


def test_hb46pp_accepts_256_rules() -> None:
    rules = [
        {"ipv6": f"2001:db8:{i:x}00::/40", "ipv4": f"198.18.{i}.0/24", "ea_length": 16,
         "psid_offset": 6}
        for i in range(256)
    ]  # fmt: skip
    doc = {"order": ["map_e"], "map_e": {"br": "2001:db8:ffff::1", "rules": rules}}
    result = hb46pp.decode_config(json.dumps(doc).encode())
    assert isinstance(result, RuleDelivery) and len(result.rules) == 256


def test_hb46pp_request_query() -> None:
    who = hb46pp.ClientIdentity("0090fe-lab", "mapekit", "0_1_0")
    query = hb46pp.config_query(who, token="ab" * 32)
    assert ("capability", "map_e,dslite,ipip") in query and ("token", "ab" * 32) in query
    with pytest.raises(ProvisionError):
        hb46pp.ClientIdentity("xyz", "p", "1")
    with pytest.raises(ProvisionError):
        hb46pp.config_query(who, user="u")


# --- HTTP status --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "provider", "code"),
    [
        (403, b"", Provider.JPNE, "rules.forbidden"),
        (404, b"", Provider.HB46PP, "rules.forbidden"),
        (404, b"", Provider.JPNE, "rules.rejected"),
        (429, b"", Provider.OCN, "rules.rejected"),
        (503, b"", Provider.JPNE, "server.error"),
        (500, b"oops", Provider.JPNE, "server.error"),
        (302, b"", Provider.JPNE, "rules.rejected"),
    ],
)
def test_http_status(status: int, body: bytes, provider: Provider, code: str) -> None:
    with pytest.raises(ProvisionError) as info:
        check_status(status, body, provider, "get_rules")
    assert info.value.reason_code == code
    check_status(200, b"", provider, "x")


def test_empty_503_mentions_the_manufacturer_code() -> None:
    with pytest.raises(ProvisionError) as info:
        check_status(503, b"", Provider.JPNE, "get_rules")
    assert "manufacturer code" in info.value.message


# --- fuzzing: nothing but MapeError escapes -----------------------------------------

DECODERS = [
    hgw.decode_check,
    jpne.decode_get_rules,
    jpne.decode_acct_report,
    ocn.decode_rules,
    hb46pp.decode_config,
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=10), c, max_size=5),
    max_leaves=30,
)


def shaped(doc: dict[str, object]) -> st.SearchStrategy[bytes]:
    """Real documents with one field replaced by an arbitrary value."""
    keys = st.sampled_from(sorted(doc))
    return st.tuples(keys, json_values).map(lambda kv: json.dumps({**doc, kv[0]: kv[1]}).encode())


@given(
    st.binary(max_size=300)
    | json_values.map(lambda v: jsonp("v6plus", v))
    | json_values.map(lambda v: jsonp("hgw", v))
    | json_values.map(lambda v: json.dumps(v).encode())
    | shaped(JPNE_FULL).map(lambda b: b"v6plus(" + b + b")")
    | shaped(HB46PP_FULL)
    | shaped(OCN_FULL)
)
def test_fuzz_decoders(body: bytes) -> None:
    for decode in DECODERS:
        try:
            result = decode(body)
        except MapeError as exc:
            assert isinstance(exc, ReplyError) and exc.reason_code.split(".")[0] in (
                "reply", "rules", "dns",
            )  # fmt: skip
        else:
            assert result is not None


@given(st.lists(st.lists(st.binary(max_size=40), max_size=3), max_size=3))
def test_fuzz_txt(records: list[list[bytes]]) -> None:
    try:
        found = hb46pp.parse_txt(records)
    except ReplyError as exc:
        assert exc.reason_code == "dns.bad_record"
    else:
        assert found.url.startswith("http")


# --- encoders (what a rule server sends) round-trip through the decoders -------------


def test_encoders_round_trip() -> None:
    from mapekit.core.ruleset import RuleSet
    from mapekit.core.tables import builtin_rules
    from mapekit.provision.jsonp import encode_jsonp

    v6plus = builtin_rules().filter("v6plus")
    doc = jpne.rules_object(v6plus, "2404:9200:225:100::64", USER_ID, 56)
    result = jpne.decode_get_rules(encode_jsonp("v6plus", doc))
    assert isinstance(result, RuleDelivery)
    assert [r.ipv6_prefix for r in result.rules] == [r.ipv6_prefix for r in v6plus]
    assert isinstance(jpne.decode_get_rules(encode_jsonp("v6plus", {})), BlankAnswer)

    ocn_rules = RuleSet(list(builtin_rules().filter("ocn"))[:100])
    result = ocn.decode_rules(json.dumps(ocn.rules_object(ocn_rules)).encode())
    assert isinstance(result, RuleDelivery) and len(result.rules) == 100
    assert {str(r.br) for r in result.rules} == {"2001:380:a120::9"}

    lab = hb46pp.decode_config(
        json.dumps(
            hb46pp.config_object(
                v6plus, br="2001:db8::1", ttl=600, token="0" * 64, iid=IidFormat.RFC, mesh=True
            )
        ).encode()
    )
    assert isinstance(lab, RuleDelivery) and lab.ttl == 600 and lab.rules[0].iid is IidFormat.RFC
    nothing = hb46pp.config_object(
        None, br="", ttl=600, token="0" * 64, iid=IidFormat.RFC, mesh=False
    )
    assert isinstance(hb46pp.decode_config(json.dumps(nothing).encode()), BlankAnswer)


def test_encode_jsonp_refuses_unsafe_callbacks() -> None:
    from mapekit.provision.jsonp import encode_jsonp

    assert encode_jsonp("?", {}) == b"?({})"
    with pytest.raises(ValueError, match="unsafe"):
        encode_jsonp("alert(1);x", {})
    assert encode_jsonp("cb", {"s": "</script>"}) == b'cb({"s":"</script>"})'
