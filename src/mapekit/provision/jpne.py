"""The JPNE-style rule API used by v6plus and BIGLOBE (docs/design.md §3.2).

``GET <base>/<code>/get_rules?callback=v6plus[&id=<id>]`` → JSONP
``v6plus({"dmr": BR, "id": user id, "ipv6_fixlen": 56, "fmr": [{"ipv6": "p/len",
"ipv4": "p/len", "psid_offset": a, "ea_length": o}, …]})``; a blank ``v6plus({})`` means
no rules for this requester. ``GET <base>/<code>/acct_report?callback=rpt&action=1|2&
reason=0-4[&id=<id>]`` → ``rpt({...})``.
"""

from __future__ import annotations

import enum
import re

from mapekit.core.addr import parse_ipv4_network, parse_ipv6_address, parse_ipv6_network
from mapekit.core.errors import MapeError
from mapekit.core.rule import IidFormat, MappingRule
from mapekit.core.ruleset import RuleSet
from mapekit.provision.errors import ProvisionError, ReplyError
from mapekit.provision.fields import as_list, as_object, get_int, get_str, remote
from mapekit.provision.jsonp import MAX_RULES, decode_jsonp
from mapekit.provision.model import BlankAnswer, Provider, RuleDelivery

RULES_CALLBACK = "v6plus"
REPORT_CALLBACK = "rpt"
_CODE = re.compile(r"[0-9a-fA-F]{32}")
_USER_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_WIRE_NAMES = {"ea_len": "ea_length", "ipv6_prefix": "ipv6", "ipv4_prefix": "ipv4"}


class ReportAction(enum.IntEnum):
    START = 1
    STOP = 2


class ReportReason(enum.IntEnum):
    NORMAL = 0
    MANUAL = 1
    ADDRESS_CHANGE = 2
    RULE_MISMATCH = 3
    HGW_MAPE = 4


def check_vendor_code(code: str) -> str:
    """A manufacturer code: exactly 32 hex digits (configuration, never a secret)."""
    if not _CODE.fullmatch(code):
        raise ProvisionError(
            "input.value_range",
            f"vendor-code: {code!r:.40} is not 32 hexadecimal digits",
            field="vendor-code",
        )
    return code.lower()


def get_rules_request(code: str, user_id: str | None) -> tuple[str, list[tuple[str, str]]]:
    """Path and query of a get_rules request."""
    query = [("callback", RULES_CALLBACK)]
    if user_id:
        query.append(("id", user_id))
    return f"/{check_vendor_code(code)}/get_rules", query


def acct_report_request(
    code: str, action: ReportAction, reason: ReportReason, user_id: str | None
) -> tuple[str, list[tuple[str, str]]]:
    query = [
        ("callback", REPORT_CALLBACK),
        ("action", str(int(action))),
        ("reason", str(int(reason))),
    ]
    if user_id:
        query.append(("id", user_id))
    return f"/{check_vendor_code(code)}/acct_report", query


def decode_get_rules(
    body: bytes, *, isp: str | None = "v6plus", iid: IidFormat = IidFormat.LEGACY
) -> RuleDelivery | BlankAnswer:
    """A get_rules reply: full rules, or the blank ``v6plus({})``."""
    doc = as_object(decode_jsonp(body, "get_rules", RULES_CALLBACK), "reply")
    if not doc or set(doc) <= {"id"}:
        user_id = doc.get("id")
        return BlankAnswer(
            Provider.JPNE,
            "rules.blank",
            "get_rules answered v6plus({}): no rules for this router",
            user_id if isinstance(user_id, str) and _USER_ID.fullmatch(user_id) else None,
        )
    user_id = get_str(doc, "id", "", max_len=64) if "id" in doc else None
    if user_id is not None and not _USER_ID.fullmatch(user_id):
        raise ReplyError("reply.bad_value", f"id: {user_id!r} is not a user id", field="id")
    fixlen = get_int(doc, "ipv6_fixlen", "", 0, 64) if "ipv6_fixlen" in doc else None
    dmr_text = get_str(doc, "dmr", "")
    try:
        br = parse_ipv6_address(dmr_text, "dmr")
    except MapeError as exc:
        raise ReplyError("reply.bad_value", exc.message, field="dmr", value=dmr_text) from None
    entries = as_list(doc.get("fmr"), "fmr", MAX_RULES) if "fmr" in doc else None
    if not entries:
        raise ReplyError("reply.missing_field", "fmr: no rules in a non-blank reply", field="fmr")
    rules = [_rule(e, f"fmr[{i}]", str(br), isp, iid) for i, e in enumerate(entries)]
    try:
        ruleset = RuleSet(rules)
    except MapeError as exc:
        raise remote(exc, "fmr") from None
    return RuleDelivery(Provider.JPNE, ruleset, user_id=user_id, fixlen=fixlen)


def _rule(entry: object, where: str, br: str, isp: str | None, iid: IidFormat) -> MappingRule:
    obj = as_object(entry, where)
    ipv6 = get_str(obj, "ipv6", where, max_len=64)
    ipv4 = get_str(obj, "ipv4", where, max_len=32)
    offset = get_int(obj, "psid_offset", where, 0, 15)
    ea_len = get_int(obj, "ea_length", where, 0, 48)
    try:
        return MappingRule(
            parse_ipv6_network(ipv6, "ipv6"),
            parse_ipv4_network(ipv4, "ipv4"),
            ea_len,
            offset,
            br=parse_ipv6_address(br, "dmr"),
            fmr=True,
            isp=isp,
            iid=iid,
        )
    except MapeError as exc:
        raise remote(exc, where, _WIRE_NAMES) from None


def decode_acct_report(body: bytes) -> dict[str, object]:
    """The acct_report answer ``rpt({...})``; its content is informational."""
    return dict(as_object(decode_jsonp(body, "acct_report", REPORT_CALLBACK), "reply"))


def rules_object(rules: RuleSet, dmr: str, user_id: str, fixlen: int | None) -> dict[str, object]:
    """The JSON object of a full get_rules answer (what a rule server sends)."""
    doc: dict[str, object] = {"dmr": dmr, "id": user_id}
    if fixlen is not None:
        doc["ipv6_fixlen"] = fixlen
    doc["fmr"] = [
        {
            "ipv6": str(rule.ipv6_prefix),
            "ipv4": str(rule.ipv4_prefix),
            "psid_offset": rule.psid_offset,
            "ea_length": rule.ea_len,
        }
        for rule in rules
    ]
    return doc
