"""The CE event log: stable codes, one-line messages in English and Japanese.

Codes keep the meanings deployed routers gave them (MAPE.011 HGW check, MAPE.014 rule
request, MAPE.016 failure, MAPE.022 status change, MAPE.004 next attempt); the rest are
numbered in the same spirit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# code → (English, Japanese); {placeholders} are filled from the entry's params
MESSAGES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "MAPE.001": (
            "MAP-E provisioning started ({provider})",
            "MAP-E 設定取得を開始 ({provider})",
        ),
        "MAPE.002": ("MAP-E stopped ({reason})", "MAP-E 停止 ({reason})"),
        "MAPE.003": (
            "mapekit agent {version} started: provider {provider}, data plane {backend}",
            "mapekit エージェント {version} 起動: プロバイダー {provider}、"
            "データプレーン {backend}",
        ),
        "MAPE.004": (
            "Next get MAP-E rule information after {seconds} seconds",
            "{seconds} 秒後に MAP-E ルール情報を再取得",
        ),
        "MAPE.011": ("Check MAP-E HGW", "MAP-E HGW を確認"),
        "MAPE.012": ("Detected MAP-E HGW, stop MAP-E", "MAP-E HGW を検出、MAP-E を停止"),
        "MAPE.013": (
            "Not detected MAP-E HGW, continue MAP-E ({hgw})",
            "MAP-E HGW は検出されず、MAP-E を継続 ({hgw})",
        ),
        "MAPE.014": ("Request MAP-E rule information", "MAP-E ルール情報を要求"),
        "MAPE.015": (
            "Success get MAP-E rule information ({count} rules)",
            "MAP-E ルール情報の取得に成功 ({count} 件)",
        ),
        "MAPE.016": (
            "Failure get MAP-E rule information ({reason})",
            "MAP-E ルール情報の取得に失敗 ({reason})",
        ),
        "MAPE.017": (
            "Report MAP-E action (action {action}, reason {reason})",
            "MAP-E 動作を通知 (action {action}, reason {reason})",
        ),
        "MAPE.018": ("Success report MAP-E action", "MAP-E 動作の通知に成功"),
        "MAPE.019": ("Failure report MAP-E action ({reason})", "MAP-E 動作の通知に失敗 ({reason})"),
        "MAPE.020": (
            "MAP-E rule applied: {ipv4} PSID {psid}, {ports} ports",
            "MAP-E ルールを適用: {ipv4} PSID {psid}、{ports} ポート",
        ),
        "MAPE.021": ("MAP-E rule withdrawn", "MAP-E ルールを取り下げ"),
        "MAPE.022": (
            "MAP-E status changed from {old} to {new}",
            "MAP-E 状態が {old} から {new} に変化",
        ),
        "MAPE.023": ("IPv6 prefix changed to {prefix}", "IPv6 プレフィックスが {prefix} に変化"),
        "MAPE.024": (
            "Keep saved MAP-E rule information ({reason})",
            "保存済みの MAP-E ルール情報を継続使用 ({reason})",
        ),
        "MAPE.025": ("Saved MAP-E rule information erased", "保存済みの MAP-E ルール情報を消去"),
        "MAPE.026": ("IPv6 prefix lost", "IPv6 プレフィックスを喪失"),
        "MAPE.027": ("Retry requested", "再試行を要求"),
        "MAPE.028": (
            "HGW state changed from {old} to {new}",
            "HGW の状態が {old} から {new} に変化",
        ),
        "MAPE.029": (
            "Resumed the saved MAP-E rule information; next check after {seconds} seconds",
            "保存済みの MAP-E ルール情報で再開、{seconds} 秒後に再確認",
        ),
        "MAPE.030": ("Data plane repaired: {what}", "データプレーンを修復: {what}"),
        "MAPE.031": (
            "Data plane repair failed: {reason}",
            "データプレーンの修復に失敗: {reason}",
        ),
        "MAPE.032": (
            "Data plane removed again and again by something else; next repair after "
            "{seconds} seconds",
            "データプレーンが外部から繰り返し削除されています。{seconds} 秒後に再修復",
        ),
        "MAPE.033": ("Configuration reloaded: {changed}", "設定を再読み込み: {changed}"),
        "MAPE.034": (
            "Configuration not reloaded, the running one is kept: {reason}",
            "設定を再読み込みできません。現在の設定を継続: {reason}",
        ),
        "MAPE.035": ("Data plane error: {reason}", "データプレーンのエラー: {reason}"),
        "MAPE.036": ("Data plane note: {note}", "データプレーンの情報: {note}"),
        "MAPE.041": (
            "NAT failed for lack of ports ({failed} new flows); {host} holds {held} of "
            "{ports} ports toward {destination}",
            "ポート不足で NAT に失敗 (新規 {failed} 件)。{host} が {destination} 宛てに "
            "{ports} ポート中 {held} を使用",
        ),
        "MAPE.042": (
            "{host}: {refused} new flows refused by the port cap",
            "{host}: ポート上限により新規接続 {refused} 件を拒否",
        ),
        "MAPE.043": (
            "{mechanism} tunnel applied: to {remote}, IPv4 {ipv4}",
            "{mechanism} トンネルを適用: 対向 {remote}、IPv4 {ipv4}",
        ),
        "MAPE.044": (
            "Update URL called: {answer}",
            "アップデート URL を呼び出し: {answer}",
        ),
        "MAPE.045": (
            "Update URL failed: {reason}",
            "アップデート URL の呼び出しに失敗: {reason}",
        ),
        "MAPE.037": (
            "Waiting for an IPv6 prefix ({source})",
            "IPv6 プレフィックスを待機中 ({source})",
        ),
    }
)


# code → severity in the journal (syslog names); the codes not listed are "info"
SEVERITY: Mapping[str, str] = MappingProxyType(
    {
        "MAPE.002": "notice",
        "MAPE.003": "notice",
        "MAPE.012": "notice",
        "MAPE.016": "warning",
        "MAPE.019": "warning",
        "MAPE.020": "notice",
        "MAPE.021": "notice",
        "MAPE.022": "notice",
        "MAPE.024": "warning",
        "MAPE.025": "warning",
        "MAPE.026": "warning",
        "MAPE.029": "notice",
        "MAPE.030": "warning",
        "MAPE.031": "error",
        "MAPE.032": "error",
        "MAPE.033": "notice",
        "MAPE.034": "error",
        "MAPE.035": "error",
        "MAPE.037": "notice",
        "MAPE.041": "warning",
        "MAPE.043": "notice",
        "MAPE.045": "warning",
        "MAPE.042": "warning",
    }
)


@dataclass(frozen=True)
class LogEntry:
    """One event: when, which code, and the values its message needs."""

    time: float
    code: str
    params: Mapping[str, object] = field(default_factory=dict)

    def message(self, lang: str = "en") -> str:
        en, ja = MESSAGES[self.code]
        return (ja if lang == "ja" else en).format(**self.params)

    @property
    def severity(self) -> str:
        return SEVERITY.get(self.code, "info")

    def to_dict(self, lang: str = "en") -> dict[str, object]:
        return {
            "time": self.time,
            "code": self.code,
            "severity": self.severity,
            "message": self.message(lang),
        }
