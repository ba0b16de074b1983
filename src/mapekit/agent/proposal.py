"""``mape setup``'s decision, pure: from what was detected and what the user said, the
provisioning method and prefix source to configure, and why, in English and Japanese.

The order: what the user asked for (a provider, or a rule file: static rules); RFC 7598
options from the DHCPv6 server; an HB46PP record; a vendor code the user gave (the JPNE or
OCN API); else the built-in rule table when it covers the prefix — named for what it is:
static rules, no rule server. A prefix no table covers, with nothing else found, is a
question for the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mapekit.core.addr import ipv6_text
from mapekit.core.errors import MapeError
from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet

OPERATOR_NAMES = {"v6plus": "v6plus (JPNE)", "biglobe": "BIGLOBE", "ocn": "OCN Virtual Connect"}


@dataclass(frozen=True)
class Wishes:
    """What the user said on the command line."""

    provider: str | None = None
    url: str | None = None
    vendor_code: str | None = None
    rules_file: str | None = None
    aftr: str | None = None  # DS-Lite
    remote: str | None = None  # IPIP
    ipv4: str | None = None
    interface_id: str | None = None
    update_url: str | None = None
    update_user: str | None = None


@dataclass(frozen=True)
class Seen:
    """What detection found (``mapekit.agent.detect.Detected``, reduced to what decides)."""

    prefix: tuple[int, int] | None
    prefix_seen: str
    delivery: str  # dhcpcd | networkd | ra
    hgw: str | None  # none | off | on
    hb46pp_url: str | None
    s46_options: bool
    aftr: str | None = None  # an AFTR name DHCPv6 option 64 brought


@dataclass(frozen=True)
class Reason:
    en: str
    ja: str


@dataclass(frozen=True)
class Proposal:
    provider: str
    prefix_source: str  # pd | ra | lan
    operator: str | None
    mapping: Mapping | None
    reasons: tuple[Reason, ...]
    settings: dict[str, object] = field(default_factory=dict)  # the provider's section


class NeedsAnswer(MapeError):
    """Nothing detected decides the method: the user must say (the message says how)."""


def operator_of(
    prefix: tuple[int, int] | None, table: RuleSet
) -> tuple[str | None, Mapping | None]:
    if prefix is None:
        return None, None
    try:
        mapping = table.map(*prefix)
    except MapeError:
        return None, None
    return mapping.rule.isp, mapping


def prefix_source(seen: Seen) -> tuple[str, Reason]:
    if seen.hgw in ("on", "off"):
        return "ra", Reason(
            "Behind the home gateway the prefix is the /64 it advertises (prefix.source = ra).",
            "ホームゲートウェイ配下では HGW が広告する /64 を使います（prefix.source = ra）。",
        )
    if seen.delivery == "networkd":
        return "lan", Reason(
            "systemd-networkd takes the delegated prefix and puts its first /64 on the LAN; "
            "the agent reads it there (prefix.source = lan).",
            "systemd-networkd が委譲プレフィックスを受け取り LAN に最初の /64 を設定します。"
            "エージェントはそれを読みます（prefix.source = lan）。",
        )
    if seen.delivery == "dhcpcd":
        return "pd", Reason(
            "dhcpcd asks for the delegated prefix; mapekit's hook writes it for the agent "
            "(prefix.source = pd).",
            "dhcpcd が委譲プレフィックスを要求し、mapekit のフックがエージェントに渡します"
            "（prefix.source = pd）。",
        )
    return "ra", Reason(
        "No DHCPv6 client that can pass a delegated prefix was found: the WAN's RA /64 is "
        "used (prefix.source = ra); install dhcpcd for a delegated prefix.",
        "委譲プレフィックスを渡せる DHCPv6 クライアントがないため、WAN の RA /64 を使います。"
        "委譲プレフィックスには dhcpcd を導入してください。",
    )


def _hgw_reason(seen: Seen) -> list[Reason]:
    if seen.hgw == "on":
        return [Reason(
            "The home gateway answers that it runs MAP-E itself: the agent stands down while it "
            "does (reports reason 4) and comes up when the HGW stops.",
            "ホームゲートウェイ自身が MAP-E を動かしています。その間エージェントは待機し"
            "（理由 4 を通知）、HGW が停止すると動作を始めます。",
        )]  # fmt: skip
    if seen.hgw == "off":
        return [Reason("A home gateway answers, with MAP-E off.",
                       "ホームゲートウェイが応答しました（MAP-E は停止中）。")]  # fmt: skip
    return []


def propose(seen: Seen, wishes: Wishes, table: RuleSet, table_name: str) -> Proposal:
    operator, mapping = operator_of(seen.prefix, table)
    source, why_source = prefix_source(seen)
    reasons = [*_hgw_reason(seen), why_source]
    provider, settings, why = _method(seen, wishes, operator, table_name)
    return Proposal(provider, source, operator, mapping, (why, *reasons), settings)


def _method(
    seen: Seen, wishes: Wishes, operator: str | None, table_name: str
) -> tuple[str, dict[str, object], Reason]:
    if wishes.provider is not None:
        return (
            wishes.provider,
            _given(wishes),
            Reason(
                f"provider = {wishes.provider}, as asked.",
                f"指定どおり provider = {wishes.provider} にします。",
            ),
        )
    if wishes.rules_file is not None:
        return "static", _given(wishes), _static_reason(operator, table_name, seen)
    if seen.aftr is not None:
        return (
            "dslite",
            {},
            Reason(
                f"The DHCPv6 server names a DS-Lite AFTR ({seen.aftr}, option 64): this line "
                "carries IPv4 over DS-Lite (transix, Xpass, v6 connect); the AFTR does the NAT.",
                f"DHCPv6 サーバーが DS-Lite の AFTR（{seen.aftr}、オプション 64）を通知しています。"
                "この回線の IPv4 は DS-Lite（transix・クロスパス・v6 コネクトなど）で、NAT は AFTR "
                "が行います。",
            ),
        )
    if seen.s46_options:
        return (
            "dhcpv6",
            {},
            Reason(
                "The DHCPv6 server sends MAP-E options (RFC 7598): the rules come with the prefix.",
                "DHCPv6 サーバーが MAP-E オプション（RFC 7598）を送っています。",
            ),
        )
    if seen.hb46pp_url is not None:
        return (
            "hb46pp",
            {},
            Reason(
                f"The operator publishes an HB46PP record (4over6.info → {seen.hb46pp_url}): the "
                "rules come from its provisioning server.",
                f"事業者が HB46PP のレコードを公開しています（4over6.info → {seen.hb46pp_url}）。",
            ),
        )
    if wishes.vendor_code is not None:
        kind = "ocn" if operator == "ocn" else "jpne"
        return (
            kind,
            _given(Wishes(kind, wishes.url, wishes.vendor_code)),
            Reason(
                f"A vendor code was given: the rules come from the operator's rule API ({kind}).",
                f"ベンダーコードが指定されたため、事業者のルール API（{kind}）から取得します。",
            ),
        )
    if operator is not None or seen.prefix is None:
        return "static", _given(wishes), _static_reason(operator, table_name, seen)
    raise NeedsAnswer(
        "setup.unknown_operator",
        f"prefix: no rule of the {table_name} covers {_text(seen.prefix)} and no HB46PP record "
        "or DHCPv6 option was found; say how rules arrive: --provider jpne|ocn with --url and "
        "--vendor-code, --provider hb46pp --url URL, --provider dslite --aftr NAME "
        "(transix, Xpass, v6 connect), --provider ipip --remote ADDR --ipv4 ADDR "
        "--interface-id ID (a fixed IPv4 address), or --rules FILE",
        field="provider",
    )


def _static_reason(operator: str | None, table_name: str, seen: Seen) -> Reason:
    name = OPERATOR_NAMES.get(operator or "", operator)
    if operator is None and seen.prefix is not None:
        return Reason(
            f"Static rules from the {table_name}, as asked; it does not cover the prefix seen "
            f"now ({_text(seen.prefix)}): the agent waits until a prefix it covers arrives.",
            f"指定された{table_name}の静的ルールを使います。現在のプレフィックス"
            f"（{_text(seen.prefix)}）は含まれないため、含まれるプレフィックスを待ちます。",
        )
    if operator is None:
        return Reason(
            f"No prefix yet, so the operator is not known: the {table_name} (v6plus, BIGLOBE, "
            "OCN) will pick the rule when the prefix arrives. Static rules: no rule server is "
            "asked; if the operator changes its rules, update mapekit or give a rule file.",
            f"まだプレフィックスがなく事業者が分かりません。プレフィックス取得時に{table_name}"
            "（v6plus・BIGLOBE・OCN）からルールを選びます。静的ルールのためルールサーバーには問い"
            "合わせません。事業者がルールを変えた場合は mapekit を更新するかルールファイルを"
            "指定してください。",
        )
    return Reason(
        f"Your prefix is {name}'s: the {table_name} gives its rule. Static rules: no rule "
        "server is asked and no vendor code is needed; if the operator changes its rules, "
        "this router keeps the old ones until mapekit (or your rule file) is updated.",
        f"このプレフィックスは {name} のものです。{table_name}のルールを使います。静的ルールの"
        "ためルールサーバーへの問い合わせもベンダーコードも不要です。事業者がルールを変えた"
        "場合は mapekit（またはルールファイル）を更新するまで古いルールのままです。",
    )


_SETTINGS_GIVEN = {
    "static": ("rules_file",), "jpne": ("url", "vendor_code"), "ocn": ("url", "vendor_code"),
    "hb46pp": ("url",), "dhcpv6": (), "dslite": ("aftr",),
    "ipip": ("remote", "ipv4", "interface_id", "update_url", "update_user"),
}  # fmt: skip


def _given(wishes: Wishes) -> dict[str, object]:
    """The provider's keys the user gave (those that apply to it)."""
    names = _SETTINGS_GIVEN[wishes.provider or "static"]
    return {n: v for n in names if (v := getattr(wishes, n)) is not None}


def _text(prefix: tuple[int, int] | None) -> str:
    return "the prefix" if prefix is None else f"{ipv6_text(prefix[0])}/{prefix[1]}"
