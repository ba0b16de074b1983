"""The rule server's decisions, pure: what to answer whom, and how targets may change.

The deployment target says where a subscriber's rules are delivered: to the home gateway
(``hgw``) or to the subscriber's own router (``router``). Manufacturer codes have a kind:
HGW makers have their own. ``get_rules`` gives full rules only when the requesting code's
kind equals the subscriber's target; otherwise the blank ``cb({})`` — how the HGW keeps
working while the subscriber's own router gets nothing (docs/design.md §1).
"""

from __future__ import annotations

import enum
import functools
import json
from dataclasses import dataclass

from mapekit.core.addr import ipv6_text
from mapekit.core.rule import IidFormat
from mapekit.core.ruleset import RuleSet
from mapekit.provision import hb46pp, jpne, ocn
from mapekit.provision.errors import ProvisionError
from mapekit.provision.jsonp import encode_jsonp, valid_callback


class Target(enum.Enum):
    HGW = "hgw"
    ROUTER = "router"


class ServerError(ProvisionError):
    """An admin operation or a request the server refuses."""


@dataclass(frozen=True)
class Vendor:
    code: str
    name: str
    kind: Target
    enabled: bool = True


@dataclass(frozen=True)
class Subscriber:
    id: str
    prefix: int
    prefix_len: int
    hgw_rental: bool
    target: Target
    rule_set_id: int
    token: str

    @property
    def prefix_text(self) -> str:
        return f"{ipv6_text(self.prefix)}/{self.prefix_len}"


@dataclass(frozen=True)
class RuleDomain:
    """A rule set as the server holds it (one MAP domain).

    The encoded rule list is built once per domain (it is the same in every answer).
    """

    name: str
    rules: RuleSet
    dmr: str
    fixlen: int | None = 56
    iid: IidFormat = IidFormat.LEGACY
    mesh: bool = True
    ttl: int = 86400

    @functools.cached_property
    def jpne_rules(self) -> dict[str, object]:
        """The JPNE answer without ``id`` (added per subscriber)."""
        return jpne.rules_object(self.rules, self.dmr, "", self.fixlen)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer and the outcome label it is counted under."""

    status: int
    body: bytes
    outcome: str
    content_type: str = "application/javascript"


def _empty(status: int, outcome: str) -> Answer:
    return Answer(status, b"", outcome, "text/plain")


def get_rules(
    callback: str | None,
    vendor: Vendor | None,
    subscriber: Subscriber | None,
    domain: RuleDomain | None,
) -> Answer:
    """The JPNE ``get_rules`` answer."""
    name = "?" if callback is None else callback
    if callback is not None and not valid_callback(callback):
        return _empty(400, "bad_callback")
    if vendor is None or not vendor.enabled:
        return _empty(503, "unknown_code")
    if subscriber is None or domain is None:
        return _empty(403, "forbidden")
    if vendor.kind is not subscriber.target:
        return Answer(200, encode_jsonp(name, {}), "blank")
    doc = {**domain.jpne_rules, "id": subscriber.id}
    return Answer(200, encode_jsonp(name, doc), "rules")


def acct_report(callback: str | None, accepted: bool) -> Answer:
    if callback is not None and not valid_callback(callback):
        return _empty(400, "bad_callback")
    name = "?" if callback is None else callback
    return Answer(200, encode_jsonp(name, {"result": "ok" if accepted else "ignored"}), "report")


def ocn_rules(
    vendor: Vendor | None, subscriber: Subscriber | None, domain: RuleDomain | None
) -> Answer:
    if vendor is None or not vendor.enabled:
        return _empty(503, "unknown_code")
    if subscriber is None or domain is None:
        return _empty(403, "forbidden")
    rules = domain.rules if vendor.kind is subscriber.target else RuleSet([])
    body = json.dumps(ocn.rules_object(rules)).encode()
    return Answer(200, body, "rules" if len(rules) else "blank", "application/json")


def hb46pp_config(subscriber: Subscriber | None, domain: RuleDomain | None) -> Answer:
    if subscriber is None or domain is None:
        return _empty(403, "forbidden")
    offered = subscriber.target is Target.ROUTER
    doc = hb46pp.config_object(
        domain.rules if offered else None,
        br=domain.dmr,
        ttl=domain.ttl,
        token=subscriber.token,
        iid=domain.iid,
        mesh=domain.mesh,
        names={"enabler_name": "mapekit", "service_name": domain.name},
    )
    return Answer(
        200, json.dumps(doc).encode(), "rules" if offered else "blank", "application/json"
    )


def check_target(hgw_rental: bool, target: Target) -> None:
    """Operator practice: without an HGW rental the target can only be ``router``."""
    if target is Target.HGW and not hgw_rental:
        raise ServerError(
            "server.target_needs_hgw",
            "target: hgw needs an HGW rental; this subscriber has none",
            field="target",
            value=target.value,
        )


def target_after_rental(rental: bool, target: Target) -> Target:
    """Cancelling the HGW rental moves the target to ``router`` at once."""
    return target if rental else Target.ROUTER
