"""The doctor's words for DS-Lite and IPIP, in English and Japanese: one table, filled in
with ``{name}``-style fields by :func:`text` (a test checks that every entry has Japanese
and the same fields in both languages)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mapekit.diag.model import Text

_NO_TUNNEL_EN = " Without the AFTR's address there is no DS-Lite tunnel, so IPv4 does not work."
_NO_TUNNEL_JA = "AFTR のアドレスがなければ DS-Lite トンネルを作れず、IPv4 は使えません。"

_PAIRS: dict[str, tuple[str, str]] = {
    # --- the AFTR's name --------------------------------------------------------------
    "aftr.resolves": (
        "The AFTR's name {name} resolves to {address}.",
        "AFTR 名 {name} は {address} に解決できます。",
    ),
    "aftr.dns:NXDOMAIN": (
        "The AFTR's name {name} does not exist (NXDOMAIN from {resolver}): the name is "
        "wrong, or this resolver does not know it — some operators publish their AFTR only "
        "in the DNS their IPv6 line hands out." + _NO_TUNNEL_EN,
        "AFTR 名 {name} は存在しません（{resolver} の応答が NXDOMAIN）。名前の誤りか、この "
        "DNS サーバーが名前を知りません（AFTR を IPv6 回線で配布される DNS にしか載せない"
        "事業者もあります）。" + _NO_TUNNEL_JA,
    ),
    "aftr.dns:NODATA": (
        "The AFTR's name {name} exists but has no IPv6 address (no AAAA record: NODATA from "
        "{resolver})." + _NO_TUNNEL_EN,
        "AFTR 名 {name} は存在しますが IPv6 アドレス（AAAA レコード）がありません（{resolver} "
        "の応答が NODATA）。" + _NO_TUNNEL_JA,
    ),
    "aftr.dns:timeout": (
        "The resolver {resolver} did not answer the AAAA query for {name} in time." + _NO_TUNNEL_EN,
        "DNS サーバー {resolver} が {name} の AAAA 問い合わせに時間内に応答しませんでした。"
        + _NO_TUNNEL_JA,
    ),
    "aftr.dns:SERVFAIL": (
        "The resolver {resolver} failed or refused the AAAA query for {name}." + _NO_TUNNEL_EN,
        "DNS サーバー {resolver} が {name} の AAAA 問い合わせに失敗したか拒否しました。"
        + _NO_TUNNEL_JA,
    ),
    "aftr.dns:error": (
        "The AAAA query for {name} to {resolver} failed." + _NO_TUNNEL_EN,
        "{resolver} への {name} の AAAA 問い合わせに失敗しました。" + _NO_TUNNEL_JA,
    ),
    "aftr.dns.fix": (
        "Check the AFTR name (dslite.aftr, or the name DHCPv6 option 64 gives) and use the "
        "DNS server the IPv6 line hands out (dslite.dns_server); or give the AFTR's IPv6 "
        "address itself in dslite.aftr.",
        "AFTR 名（dslite.aftr、または DHCPv6 オプション 64 で届く名前）を確認し、IPv6 回線で"
        "配布される DNS サーバーを使ってください（dslite.dns_server）。AFTR の IPv6 アドレスを"
        "dslite.aftr に直接書くこともできます。",
    ),
    # --- the update URL of an IPIP line -----------------------------------------------
    "update.ok": (
        "The operator's update URL accepted the tunnel address at {time}.",
        "事業者のアップデート URL は {time} にトンネルアドレスを受け付けました。",
    ),
    "update.refused": (
        "The operator's update URL refused the last call ({answer}, at {time}): the operator "
        "still sends the fixed address's traffic to the old tunnel address, so nothing comes "
        "back.",
        "事業者のアップデート URL が直近の呼び出しを拒否しました（{answer}、{time}）。事業者は"
        "固定アドレス宛ての通信を古いトンネルアドレスに送り続けるため、応答が返りません。",
    ),
    "update.refused.fix": (
        "Check ipip.update_user, ipip.update_password (neither is shown here) and "
        "ipip.update_url against the operator's notice; the agent calls again after every "
        "address change and when it starts (systemctl restart mapekit-agent).",
        "ipip.update_user・ipip.update_password（ここには表示しません）と ipip.update_url を"
        "事業者の通知と照らし合わせてください。エージェントはアドレスが変わるたびと起動時に"
        "再度呼び出します（systemctl restart mapekit-agent）。",
    ),
    "update.failed": (
        "The last call of the operator's update URL failed ({answer}, at {time}): the "
        "operator may still have the old tunnel address.",
        "事業者のアップデート URL の直近の呼び出しに失敗しました（{answer}、{time}）。事業者は"
        "古いトンネルアドレスのままの可能性があります。",
    ),
    "update.failed.fix": (
        "Check the IPv6 path and DNS to the URL's server, and its certificate (an extra CA "
        "in ipip.ca_file); the agent retries after every address change and when it starts.",
        "URL のサーバーへの IPv6 経路・DNS・証明書（追加の CA は ipip.ca_file）を確認して"
        "ください。エージェントはアドレスが変わるたびと起動時に再試行します。",
    ),
    # --- the IPIP tunnel address (prefix subnet 0 + the operator's interface ID) -------
    "ipip.address": (
        "The IPIP tunnel address {expected} (the prefix's subnet 0 and the operator's "
        "interface ID) is on {interface}.",
        "IPIP トンネルアドレス {expected}（プレフィックスのサブネット 0 と事業者指定の"
        "インターフェース ID）は {interface} にあります。",
    ),
    "ipip.no_address:renumbered": (
        "The prefix changed, and the tunnel still uses the old address {applied}: the new "
        "tunnel address {expected} is not configured yet, so the operator's endpoint has "
        "nowhere to send.",
        "プレフィックスが変わりましたが、トンネルは古いアドレス {applied} のままです。新しい"
        "トンネルアドレス {expected} がまだ設定されていないため、事業者の終端装置は送り先を"
        "持ちません。",
    ),
    "ipip.no_address:stale": (
        "An address with the interface ID {iid} is still on {interface} under an old prefix, "
        "but the current one needs {expected}: the prefix changed and mapekit has not "
        "caught up.",
        "インターフェース ID {iid} のアドレスが古いプレフィックスのまま {interface} に残って"
        "いますが、現在のプレフィックスでは {expected} が必要です。プレフィックスが変わり、"
        "mapekit がまだ追従していません。",
    ),
    "ipip.no_address:missing": (
        "The IPIP tunnel address {expected} (subnet 0 of the prefix with the interface ID "
        "{iid}) is on no interface: the operator's endpoint sends the fixed address's "
        "traffic there, so nothing comes back. Compare it, and what {interface} has, with "
        "the operator's notice: a mistyped interface ID gives another address.",
        "IPIP トンネルアドレス {expected}（プレフィックスのサブネット 0 とインターフェース ID "
        "{iid}）がどのインターフェースにもありません。事業者の終端装置は固定アドレス宛ての"
        "通信をそこへ送るため、応答が返りません。このアドレスと {interface} にあるアドレスを"
        "事業者の通知と比べてください（インターフェース ID を誤記すると別のアドレスになります）。",
    ),
    "ipip.no_address:outside": (
        "The tunnel address the operator gave ({expected}) is not inside this router's prefix "
        "{prefix}: the prefix changed since the operator's record, or the line is another one.",
        "事業者が指定したトンネルアドレス（{expected}）がこのルーターのプレフィックス {prefix} "
        "の中にありません。事業者の記録の後にプレフィックスが変わったか、別の回線です。",
    ),
    "ipip.no_address.fix": (
        "Check ipip.interface_id against the operator's notice; let the agent apply the new "
        "prefix (systemctl restart mapekit-agent); it then calls the update URL so the "
        "operator learns the new address.",
        "ipip.interface_id を事業者の通知と照らし合わせ、エージェントに新しいプレフィックスを"
        "適用させてください（systemctl restart mapekit-agent）。その後エージェントがアップ"
        "デート URL を呼び出し、事業者に新しいアドレスを伝えます。",
    ),
    # --- the AFTR or endpoint over IPv6 -----------------------------------------------
    "softwire.reachable": (
        "The {role} {address} answers over IPv6.",
        "{role_ja} {address} は IPv6 で応答します。",
    ),
    "softwire.unreachable:no route": (
        "This router has no IPv6 route to the {role} {address}: the tunnel's packets cannot leave.",
        "このルーターには {role_ja} {address} への IPv6 経路がありません。トンネルのパケットを"
        "送り出せません。",
    ),
    "softwire.unreachable:unreachable": (
        "The network says the {role} {address} is unreachable ({detail}).",
        "網から {role_ja} {address} に到達できないと通知されました（{detail}）。",
    ),
    "softwire.unreachable:no reply": (
        "The {role} {address} did not answer an ICMPv6 echo. Some endpoints never answer "
        "echoes; if IPv4 does not work either, the path to it is broken.",
        "{role_ja} {address} が ICMPv6 エコーに応答しませんでした。エコーに応答しない終端装置も"
        "ありますが、IPv4 も使えない場合はそこまでの経路が切れています。",
    ),
    "softwire.unreachable.fix": (
        "Check the IPv6 default route on the WAN (the line's router advertisement), any "
        "firewall, and the {role}'s address (the operator's notice or the DNS answer).",
        "WAN の IPv6 既定経路（回線の RA）、ファイアウォール、{role_ja}のアドレス（事業者の"
        "通知または DNS の応答）を確認してください。",
    ),
}

TEXTS: Mapping[str, tuple[str, str]] = MappingProxyType(_PAIRS)
ROLES = {"dslite": ("AFTR", "AFTR"), "ipip": ("IPIP endpoint", "IPIP 終端装置")}


def text(key: str, **fields: object) -> Text:
    """The entry ``key`` with its fields filled in, in both languages."""
    en, ja = TEXTS[key]
    return Text(en.format(**fields), ja.format(**fields))
