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
        "MAPE.002": ("MAP-E stopped", "MAP-E 停止"),
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

    def to_dict(self, lang: str = "en") -> dict[str, object]:
        return {"time": self.time, "code": self.code, "message": self.message(lang)}
