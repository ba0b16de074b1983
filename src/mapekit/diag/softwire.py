"""The doctor's checks for DS-Lite and IPIP fixed-address lines, pure: facts in, findings out.

- ``aftr.dns``: the AFTR's name (configuration, DHCPv6 option 64 or HB46PP) has no IPv6
  address over the resolver the CE uses, and what the resolver answered;
- ``update.refused`` / ``update.failed``: the running agent's last call of the operator's
  update URL failed (the HTTP status and the answer's first line; the credentials are never
  in the facts);
- ``ipip.no_address``: the tunnel address (the prefix's subnet 0, or the RA /64, with the
  operator's interface ID) is on no interface, or the tunnel still uses an old one;
- ``softwire.unreachable``: no route to the AFTR or endpoint, an ICMPv6 destination
  unreachable about it, or no answer to an echo (the probe the BR check uses).

The words are in :mod:`mapekit.diag.softwire_text`.
"""

from __future__ import annotations

import ipaddress

from mapekit.core.messages import local_time
from mapekit.core.softwire import Softwire
from mapekit.diag.model import Facts, Finding, Reach, Severity
from mapekit.diag.softwire_text import ROLES, text

IID_MASK = (1 << 64) - 1


def check_aftr(facts: Facts) -> list[Finding]:
    found = facts.aftr
    if found is None:
        return []
    if found.answer == "ok":
        address = ", ".join(found.addresses)
        return [Finding("aftr.resolves", Severity.OK, f"{found.name} → {address}",
                        text("aftr.resolves", name=found.name, address=address))]  # fmt: skip
    answer = found.answer if f"aftr.dns:{found.answer}" in _AFTR_KEYS else "error"
    evidence = f"{found.name}: {found.answer} from {found.resolver}" + (
        f" ({found.detail})" if found.detail else ""
    )
    return [Finding("aftr.dns", Severity.ERROR, evidence,
                    text(f"aftr.dns:{answer}", name=found.name, resolver=found.resolver),
                    text("aftr.dns.fix"))]  # fmt: skip


_AFTR_KEYS = {f"aftr.dns:{a}" for a in ("NXDOMAIN", "NODATA", "timeout", "SERVFAIL", "error")}


def check_update(facts: Facts) -> list[Finding]:
    record = facts.update
    if not record:
        return []
    when, answer = local_time(record.get("time")), str(record.get("answer") or "-")
    status = record.get("status")
    evidence = f"{answer} at {when}" + (f" ({record.get('url')})" if record.get("url") else "")
    if record.get("ok"):
        return [Finding("update.ok", Severity.OK, evidence, text("update.ok", time=when))]
    kind = "refused" if isinstance(status, int) else "failed"
    return [Finding(f"update.{kind}", Severity.ERROR, evidence,
                    text(f"update.{kind}", answer=answer, time=when),
                    text(f"update.{kind}.fix"))]  # fmt: skip


def _where(address: int, facts: Facts) -> str | None:
    for name, entries in (facts.addresses or {}).items():
        if any(int(ipaddress.IPv6Interface(e).ip) == address for e in entries):
            return name
    return None


def _on_wan(facts: Facts) -> str:
    entries = (facts.addresses or {}).get(facts.wan or "", [])
    return f"on {facts.wan}: {', '.join(entries) or 'no global address'}"


def _variant(expected: int, facts: Facts) -> tuple[str, str | None]:
    """Why the expected address is missing: (variant, the interface it concerns)."""
    applied = facts.applied_softwire
    if applied is not None and applied.mechanism == "ipip" and applied.local != _text(expected):
        return "renumbered", None
    for name, entries in (facts.addresses or {}).items():
        for entry in entries:
            address = int(ipaddress.IPv6Interface(entry).ip)
            if address & IID_MASK == expected & IID_MASK:
                return "stale", name
    return "missing", None


def _text(address: int) -> str:
    return str(ipaddress.IPv6Address(address))


def _iid(address: int) -> str:
    return _text(address & IID_MASK)


def check_ipip_address(facts: Facts) -> list[Finding]:
    if facts.reason_code == "softwire.outside_prefix":
        return [Finding("ipip.no_address", Severity.ERROR, facts.error_message or "-",
                        text("ipip.no_address:outside", expected=_outside(facts),
                             prefix=facts.prefix),
                        text("ipip.no_address.fix"))]  # fmt: skip
    wire = facts.softwire
    if wire is None or wire.mechanism != "ipip" or facts.addresses is None:
        return []
    expected = int(ipaddress.IPv6Address(wire.local))
    where = _where(expected, facts)
    applied = facts.applied_softwire
    current = applied is None or applied.local == wire.local
    if where is not None and current:
        return [Finding("ipip.address", Severity.OK, f"{wire.local} on {where}",
                        text("ipip.address", expected=wire.local, interface=where))]  # fmt: skip
    variant, interface = _variant(expected, facts)
    evidence = f"expected {wire.local} (prefix {facts.prefix}, interface ID {_iid(expected)}); "
    evidence += _on_wan(facts) + (f"; the tunnel uses {applied.local}" if applied else "")
    return [Finding("ipip.no_address", Severity.ERROR, evidence,
                    text(f"ipip.no_address:{variant}", expected=wire.local, iid=_iid(expected),
                         interface=interface or facts.wan,
                         applied=applied.local if applied else "-"),
                    text("ipip.no_address.fix"))]  # fmt: skip


def _outside(facts: Facts) -> str:
    """The operator's ipv6_local (gathered, else named in the error message; or '-')."""
    if facts.ipip_local:
        return facts.ipip_local
    for word in (facts.error_message or "").split():
        try:
            return str(ipaddress.IPv6Address(word))
        except ValueError:
            continue
    return "-"


def check_remote(facts: Facts) -> list[Finding]:
    wire, probe = facts.softwire, facts.remote_probe
    if wire is None or probe is None:
        return []
    role, role_ja = ROLES.get(wire.mechanism, ROLES["ipip"])
    named = f"{wire.remote_name} ({wire.remote})" if wire.remote_name else wire.remote
    if probe.result is Reach.REPLY:
        return [Finding("softwire.reachable", Severity.OK, f"{named}: echo answered",
                        text("softwire.reachable", role=role, role_ja=role_ja,
                             address=named))]  # fmt: skip
    severity = Severity.WARNING if probe.result is Reach.TIMEOUT else Severity.ERROR
    evidence = f"{named}: {probe.result.value}" + (f" — {probe.detail}" if probe.detail else "")
    return [Finding("softwire.unreachable", severity, evidence,
                    text(f"softwire.unreachable:{probe.result.value}", role=role,
                         role_ja=role_ja, address=named, detail=probe.detail),
                    text("softwire.unreachable.fix", role=role, role_ja=role_ja))]  # fmt: skip


def softwire_from_status(doc: object) -> Softwire | None:
    """The softwire a running agent reports in its status (``"softwire"``), or None."""
    if not isinstance(doc, dict):
        return None
    try:
        return Softwire(
            mechanism=str(doc["mechanism"]), local=str(doc["local"]), remote=str(doc["remote"]),
            remote_name=None if doc.get("remote_name") is None else str(doc["remote_name"]),
            ipv4=str(doc["ipv4"]), ipv4_prefix_len=int(doc["ipv4_prefix_len"]),
            nat=bool(doc["nat"]),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return None


SOFTWIRE_CHECKS = (check_aftr, check_ipip_address, check_remote, check_update)
