"""The doctor's vocabulary: facts gathered from a CE, and findings about them."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from mapekit.core.mapping import Mapping
from mapekit.core.messages import both
from mapekit.core.softwire import Softwire


class Severity(enum.Enum):
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Text:
    en: str
    ja: str

    def get(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en


def said(key: str, /, **values: object) -> Text:
    """A message of the catalogue (``mapekit.core.messages``) in both languages."""
    return Text(*both(key, **values))


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    evidence: str | Text  # what was seen: values as they are, words from the catalogue
    explanation: Text
    fix: Text | None = None

    def evidence_in(self, lang: str = "en") -> str:
        return self.evidence.get(lang) if isinstance(self.evidence, Text) else self.evidence

    def to_dict(self, lang: str = "en") -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "evidence": self.evidence_in(lang),
            "explanation": self.explanation.get(lang),
            "fix": None if self.fix is None else self.fix.get(lang),
        }


class Reach(enum.Enum):
    """What one ICMPv6 echo to the BR, AFTR or IPIP endpoint found."""

    REPLY = "reply"
    UNREACHABLE = "unreachable"  # an ICMPv6 destination unreachable came back
    NO_ROUTE = "no route"  # this host has no route to it (the echo could not be sent)
    TIMEOUT = "no reply"


@dataclass(frozen=True)
class Probe:
    address: str
    result: Reach
    detail: str = ""  # the ICMPv6 code and who sent it, or the send error


@dataclass(frozen=True)
class AftrLookup:
    """The AFTR name's AAAA lookup: ``answer`` is ok, NXDOMAIN, NODATA, timeout, SERVFAIL
    or error (``mapekit.client.lookup``)."""

    name: str
    resolver: str
    answer: str
    addresses: tuple[str, ...] = ()
    detail: str = ""


@dataclass
class Facts:
    """What the doctor found out; None means "not known" (the check says so)."""

    wan: str | None = None
    wan_addresses: list[str] | None = None
    prefix: str | None = None
    prefix_source: str | None = None
    hgw: str | None = None  # none | off | on
    hgw_how: str | None = None
    rule_host: str | None = None
    resolves: bool | None = None
    reachable: bool | None = None
    outcome: str | None = None  # the rule fetch, as mape provision classifies it
    reason_code: str | None = None
    error_message: str | None = None
    error_field: str | None = None
    mapping: Mapping | None = None
    fallback: Mapping | None = None  # what the static table would give for the prefix
    fallback_source: str | None = None
    tunnel_up: bool | None = None
    tunnel_mtu: int | None = None
    br_reachable: bool | None = None
    nat_ranges: list[tuple[int, int]] | None = None  # what the loaded ruleset NATs into
    mss_clamp: bool | None = None
    port_use: dict[str, object] | None = None
    counters: dict[str, int] | None = None  # the running agent's data-plane counters
    wan_mtu: int | None = None
    port_caps: bool | None = None  # the configuration caps flows per host
    provider: str | None = None  # how the CE gets rules (None: not configured)
    # DS-Lite and IPIP (mapekit.diag.softwire)
    softwire: Softwire | None = None  # what the configuration or delivery gives the prefix
    ipip_local: str | None = None  # the operator's whole tunnel address (HB46PP ipv6_local)
    aftr: AftrLookup | None = None
    applied_softwire: Softwire | None = None  # what the running agent applied
    addresses: dict[str, list[str]] | None = None  # global IPv6 of every interface
    remote_probe: Probe | None = None
    update: dict[str, object] | None = None  # the agent's last update-URL call
    configured: bool = True
    config_path: str | None = None
    notes: list[str] = field(default_factory=list)


Check = Callable[[Facts], list[Finding]]
