"""The doctor on port use: NAT failing for lack of ports, and one host holding most of the
set toward one destination (the set runs out per destination: docs/ports.md)."""

from __future__ import annotations

from typing import Any

from mapekit.diag.model import Facts, Finding, Severity, Text

HOG_SHARE = 0.5  # one destination takes half of the set …
HOG_HOST = 0.8  # … and one host holds most of those flows
EXHAUSTED = 0.95


def _number(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _busiest(use: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, int]:
    """The busiest destination, its top host and that host's flows."""
    busiest = use.get("busiest") or []
    if not busiest or not isinstance(busiest[0], dict):
        return None, None, 0
    dest = busiest[0]
    hosts: dict[str, int] = dest.get("hosts") or {}
    if not hosts:
        return dest, None, 0
    host = max(hosts, key=lambda h: hosts[h])
    return dest, host, _number(hosts[host])


def _fix(dest: dict[str, Any] | None, caps: bool | None) -> Text:
    dns = dest is not None and dest.get("port") == 53
    en = (
        "Cap flows per host and destination (ports.cap_per_destination) so that one device "
        "cannot take the set"
        if not caps
        else "Lower the cap (ports.cap_per_destination)"
    )
    ja = (
        "ホスト・宛先ごとの接続数上限（ports.cap_per_destination）を設定し、1 台が全ポートを"
        "使い切れないようにしてください"
        if not caps
        else "上限（ports.cap_per_destination）を下げてください"
    )
    if dns:
        en += "; let the host use IPv6 for DNS (its resolver over IPv6 takes no IPv4 port)"
        ja += "。DNS は IPv6 で引くようにしてください（IPv6 なら IPv4 のポートを使いません）"
    en += "; or open fewer parallel connections (torrent clients, download managers)."
    ja += "。または同時接続数を減らしてください（torrent クライアントなど）。"
    return Text(en, ja)


def check_port_use(facts: Facts) -> list[Finding]:
    use = facts.port_use
    if not use:
        return []
    failed = _number(use.get("insert_failed")) + _number(use.get("drop"))
    dest, host, held = _busiest(use)
    count = _number(use.get("port_count")) or 1
    share = float(dest.get("share") or 0) if dest else 0.0
    where = f"{dest['proto']} {dest['address']}:{dest['port']}" if dest else "-"
    flows = _number(dest.get("flows")) if dest else 0
    flows = _number(dest.get("flows")) if dest else 0
    evidence = (f"{failed} NAT failures; busiest destination {where}: {flows} of {count} "
                "ports" + (f", {held} of them from {host}" if host else ""))  # fmt: skip
    if failed or share >= EXHAUSTED:
        return [Finding(
            "ports.exhausted", Severity.WARNING, evidence,
            Text(f"New connections fail for lack of ports: toward {where} every flow needs its "
                 f"own port of the set, and {host or 'the LAN'} holds {held} of them.",
                 f"ポート不足で新しい接続が失敗しています。{where} への接続は 1 つごとにポートを"
                 f"1 つ使い、{host or 'LAN'} がそのうち {held} 個を使っています。"),
            _fix(dest, facts.port_caps),
        )]  # fmt: skip
    if share >= HOG_SHARE and held >= HOG_HOST * flows:
        return [Finding(
            "ports.hog", Severity.INFO if facts.port_caps else Severity.WARNING, evidence,
            Text(f"{host} holds most of the port set toward {where}: other devices' new "
                 "connections to it will fail when the rest is gone.",
                 f"{host} が {where} へのポートの大半を使っています。残りがなくなると他の機器の"
                 "新しい接続が失敗します。"),
            _fix(dest, facts.port_caps),
        )]  # fmt: skip
    return [Finding("ports.ok", Severity.OK, evidence,
                    Text("Ports are available.", "ポートに余裕があります。"))]  # fmt: skip
