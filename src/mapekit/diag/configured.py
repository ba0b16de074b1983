"""The doctor's checks of how the CE is set up: whether mapekit is configured at all, and
what a rule table (rather than an operator's server) means for the rules in use.

Without a configuration the doctor still checks what it can see (WAN, prefix, HGW, the
built-in table's mapping for the prefix, the WAN's MTU) and ends with the ``mape setup``
command to run.
"""

from __future__ import annotations

from mapekit.core.mapping import TUNNEL_MTU
from mapekit.diag.model import Facts, Finding, Severity, Text, said


def check_config(facts: Facts) -> list[Finding]:
    if facts.configured:
        return []
    command = "mape setup" + (f" --wan {facts.wan}" if facts.wan else "")
    return [
        Finding(
            "config.none",
            Severity.WARNING,
            said("evidence.no_config", path=facts.config_path),
            Text(
                "mapekit is not set up on this router; the checks below use only what can "
                "be seen from here.",
                "このルーターでは mapekit が未設定です。以下は外から見える範囲での確認です。",
            ),
            Text(
                f"Run `{command}`: it detects the WAN, how the prefix arrives, the operator "
                "and the home gateway, explains its choice and writes the configuration, the "
                "DHCPv6 client's hook and the systemd unit (`--dry-run` shows them first).",
                f"`{command}` を実行してください。WAN、プレフィックスの受け取り方、事業者、"
                "ホームゲートウェイを検出し、選択の理由を示して設定ファイル・DHCPv6 "
                "クライアントのフック・systemd ユニットを書き込みます（`--dry-run` で事前確認）。",
            ),
        )
    ]


def check_table(facts: Facts) -> list[Finding]:
    """What the rule table gives when no server is asked: static rules, said honestly."""
    if facts.configured and facts.provider != "static":
        return []
    m = facts.fallback if facts.mapping is None else facts.mapping
    if m is None:
        if facts.prefix is None:
            return []
        return [
            Finding(
                "table.no_rule",
                Severity.ERROR,
                said("evidence.no_rule", prefix=facts.prefix, source=facts.fallback_source),
                Text(
                    "No rule of the table covers this prefix: it is not a v6plus, BIGLOBE or "
                    "OCN MAP-E prefix, or the operator added rules the table does not have.",
                    "このプレフィックスに合うルールが表にありません。v6plus・BIGLOBE・OCN の "
                    "MAP-E のプレフィックスでないか、表にない新しいルールです。",
                ),
                Text(
                    "Get the rules from the operator (provider jpne/ocn/hb46pp) or give a rule "
                    "file (static.rules_file, `mape setup --rules FILE`).",
                    "事業者からルールを取得する（jpne/ocn/hb46pp）か、ルールファイルを指定して"
                    "ください（static.rules_file、`mape setup --rules FILE`）。",
                ),
            )
        ]
    first, last = next(iter(m.port_set.ranges()))
    evidence = (f"{m.ipv4_text} PSID {m.psid}, {m.port_set.count} ports ({first}-{last}, …), "
                f"BR {m.rule.br}")  # fmt: skip
    return [
        Finding(
            "table.static",
            Severity.OK if facts.configured else Severity.INFO,
            evidence,
            Text(
                f"Static rules from the {facts.fallback_source}: no rule server is asked. "
                "They are the operator's published rules; if the operator changes them, "
                "this router keeps the old ones until the table is updated.",
                f"{facts.fallback_source}による静的ルールです（ルールサーバーには問い合わせ"
                "ません）。事業者が公開しているルールであり、事業者が変更した場合は表を更新する"
                "まで古いルールのままです。",
            ),
        )
    ]


def check_wan_mtu(facts: Facts) -> list[Finding]:
    """The tunnel's 1460 bytes need a 1500-byte WAN (40 bytes of IPv6 header)."""
    if facts.wan_mtu is None or facts.wan_mtu >= TUNNEL_MTU + 40:
        return []
    fits = facts.wan_mtu - 40
    return [
        Finding(
            "wan.mtu",
            Severity.WARNING,
            f"{facts.wan}: MTU {facts.wan_mtu}",
            Text(
                f"The WAN's MTU is {facts.wan_mtu}: an IPv4 packet of {TUNNEL_MTU} bytes with "
                f"its 40-byte IPv6 header does not fit, so large packets are lost or fragmented.",
                f"WAN の MTU が {facts.wan_mtu} のため、{TUNNEL_MTU} バイトの IPv4 パケットに "
                "40 バイトの IPv6 ヘッダーを加えると収まらず、"
                "大きなパケットが失われるか分割されます。",
            ),
            Text(
                f"Give the WAN an MTU of 1500 (IPoE lines carry it), or lower the tunnel MTU to "
                f"{fits}.",
                f"WAN の MTU を 1500 にする（IPoE 回線は対応）か、トンネル MTU を {fits} に"
                "下げてください。",
            ),
        )
    ]
