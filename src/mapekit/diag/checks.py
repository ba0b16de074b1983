"""The doctor's checks, pure: facts in, findings out, each naming a cause in plain words.

Every finding is {code, severity, evidence, explanation, fix}; explanations and fixes come
in English and Japanese. The checks run in order, from the WAN address to the NAT ruleset,
and each reads only the facts gathered for it (``mapekit.diag.gather``).
"""

from __future__ import annotations

from mapekit.core.softwire import Softwire
from mapekit.diag.configured import check_config, check_table, check_wan_mtu
from mapekit.diag.model import Check, Facts, Finding, Severity, Text
from mapekit.diag.model import said as _say
from mapekit.diag.ports import check_port_use
from mapekit.diag.softwire import SOFTWIRE_CHECKS

CONFIGURED_SOFTWIRES = ("dslite", "ipip")  # set up by hand: no server is asked
SOFTWIRE_REASONS = ("dns.aftr", "softwire.outside_prefix")  # named by diag.softwire


def _unknown(code: str, what: str) -> list[Finding]:
    return [
        Finding(
            code,
            Severity.INFO,
            _say("evidence.not_checked"),
            Text(f"{what} could not be checked.", f"{what}を確認できませんでした。"),
        )
    ]


def check_wan(facts: Facts) -> list[Finding]:
    if facts.wan_addresses is None:
        return _unknown("wan.address", "The WAN address")
    if not facts.wan_addresses and facts.prefix_source != "DHCPv6-PD":
        return [
            Finding(
                "wan.address",
                Severity.ERROR,
                _say("evidence.no_global", wan=facts.wan),
                Text(
                    "The WAN interface has no global IPv6 address: the line gives no router "
                    "advertisement, or the interface is down.",
                    "WAN インターフェースにグローバル IPv6"
                    " アドレスがありません。RA が届いていないか、"
                    "インターフェースが停止しています。",
                ),
                Text(
                    "Check the cable and that IPv6 (IPoE) is enabled on the line.",
                    "ケーブルと回線の IPv6（IPoE）が有効かを確認してください。",
                ),
            )
        ]
    return [
        Finding(
            "wan.address",
            Severity.OK,
            ", ".join(facts.wan_addresses) or _say("evidence.pd_only"),
            Text("The WAN has IPv6.", "WAN に IPv6 があります。"),
        )
    ]


def check_prefix(facts: Facts) -> list[Finding]:
    if facts.prefix is None:
        return [
            Finding(
                "prefix.none",
                Severity.ERROR,
                _say("evidence.no_prefix"),
                Text(
                    "No IPv6 prefix: neither a delegated prefix (DHCPv6-PD) nor a router "
                    "advertisement gave one.",
                    "IPv6 プレフィックスがありません（DHCPv6-PD も RA もありません）。",
                ),
                Text(
                    "Check the DHCPv6 client (its hook writes the delegated prefix) and the line.",
                    "DHCPv6 クライアント（委譲プレフィック"
                    "スを書き出すフック）と回線を確認してください。",
                ),
            )
        ]
    return [
        Finding(
            "prefix.ok",
            Severity.OK,
            f"{facts.prefix} ({facts.prefix_source})",
            Text("The End-user prefix is known.", "エンドユーザープレフィックスがあります。"),
        )
    ]


def check_hgw(facts: Facts) -> list[Finding]:
    if facts.hgw is None:
        return _unknown("hgw", "The home gateway")
    if facts.hgw == "on":
        return [
            Finding(
                "hgw.active",
                Severity.WARNING,
                facts.hgw_how or _say("evidence.hgw_on"),
                Text(
                    "A home gateway (HGW) in front of this router runs MAP-E itself, so this "
                    "router stands down; IPv4 goes through the HGW.",
                    "このルーターの手前のホームゲートウェイ（HGW）自身が MAP-E を動かしているため、"
                    "このルーターは MAP-E を止めています。IPv4 は HGW 経由です。",
                ),
                Text(
                    "To run MAP-E here, turn it off on the HGW (or connect this router directly "
                    "to the ONU).",
                    "このルーターで MAP-E を動かすには、HGW の"
                    " MAP-E を止める（または ONU に直結する）"
                    "必要があります。",
                ),
            )
        ]
    detail = _say("evidence.no_hgw" if facts.hgw == "none" else "evidence.hgw_off")
    return [
        Finding(
            "hgw",
            Severity.OK,
            facts.hgw_how or detail,
            Text(f"Home gateway: {detail.en}.", f"ホームゲートウェイ: {detail.ja}。"),
        )
    ]


