"""The status page's words, in English and Japanese (one table; a test checks both), and
the rows of a DS-Lite or IPIP softwire that the page and ``mape status`` both show."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mapekit.core.messages import local_time

_PAIRS: dict[str, tuple[str, str]] = {
    "title": ("MAP-E status", "MAP-E 状態"),
    "status": ("State", "状態"),
    "state:established": ("established", "確立"),
    "state:waiting": ("waiting", "待機中"),
    "state:checking HGW": ("checking the HGW", "HGW 確認中"),
    "state:getting rule": ("getting the rules", "ルール取得中"),
    "state:reporting": ("reporting", "通知中"),
    "state:HGW active": ("the HGW runs MAP-E", "HGW が MAP-E 動作中"),
    "provider": ("Provider", "プロバイダー"),
    "rules_from": ("Rules from, updated", "ルールの入手元・更新"),
    "hgw": ("Home gateway", "ホームゲートウェイ"),
    "prefix_source": ("Prefix from", "プレフィックスの入手元"),
    "backend": ("Data plane", "データプレーン"),
    "repairs": ("Repairs", "修復回数"),
    "next_attempt": ("Next rule check", "次回のルール確認"),
    "mapping": ("Mapping", "マッピング"),
    "no_mapping": ("No mapping applied.", "適用中のマッピングはありません。"),
    "ipv4": ("IPv4 address", "IPv4 アドレス"),
    "ports": ("Ports", "ポート数"),
    "ce_ipv6": ("CE IPv6 address", "CE の IPv6 アドレス"),
    "tunnel": ("Tunnel", "トンネル"),
    "port_set": ("Port set", "ポートセット"),
    "flows": ("Flows", "フロー"),
    "nat_failures": ("NAT failures (insert_failed + drop)", "NAT 失敗 (insert_failed + drop)"),
    "busiest": ("Busiest destinations", "利用の多い宛先"),
    "destination": ("Destination", "宛先"),
    "of_set": ("Of the set", "ポートセットに対する割合"),
    "hosts": ("Hosts", "ホスト"),
    "per_host": ("Per LAN host", "LAN ホスト別"),
    "host": ("Host", "ホスト"),
    "events": ("Last events", "最近のイベント"),
    # DS-Lite and IPIP (mape status)
    "title:dslite": ("DS-Lite status", "DS-Lite 状態"),
    "title:ipip": ("IPIP (fixed IPv4) status", "IPIP（固定 IPv4）状態"),
    "mechanism": ("Mechanism", "方式"),
    "mechanism:dslite": (
        "DS-Lite (this router is the B4; the AFTR translates)",
        "DS-Lite（このルーターは B4、AFTR が変換）",
    ),
    "mechanism:ipip": ("IPIP, fixed IPv4", "IPIP 固定 IPv4"),
    "aftr": ("AFTR", "AFTR（変換装置）"),
    "endpoint": ("Endpoint", "終端装置"),
    "b4_address": ("B4 address", "B4 アドレス"),
    "tunnel_address": ("Tunnel address", "トンネルアドレス"),
    "tunnel_ipv4": ("IPv4 on the tunnel", "トンネルの IPv4"),
    "fixed_ipv4": ("Fixed IPv4", "固定 IPv4"),
    "no_nat": ("no NAT here: the AFTR translates", "ここでは NAT しない（AFTR が変換）"),
    "nat_to": ("the LAN is NATed to it", "LAN をこのアドレスに NAT"),
    "routed": ("routed to the LAN", "LAN へルーティング"),
    "update_call": ("Last update call", "直近のアップデート URL 呼び出し"),
    "update_none": ("not called yet", "まだ呼び出していません"),
    "attempts": ("attempt(s)", "回試行"),
}

TEXT: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "en": MappingProxyType({k: en for k, (en, _) in _PAIRS.items()}),
    "ja": MappingProxyType({k: ja for k, (_, ja) in _PAIRS.items()}),
})  # fmt: skip


def title(doc: Mapping[str, object], lang: str = "en") -> str:
    """``MAP-E status``, ``DS-Lite status`` or ``IPIP (fixed IPv4) status``, by the
    status's softwire."""
    t = TEXT["ja" if lang == "ja" else "en"]
    softwire = doc.get("softwire")
    mechanism = softwire.get("mechanism") if isinstance(softwire, Mapping) else None
    return t[f"title:{mechanism}"] if mechanism in ("dslite", "ipip") else t["title"]


def softwire_rows(
    softwire: Mapping[str, object], update: object, lang: str = "en"
) -> list[list[str]]:
    """A DS-Lite or IPIP tunnel: mechanism, the AFTR or endpoint, the CE's end, the IPv4
    side, and (IPIP) the last update call — nothing secret is in the status to show."""
    t = TEXT["en" if lang != "ja" else "ja"]
    dslite = softwire.get("mechanism") == "dslite"
    remote, name = softwire.get("remote"), softwire.get("remote_name")
    ipv4 = f"{softwire.get('ipv4')}/{softwire.get('ipv4_prefix_len')}"
    rows = [
        [t["mechanism"], t["mechanism:dslite" if dslite else "mechanism:ipip"]],
        [t["aftr" if dslite else "endpoint"], f"{name} ({remote})" if name else str(remote)],
        [t["b4_address" if dslite else "tunnel_address"], str(softwire.get("local"))],
    ]
    left, right = ("（", "）") if lang == "ja" else (" (", ")")
    if dslite:
        rows.append([t["tunnel_ipv4"], f"{ipv4}{left}{t['no_nat']}{right}"])
    else:
        how = t["nat_to" if softwire.get("nat") else "routed"]
        rows.append([t["fixed_ipv4"], f"{ipv4.removesuffix('/32')}{left}{how}{right}"])
        rows.append([t["update_call"], _update_text(update, t)])
    return rows


def _update_text(update: object, t: Mapping[str, str]) -> str:
    if not isinstance(update, Mapping):
        return t["update_none"]
    attempts = update.get("attempts")
    tries = f", {attempts} {t['attempts']}" if isinstance(attempts, int) and attempts > 1 else ""
    return f"{local_time(update.get('time'))} {update.get('answer')}{tries}"
