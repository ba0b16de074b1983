"""Messages of the CE's status (``mape status``, ``mape provision``) and its state names
(part of the catalogue in ``mapekit.core.messages``). State names follow Japanese router
manuals: 確立, 待機中, …; the status page of the agent uses the same words."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

STATUS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "status.state": ("State", "状態"),
        "status.why": ("Why", "理由"),
        "status.outcome": ("Last outcome", "前回の結果"),
        "status.agent": ("Agent", "エージェント"),
        "status.running": ("running since {since}", "{since} から動作中"),
        "status.not_running": ("not running", "停止中"),
        "status.ran": (
            "not running; it ran from {start} to {stop}",
            "停止中（{start} から {stop} まで動作）",
        ),
        "status.crashed": (
            "not running; it started at {start} and did not stop cleanly",
            "停止中（{start} に起動し、正常に終了していません）",
        ),
        "status.provider": ("Provider", "プロバイダー"),
        "status.rules": ("Rules", "ルール"),
        "status.rules_line": (
            "{count} saved, updated {when} ({age})",
            "保存 {count} 件、更新 {when}（{age}）",
        ),
        "status.rules_never": ("{count} saved, never updated", "保存 {count} 件、未取得"),
        "status.hgw": ("Home gateway", "ホームゲートウェイ"),
        "status.prefix": ("Prefix", "プレフィックス"),
        "status.prefix_source": ("from {source}", "入手元 {source}"),
        "status.mapping": ("Mapping", "マッピング"),
        "status.bmr": ("Rule (BMR)", "ルール (BMR)"),
        "status.ipv4": ("IPv4 address", "IPv4 アドレス"),
        "status.ipv4_line": (
            "{ipv4}, PSID {psid} ({bits} bits), {ports} ports",
            "{ipv4}、PSID {psid}（{bits} ビット）、{ports} ポート",
        ),
        "status.ce_ipv6": ("CE IPv6 address", "CE の IPv6 アドレス"),
        "status.br": ("BR", "BR アドレス"),
        "status.dataplane": ("Data plane", "データプレーン"),
        "status.backend_line": ("{backend}, tunnel {tunnel}", "{backend}、トンネル {tunnel}"),
        "status.repairs": ("Repairs", "修復回数"),
        "status.repairs_line": (
            "{count} (something removed what the agent applied)",
            "{count} 回（エージェントの設定が外部から削除されました）",
        ),
        "status.traffic": ("Traffic", "通信量"),
        "status.traffic_line": (
            "out {out_packets} packets ({out_bytes}), in {in_packets} packets ({in_bytes})",
            "送信 {out_packets} パケット（{out_bytes}）、受信 {in_packets} パケット（{in_bytes}）",
        ),
        "status.drops": ("Dropped", "破棄"),
        "status.ports_in_use": ("Ports in use", "使用中のポート"),
        "status.ports_line": (
            "{used} of {count} ({flows} flows)",
            "{count} 中 {used}（フロー {flows}）",
        ),
        "status.nat_failures": ("NAT failures", "NAT 失敗"),
        "status.busiest": ("Busiest destination", "利用の多い宛先"),
        "status.busiest_line": (
            "{where}: {flows} flows ({share} of the set), most from {host}",
            "{where}: フロー {flows}（ポートセットの {share}）、主に {host}",
        ),
        "status.requests": ("Requests", "要求回数"),
        "status.requests_line": (
            "{requests} (success {successes}, failure {failures}), last {when}",
            "{requests} 回（成功 {successes}、失敗 {failures}）、最終 {when}",
        ),
        "status.next": ("Next attempt", "次回の取得"),
        "status.next_line": ("{when} (in {seconds} s)", "{when}（{seconds} 秒後）"),
        "status.last_error": ("Last error", "最後のエラー"),
        "status.note": ("Note", "備考"),
        "status.events": ("Recent events", "最近のイベント"),
        "status.from": ("(from the {source})", "（{source} から）"),
        "status.from_agent": ("agent at {path}", "{path} のエージェント"),
        "status.from_saved": ("saved status in {path}", "{path} の保存済み状態"),
        "age.seconds": ("{n} s ago", "{n} 秒前"),
        "age.minutes": ("{n} min ago", "{n} 分前"),
        "age.hours": ("{n} h ago", "{n} 時間前"),
        "age.days": ("{n} days ago", "{n} 日前"),
        # the CE's states (provision/table.py State) and the HGW's
        "state.waiting": ("waiting", "待機中"),
        "state.checking HGW": ("checking HGW", "HGW 確認中"),
        "state.getting rule": ("getting rule", "ルール取得中"),
        "state.reporting": ("reporting", "通知中"),
        "state.established": ("established", "確立"),
        "state.HGW active": ("HGW active", "HGW で MAP-E 動作中"),
        "hgw.none": ("none", "なし"),
        "hgw.off": ("present, MAP-E off", "あり（MAP-E 停止）"),
        "hgw.on": ("present, running MAP-E", "あり（MAP-E 動作中）"),
        "hgw.unknown": ("not checked", "未確認"),
        "hgw.no HGW": ("no HGW", "HGW なし"),
        "hgw.HGW present, MAP-E off": ("HGW present, MAP-E off", "HGW あり、MAP-E 停止"),
    }
)