def check_server(facts: Facts) -> list[Finding]:
    if facts.rule_host is None:
        return []
    if facts.resolves is False:
        return [
            Finding(
                "server.dns",
                Severity.ERROR,
                _say("evidence.no_resolve", host=facts.rule_host),
                Text(
                    "The rule server's name does not resolve.", "ルールサーバー名を解決できません。"
                ),
                Text(
                    "Check the DNS servers the line gives (or the one configured).",
                    "回線から配布される（または設定した）DNS サーバーを確認してください。",
                ),
            )
        ]
    if facts.reachable is False:
        return [
            Finding(
                "server.unreachable",
                Severity.ERROR,
                _say("evidence.no_connection", host=facts.rule_host),
                Text(
                    "The rule server cannot be reached over IPv6.",
                    "ルールサーバーに IPv6 で接続できません。",
                ),
                Text(
                    "Check the IPv6 default route and any firewall on the WAN.",
                    "IPv6 の既定経路と WAN 側のファイアウォールを確認してください。",
                ),
            )
        ]
    if facts.resolves is None:
        return []
    return [
        Finding(
            "server.reachable",
            Severity.OK,
            facts.rule_host,
            Text("The rule server resolves and answers.", "ルールサーバーに到達できます。"),
        )
    ]


def _fallback_text(facts: Facts) -> tuple[str, str]:
    m = facts.fallback
    if m is None:
        return "", ""
    first, last = next(iter(m.port_set.ranges()))
    en = (
        f" Meanwhile the {facts.fallback_source} gives for your prefix: IPv4 "
        f"{m.ipv4_text}, PSID {m.psid}, {m.port_set.count} ports ({first}-{last}, …), "
        f"BR {m.rule.br}; a static setup with these values can work until the operator "
        "changes the target (mape tunnel / mape export)."
    )
    ja = (
        f" それまでの間、{facts.fallback_source}ではこのプレフィックスは IPv4 {m.ipv4_text}、"
        f"PSID {m.psid}、{m.port_set.count} ポート、BR {m.rule.br} になります。"
        "この値による静的設定（mape tunnel / mape export）で接続できる場合があります。"
    )
    return en, ja


# failures to reach the rule server that have a cause of their own
_NET_FAILURES: dict[str, tuple[str, Text, Text]] = {
    "net.tls": (
        "rules.tls",
        Text(
            "The rule server's certificate was not accepted, so no rules were asked for "
            "(mapekit verifies certificates by default).",
            "ルールサーバーの証明書を検証できなかったため、ルールを要求していません"
            "（mapekit は既定で証明書を検証します）。",
        ),
        Text(
            "If the operator's server uses a private CA, add that CA (provider.ca_file, or "
            "--ca-file); check the clock and the server name. Do not turn verification off.",
            "事業者のサーバーが独自 CA を使う場合はその CA を追加してください"
            "（provider.ca_file または --ca-file）。時刻とサーバー名も確認してください。"
            "検証は無効にしないでください。",
        ),
    ),
    "net.timeout": (
        "rules.timeout",
        Text(
            "The rule server did not answer in time; the saved rules, if any, stay in use.",
            "ルールサーバーが時間内に応答しませんでした。保存済みルールがあれば使い続けます。",
        ),
        Text(
            "Wait for the agent's retry (1-10 min); if it persists, check the IPv6 path "
            "to the server and ask the operator.",
            "エージェントの再試行（1〜10 分）を待ってください。続く場合はサーバーへの IPv6 "
            "経路を確認し、事業者に問い合わせてください。",
        ),
    ),
}


