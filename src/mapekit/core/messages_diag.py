"""Messages of the doctor and of ``mape setup``'s report (part of the catalogue in
``mapekit.core.messages``)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

DIAG: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        # the doctor's marks, labels and the evidence its checks write
        "doctor.mark.ok": ("ok  ", "正常"),
        "doctor.mark.info": ("info", "情報"),
        "doctor.mark.warning": ("WARN", "警告"),
        "doctor.mark.error": ("FAIL", "異常"),
        "doctor.cause": ("Cause: ", "原因: "),
        "doctor.fix": ("Fix: ", "対処: "),
        "doctor.nothing": ("No problem found.", "問題は見つかりませんでした。"),
        "evidence.not_checked": ("not checked", "未確認"),
        "evidence.no_global": (
            "{wan}: no global IPv6 address",
            "{wan}: グローバル IPv6 アドレスなし",
        ),
        "evidence.pd_only": ("PD only", "プレフィックス委譲のみ"),
        "evidence.no_prefix": ("no End-user prefix", "エンドユーザープレフィックスなし"),
        "evidence.hgw_on": ("HGW reports MAP-E ON", "HGW の MAP-E が ON"),
        "evidence.no_hgw": ("no HGW", "HGW なし"),
        "evidence.hgw_off": ("an HGW without MAP-E", "MAP-E を使っていない HGW"),
        "evidence.no_resolve": ("{host} does not resolve", "{host} の名前解決に失敗"),
        "evidence.no_connection": ("no connection to {host}", "{host} に接続できません"),
        "evidence.delivered": ("rules delivered", "ルールを受信"),
        "evidence.no_tunnel": ("no tunnel device", "トンネルデバイスなし"),
        "evidence.no_mss": ("no MSS clamping", "MSS クランプなし"),
        "evidence.no_nat": ("no NAT into the port set", "ポートセットへの NAT なし"),
        "evidence.outside": ("{count} ports outside the set", "ポートセット外のポート {count} 個"),
        "evidence.some_ports": ("{have} of {want} ports", "{want} ポート中 {have} ポート"),
        "evidence.ports": ("{count} ports", "{count} ポート"),
        "evidence.no_config": (
            "no agent configuration ({path})",
            "エージェントの設定なし（{path}）",
        ),
        "evidence.no_rule": (
            "{prefix}: no rule in the {source}",
            "{prefix}: {source} に該当ルールなし",
        ),
        # mape setup's report
        "setup.title": ("What was found and chosen", "検出結果と選択"),
        "setup.wan": ("WAN", "WAN インターフェース"),
        "setup.lan": ("LAN", "LAN インターフェース"),
        "setup.prefix": ("Prefix", "プレフィックス"),
        "setup.delivery": ("Prefix arrives by", "プレフィックスの受け取り方"),
        "setup.hgw": ("HGW", "ホームゲートウェイ"),
        "setup.hb46pp": ("HB46PP record", "HB46PP レコード"),
        "setup.provider": ("Provider", "プロバイダー"),
        "setup.prefix_source": ("Prefix source", "プレフィックスの入手元"),
        "setup.mapping": ("Mapping", "マッピング"),
        "setup.why": ("Why:", "理由:"),
        "setup.files": ("Files:", "ファイル:"),
        "setup.next": ("Next:", "次の手順:"),
        "setup.none": ("none", "なし"),
        "setup.status.new": ("new", "新規"),
        "setup.status.changed": ("changed", "変更"),
        "setup.status.unchanged": ("unchanged", "変更なし"),
        "setup.confirm": ("Write these files? [y/N] ", "これらのファイルを書き込みますか? [y/N] "),
        # mape setup's reasons about a DS-Lite AFTR (core/data/aftr_names.json)
        "setup.aftr.known": (
            "{aftr} is the AFTR of {service} ({operator}).",
            "{aftr} は {service}（{operator}）の AFTR です。",
        ),
        "setup.aftr.unknown": (
            "{aftr} is none of the AFTR names mapekit knows ({known}); that is fine when "
            "your operator gave it.",
            "{aftr} は mapekit が知っている AFTR 名（{known}）のどれでもありません。"
            "事業者から通知された名前であれば問題ありません。",
        ),
        "setup.aftr.none": (
            "No AFTR name was given: the agent takes the one DHCPv6 option 64 brings. If none "
            "arrives, set your operator's (mape setup --aftr NAME, or dslite.aftr): {known}.",
            "AFTR 名の指定がないため、DHCPv6 オプション 64 で通知される名前を使います。"
            "通知がない場合は事業者の AFTR 名を指定してください（mape setup --aftr NAME "
            "または dslite.aftr）: {known}",
        ),
    }
)
