"""The rule server's decisions, pure: what to answer whom, and how targets may change.

The deployment target says where a subscriber's rules are delivered: to the home gateway
(``hgw``) or to the subscriber's own router (``router``). Manufacturer codes have a kind:
HGW makers have their own. ``get_rules`` gives full rules only when the requesting code's
kind equals the subscriber's target; otherwise the blank ``cb({})`` — how the HGW keeps
working while the subscriber's own router gets nothing (docs/design.md §1).

A subscriber's mechanisms (:mod:`mapekit.server.softwires`) add DS-Lite and IPIP: HB46PP
offers them in the subscriber's order; JPNE and OCN, which know only MAP-E, give their
blank answers to a subscriber without ``map_e``.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Collection
from dataclasses import dataclass, field

from mapekit.core.addr import ipv6_text
from mapekit.core.rule import IidFormat
from mapekit.core.ruleset import RuleSet
from mapekit.provision import hb46pp, jpne, ocn
from mapekit.provision.errors import ProvisionError
from mapekit.provision.jsonp import encode_jsonp, valid_callback
from mapekit.server.softwires import Mechanisms, offered

DEFAULT_TTL = 86400


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
    rule_set_id: int | None  # None: no MAP-E rule set (a DS-Lite or IPIP line)
    token: str
    mechanisms: Mechanisms = field(default_factory=Mechanisms)

    @property
    def prefix_text(self) -> str:
        return f"{ipv6_text(self.prefix)}/{self.prefix_len}"

    @property
    def map_e(self) -> bool:
        """Is MAP-E among the subscriber's mechanisms (with a rule set)?"""
        return self.rule_set_id is not None and "map_e" in self.mechanisms.order


@dataclass(frozen=True)
class Hb46ppNames:
    """The names an HB46PP answer starts with (``service_name`` None: the rule set's)."""

    enabler_name: str = "mapekit"
    service_name: str | None = None
    isp_name: str | None = None


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

    @functools.cached_property
    def hb46pp_map_e(self) -> object:
        """The ``map_e`` object of an HB46PP answer."""
        doc = hb46pp.config_object(self.rules, br=self.dmr, ttl=self.ttl, token="",
                                   iid=self.iid, mesh=self.mesh)  # fmt: skip
        return doc["map_e"]


@dataclass(frozen=True)
class Answer:
    """An HTTP answer and the outcome label it is counted under."""

    status: int
    body: bytes
    outcome: str
    content_type: str = "application/javascript"
    headers: tuple[tuple[str, str], ...] = ()


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
    if subscriber is None:
        return _empty(403, "forbidden")
    if domain is None or not subscriber.map_e or vendor.kind is not subscriber.target:
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
    if subscriber is None:
        return _empty(403, "forbidden")
    delivered = domain is not None and subscriber.map_e and vendor.kind is subscriber.target
    rules = domain.rules if delivered and domain is not None else RuleSet([])
    body = json.dumps(ocn.rules_object(rules)).encode()
    return Answer(200, body, "rules" if len(rules) else "blank", "application/json")


def hb46pp_config(
    subscriber: Subscriber | None,
    domain: RuleDomain | None,
    capability: Collection[str] | None = None,
    names: Hb46ppNames | None = None,
) -> Answer:
    """The HB46PP answer: the subscriber's mechanisms in its order, without what has no
    data or the CE cannot run; ``order: []`` while the deployment target is the HGW."""
    if subscriber is None:
        return _empty(403, "forbidden")
    m = subscriber.mechanisms
    has_rules = domain is not None and subscriber.rule_set_id is not None
    order = offered(m, has_rules, capability) if subscriber.target is Target.ROUTER else []
    doc = _names(names or Hb46ppNames(), domain)
    doc.update({"ttl": domain.ttl if domain else DEFAULT_TTL, "token": subscriber.token,
                "order": order})  # fmt: skip
    if "map_e" in order and domain is not None:
        doc["map_e"] = domain.hb46pp_map_e
    if "dslite" in order:
        doc["dslite"] = {"aftr": m.aftr}
    if "ipip" in order and m.ipip is not None:
        local = m.ipip.local(subscriber.prefix)
        doc["ipip"] = [{"ipv6_local": local, "ipv6_remote": m.ipip.remote, "ipv4": m.ipip.ipv4}]
    body = json.dumps(doc).encode()
    return Answer(200, body, "rules" if order else "blank", "application/json")


def _names(names: Hb46ppNames, domain: RuleDomain | None) -> dict[str, object]:
    doc: dict[str, object] = {"enabler_name": names.enabler_name}
    service = names.service_name or (domain.name if domain else None)
    if service:
        doc["service_name"] = service
    if names.isp_name:
        doc["isp_name"] = names.isp_name
    return doc


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