def check_rules(facts: Facts) -> list[Finding]:
    outcome = facts.outcome
    if facts.provider == "static" or not facts.configured:
        return []  # no server is asked (diag.configured.check_table says what that means)
    if facts.reason_code in SOFTWIRE_REASONS:
        return []
    if outcome is None:
        return _unknown("rules", "The rule fetch")
    evidence = f"{facts.reason_code}: {facts.error_message}" if facts.reason_code else "rules"
    if outcome == "established" and facts.softwire is not None:
        return [] if facts.provider in CONFIGURED_SOFTWIRES else [_delivered(facts.softwire)]
    if outcome == "established":
        return [
            Finding(
                "rules.ok",
                Severity.OK,
                _say("evidence.delivered"),
                Text(
                    "The operator delivers MAP-E rules to this router.",
                    "事業者はこのルーターに MAP-E ルールを配信しています。",
                ),
            )
        ]
    if outcome == "blank":
        extra_en, extra_ja = _fallback_text(facts)
        return [
            Finding(
                "rules.blank",
                Severity.ERROR,
                evidence,
                Text(
                    "The operator is delivering the MAP-E rules to the home gateway (HGW), not "
                    "to this router: the rule server answers this router with an empty rule "
                    "set, because the subscriber's deployment target is the HGW." + extra_en,
                    "事業者は MAP-E ルールをこのルーターではなくホームゲートウェイ（HGW）に配信して"
                    "います。契約の配信先が HGW になってい"
                    "るため、ルールサーバーはこのルーターに空の"
                    "ルールを返しています。" + extra_ja,
                ),
                Text(
                    "Ask the operator (or your ISP) to switch the deployment target to your own "
                    "router, or cancel the HGW rental, which switches it. Note that the HGW also "
                    "carries the telephone service (ひかり電話): without it the phone needs its "
                    "own adapter, e.g. a VoIP router fed IPv4 through a bridge. The router then "
                    "gets the rules at its next attempt, or at once with `mape retry`. A router "
                    "that only runs MAP-E with the operator's rules (an NEC IX) cannot work "
                    "until then: meanwhile run MAP-E on another box with the computed values "
                    "(`mape export --format openwrt|linux --full`, docs/export.md).",
                    "事業者（またはプロバイダ）に配信先を自前ルーターへ切り替えるよう依頼するか、"
                    "HGW のレンタルを解約してください（解約で"
                    "切り替わります）。ただし HGW はひかり電話"
                    "も担っているため、解約すると電話には別のアダプ"
                    "ター（ブリッジで IPv4 を渡す VoIP "
                    "ルーターなど）が必要です。切り替え後は次回の取"
                    "得時、または `mape retry` で直ちに"
                    "ルールを受け取れます。事業者のルールでしか MAP-E を動かせないルーター（NEC IX"
                    "）はそれまで使えないため、その間は計算値で別の機器に MAP-E を設定してください"
                    "（`mape export --format openwrt|linux --full`、docs/export.md）。",
                ),
            )
        ]
    fixes = {
        "forbidden": (
            "The request did not come from an address inside the subscriber's "
            "prefix: set the source address (--source-address / prefix source).",
            "要求元が契約プレフィックス内のアドレスではありません。WAN アドレスの設定を確認"
            "してください。",
        ),
        "server_error": (
            "Wait and retry; if it persists, the manufacturer code may be retired "
            "or unknown to the operator.",
            "時間をおいて再試行してください。続く場合はメーカーコードが廃止・未登録の"
            "可能性があります。",
        ),
        "invalid": (
            "The rule server sent something unusable; the saved rules stay in use. "
            "Report it to the operator with the evidence.",
            "ルールサーバーの応答が不正です。保存済みルールを使い続けます。証拠を添えて事業者に"
            "報告してください。",
        ),
        "unreachable": (
            "Check DNS, the IPv6 route and TLS (add the right CA with --ca-file).",
            "DNS・IPv6 経路・TLS（--ca-file で正しい CA を追加）を確認してください。",
        ),
    }
    specific = _NET_FAILURES.get(facts.reason_code or "")
    if outcome == "unreachable" and specific is not None:
        code, explanation, fix = specific
        return [Finding(code, Severity.ERROR, evidence, explanation, fix)]
    fix_en, fix_ja = fixes.get(outcome, ("See the evidence.", "証拠を確認してください。"))
    return [
        Finding(
            f"rules.{outcome}",
            Severity.ERROR,
            evidence,
            Text(
                f"The rule fetch failed ({outcome}).", f"ルールの取得に失敗しました（{outcome}）。"
            ),
            Text(fix_en, fix_ja),
        )
    ]


def _delivered(wire: Softwire) -> Finding:
    kind = "DS-Lite" if wire.mechanism == "dslite" else "IPIP (fixed IPv4)"
    return Finding(
        "rules.ok", Severity.OK, f"{wire.mechanism} delivered",
        Text(f"The operator's server delivers {kind} settings to this router.",
             f"事業者のサーバーはこのルーターに {kind} の設定を配信しています。"),
    )  # fmt: skip


def check_mapping(facts: Facts) -> list[Finding]:
    m = facts.mapping
    if m is None:
        return []
    found = [
        Finding(
            "bmr.match",
            Severity.OK,
            f"{m.rule.ipv6_prefix} → {m.ipv4_text} PSID {m.psid}",
            Text("A rule covers the prefix.", "ルールがプレフィックスを含みます。"),
        )
    ]
    found.append(
        Finding(
            "iid",
            Severity.INFO,
            m.iid.value,
            Text(
                f"The CE address uses the {m.iid.value} interface id.",
                f"CE アドレスは {m.iid.value} 形式のインターフェース ID です。",
            ),
        )
    )
    found += [
        Finding(
            "prefix.extra_bits",
            Severity.ERROR,
            w.message,
            Text(
                f"Traffic will not flow: {w.message}; the BR sends to that address and drops "
                "what comes from this one.",
                "EA ビットの後ろに 0 でないビットがあり、CE アドレスが BR の導くアドレスと"
                "異なるため、通信できません。",
            ),
            Text(
                "Use a prefix whose bits after the EA bits are zero: behind an HGW that "
                'delegates a /60, the /64 it advertises (prefix.source = "ra"), or have the '
                "whole prefix delegated to this router.",
                "EA ビット以降が 0 のプレフィックスを使ってください。/60 を委譲する HGW の"
                '配下では HGW が広告する /64（prefix.source = "ra"）を使うか、'
                "プレフィックス全体をこのルーターに委譲してもらってください。",
            ),
        )
        for w in m.warnings
    ]
    return found


def check_tunnel(facts: Facts) -> list[Finding]:
    if facts.mapping is None or facts.tunnel_up is None:
        return []
    if not facts.tunnel_up:
        return [
            Finding(
                "tunnel.down",
                Severity.ERROR,
                _say("evidence.no_tunnel"),
                Text("The MAP-E tunnel is not up.", "MAP-E トンネルが動いていません。"),
                Text(
                    "Start the agent (mape agent) or mape tunnel.",
                    "mape agent または mape tunnel を起動してください。",
                ),
            )
        ]
    found = [
        Finding(
            "tunnel.up",
            Severity.OK,
            f"MTU {facts.tunnel_mtu}",
            Text("The tunnel is up.", "トンネルは動作しています。"),
        )
    ]
    if facts.br_reachable is False:
        found.append(
            Finding(
                "br.unreachable",
                Severity.ERROR,
                str(facts.mapping.rule.br),
                Text("The BR does not answer.", "BR が応答しません。"),
                Text("Check the IPv6 route to the BR.", "BR への IPv6 経路を確認してください。"),
            )
        )
    if facts.tunnel_mtu is not None and facts.tunnel_mtu > 1460:
        found.append(
            Finding(
                "mtu.high",
                Severity.WARNING,
                f"MTU {facts.tunnel_mtu}",
                Text(
                    "The tunnel MTU is above 1460; large packets may be lost.",
                    "トンネル MTU が 1460 を超えています。",
                ),
                Text("Set the tunnel MTU to 1460.", "MTU を 1460 にしてください。"),
            )
        )
    if facts.mss_clamp is False:
        found.append(
            Finding(
                "mss.missing",
                Severity.WARNING,
                _say("evidence.no_mss"),
                Text(
                    "TCP MSS is not clamped; some sites will stall.",
                    "TCP MSS が調整されていません。",
                ),
                Text("Load mapekit's ruleset.", "mapekit のルールセットを読み込んでください。"),
            )
        )
    return found


def check_nat(facts: Facts) -> list[Finding]:
    m = facts.mapping
    if m is None or facts.nat_ranges is None:
        return []
    want = (
        {p for a, b in m.port_set.ranges() for p in range(a, b + 1)}
        if (m.port_set.restricted)
        else set()
    )
    have = {p for a, b in facts.nat_ranges for p in range(a, b + 1)}
    if want and not have:
        return [
            Finding(
                "nat.missing",
                Severity.ERROR,
                _say("evidence.no_nat"),
                Text("Nothing NATs into the port set.", "ポートセットへの NAT がありません。"),
                Text(
                    "Load the ruleset of `mape plan --nft`.",
                    "`mape plan --nft` のルールセットを読み込んでください。",
                ),
            )
        ]
    outside = have - want if want else set()
    if outside:
        return [
            Finding(
                "nat.outside",
                Severity.ERROR,
                _say("evidence.outside", count=len(outside)),
                Text(
                    "The NAT uses ports of other CEs: their traffic and yours will clash.",
                    "NAT が他の CE のポートを使っています。",
                ),
                Text(
                    "Regenerate the ruleset from the current mapping.",
                    "現在のマッピングからルールセットを作り直してください。",
                ),
            )
        ]
    if len(have) < len(want) / 2:
        return [
            Finding(
                "nat.partial",
                Severity.WARNING,
                _say("evidence.some_ports", have=len(have), want=len(want)),
                Text(
                    "The NAT uses only part of the port set (the common 'first block "
                    "only' setup): many connections to one site will fail.",
                    "NAT がポートセットの一部（先頭ブロックのみなど）しか使っていません。",
                ),
                Text(
                    "Use mapekit's ruleset (every block, numgen map).",
                    "mapekit のルールセット（全ブロック）を使ってください。",
                ),
            )
        ]
    return [
        Finding(
            "nat.ok",
            Severity.OK,
            _say("evidence.ports", count=len(have)),
            Text("The NAT covers the port set.", "NAT はポートセット全体を使っています。"),
        )
    ]


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


# counters of tunnel packets refused because they claim an address or port of this CE
# they cannot have, or to come from the BR without coming from it (RFC 7597 §8)
FORGED = ("in_drop_spoofed_source", "in_drop_port_outside_set")
FORGED_WARNING = 10  # fewer can be stray packets (a BR's slip, a renumbered neighbour)


def check_forged(facts: Facts) -> list[Finding]:
    if facts.counters is None:
        return []
    seen = {name: facts.counters.get(name, 0) for name in FORGED if facts.counters.get(name)}
    if not seen:
        return []
    total = sum(seen.values())
    severity = Severity.WARNING if total >= FORGED_WARNING else Severity.INFO
    evidence = ", ".join(f"{name.removeprefix('in_drop_')} {count}" for name, count in seen.items())
    return [
        Finding(
            "tunnel.forged",
            severity,
            evidence,
            Text(
                f"{total} packets came through the tunnel with addresses or ports that are not "
                "this CE's, or claiming to be from the BR without coming from it; mapekit "
                "dropped them (RFC 7597 §8). A few can be stray traffic; a count that keeps "
                "growing means someone on the access network is forging packets.",
                f"この CE 宛てではないアドレス・ポート、または BR 以外から来たパケットが {total} 個"
                "トンネルに届き、破棄しました (RFC 7597 §8)。増え続ける場合はアクセス網上の"
                "誰かが偽装パケットを送っています。",
            ),
            Text(
                "Nothing to change on the CE. If the count keeps growing, give the operator "
                "the counts and the times (mape status --json shows them).",
                "CE 側の対処は不要です。増え続ける場合はカウンタと時刻を事業者に伝えてください"
                "（mape status --json）。",
            ),
        )
    ]


CHECKS: tuple[Check, ...] = (
    check_wan,
    check_prefix,
    check_hgw,
    check_server,
    check_rules,
    check_mapping,
    check_tunnel,
    check_nat,
    check_port_use,
    check_forged,
)


def diagnose(facts: Facts) -> list[Finding]:
    checks = (check_config, CHECKS[0], check_wan_mtu, *CHECKS[1:5], check_table,
              *SOFTWIRE_CHECKS, *CHECKS[5:])  # fmt: skip
    return [finding for check in checks for finding in check(facts)]


def cause(findings: list[Finding]) -> Finding | None:
    """The first error, else the first warning: what the doctor names as the cause."""
    for severity in (Severity.ERROR, Severity.WARNING):
        for finding in findings:
            if finding.severity is severity:
                return finding
    return None
