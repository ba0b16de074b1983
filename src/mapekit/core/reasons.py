"""The one registry of reason codes.

Every :class:`~mapekit.core.errors.MapeError` carries a ``reason_code`` from this table.
A code is a stable, lowercase, dotted string (``rule.ea_len_range``): scripts may match on
it, so a code is never renamed or reused. Each code belongs to a :class:`Category`, and the
command line maps each category to one exit status (``mapekit.cli.exitcodes``). Each code
has a plain-language explanation in English and Japanese: the message of an error says
what was wrong *here* (field and value); the explanation says what the code means in
general and what usually helps.

``docs/reasons.md`` is generated from this table (``python -m mapekit.core.reasons``) and
a test keeps it in step.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


class Category(enum.Enum):
    """What kind of failure a reason code describes (one exit status each)."""

    USAGE = "usage"  # the command line itself was wrong
    INPUT = "input"  # a value given by the user is malformed or out of range
    RULE = "rule"  # a MAP-E rule is inconsistent
    NOT_FOUND = "not_found"  # well-formed input, but nothing maps it
    DATA = "data"  # a rule file or encoded option could not be used
    # provisioning outcomes (the value is the outcome name of `mape provision --json`)
    INVALID = "invalid"  # a provisioning reply is malformed, or its rules are unusable
    BLANK = "blank"  # the server answered, but delivers no rules to this requester
    HGW_ACTIVE = "hgw_active"  # the home gateway runs MAP-E itself
    FORBIDDEN = "forbidden"  # the server refuses this source address (403)
    REJECTED = "rejected"  # the server refused the request otherwise (other 4xx)
    SERVER_ERROR = "server_error"  # the server failed (5xx)
    UNREACHABLE = "unreachable"  # no answer: DNS, connection, TLS or timeout
    UNSUPPORTED = "unsupported"  # only mechanisms mapekit does not run are offered
    SYSTEM = "system"  # the host could not be set up (devices, addresses, routes, rules)
    DIAGNOSIS = "diagnosis"  # the doctor found problems
    CONFIG = "config"  # a configuration file is wrong: fix it, restarting will not help
    INTERNAL = "internal"  # a bug in mapekit


@dataclass(frozen=True)
class Reason:
    """One registered reason code with its meaning."""

    code: str
    category: Category
    en: str
    ja: str


_REASONS: tuple[Reason, ...] = (
    # --- usage -----------------------------------------------------------------------
    Reason(
        "usage.invalid_arguments",
        Category.USAGE,
        "The command line is not valid for this command; see `mape COMMAND --help`.",
        "コマンドラインが正しくありません。`mape COMMAND --help` を参照してください。",
    ),
    Reason(
        "usage.incomplete_rule",
        Category.USAGE,
        "A rule given on the command line needs all of --rule-ipv6, --rule-ipv4, --ea-len "
        "and --psid-offset.",
        "コマンドラインでルールを指定する場合は --rule-ipv6、--rule-ipv4、--ea-len、"
        "--psid-offset をすべて指定してください。",
    ),
    # --- input -----------------------------------------------------------------------
    Reason(
        "input.address_syntax",
        Category.INPUT,
        "The text is not a valid IPv4 or IPv6 address.",
        "IPv4 または IPv6 アドレスとして正しくありません。",
    ),
    Reason(
        "input.prefix_syntax",
        Category.INPUT,
        "The text is not a valid prefix in ADDRESS/LENGTH form.",
        "ADDRESS/LENGTH 形式のプレフィックスとして正しくありません。",
    ),
    Reason(
        "input.prefix_host_bits",
        Category.INPUT,
        "A prefix has bits set after its length; write the network address "
        "(e.g. 240b:10::/31, not 240b:10::1/31).",
        "プレフィックス長より後ろのビットが立っています。ネットワークアドレスで指定してください。",
    ),
    Reason(
        "input.prefix_length_missing",
        Category.INPUT,
        "An End-user prefix needs a length: /56 for a delegated prefix, /64 for the prefix "
        "of a router advertisement.",
        "エンドユーザープレフィックスには長さが必要です（DHCPv6-PD なら /56、RA なら /64 など）。",
    ),
    Reason(
        "input.end_user_prefix_too_long",
        Category.INPUT,
        "An End-user prefix longer than /64 leaves no room for the MAP-E interface id.",
        "/64 より長いエンドユーザープレフィックスには MAP-E のインターフェース ID を置けません。",
    ),
    Reason(
        "input.end_user_prefix_too_short",
        Category.INPUT,
        "The End-user prefix is shorter than the rule's IPv6 prefix plus its EA bits, so it "
        "does not determine the IPv4 address and PSID.",
        "エンドユーザープレフィックスがルールの IPv6 プレフィックス長と EA ビット長の和より"
        "短いため、IPv4 アドレスと PSID が決まりません。",
    ),
    Reason(
        "input.port_syntax",
        Category.INPUT,
        "Expected IPV4:PORT with a port number from 0 to 65535.",
        "IPV4:PORT の形式（ポート番号は 0〜65535）で指定してください。",
    ),
    Reason(
        "input.value_range",
        Category.INPUT,
        "A number is outside the range this field allows.",
        "数値がこの項目の許容範囲外です。",
    ),
    Reason(
        "input.unknown_isp",
        Category.INPUT,
        "The operator name is not one mapekit knows; see `mape rules list`.",
        "不明な事業者名です。`mape rules list` を参照してください。",
    ),
    Reason(
        "input.unknown_iid",
        Category.INPUT,
        "The interface-id format must be `rfc` (RFC 7597) or `legacy` (draft-03).",
        "インターフェース ID の形式は `rfc`（RFC 7597）か `legacy`（draft-03）です。",
    ),
    # --- rule ------------------------------------------------------------------------
    Reason(
        "rule.ea_len_range",
        Category.RULE,
        "The EA-bits length must be from 0 to 48.",
        "EA ビット長は 0〜48 でなければなりません。",
    ),
    Reason(
        "rule.psid_offset_range",
        Category.RULE,
        "The PSID offset must be from 0 to 15.",
        "PSID オフセットは 0〜15 でなければなりません。",
    ),
    Reason(
        "rule.psid_len_range",
        Category.RULE,
        "The PSID offset plus the PSID length must not exceed the 16 bits of a port.",
        "PSID オフセットと PSID 長の和はポート番号の 16 ビットを超えてはなりません。",
    ),
    Reason(
        "rule.ipv6_too_long",
        Category.RULE,
        "The rule's IPv6 prefix length plus its EA-bits length must not exceed 64.",
        "ルールの IPv6 プレフィックス長と EA ビット長の和は 64 以下でなければなりません。",
    ),
    Reason(
        "rule.psid_len_contradicts_ea",
        Category.RULE,
        "An explicit PSID length must equal EA length + IPv4 prefix length - 32 when the EA "
        "bits carry the PSID.",
        "EA ビットが PSID を含む場合、明示した PSID 長は"
        "「EA ビット長 + IPv4 プレフィックス長 - 32」と一致しなければなりません。",
    ),
    Reason(
        "rule.psid_range",
        Category.RULE,
        "An explicit PSID must fit in the PSID length.",
        "明示した PSID が PSID 長に収まりません。",
    ),
    Reason(
        "rule.psid_missing",
        Category.RULE,
        "The rule restricts ports (PSID length > 0) without EA bits for the PSID, so the PSID "
        "itself must be given.",
        "EA ビットに PSID が含まれないままポートを制限しているため、PSID 自体の指定が必要です。",
    ),
    Reason(
        "rule.psid_not_allowed",
        Category.RULE,
        "An explicit PSID is only allowed when the EA bits do not carry one.",
        "EA ビットが PSID を含む場合、PSID を明示することはできません。",
    ),
    Reason(
        "rule.duplicate",
        Category.RULE,
        "Two rules in one rule set have the same Rule IPv6 prefix.",
        "同じルール IPv6 プレフィックスを持つルールが複数あります。",
    ),
    Reason(
        "rule.overlap",
        Category.RULE,
        "Rules in one rule set have overlapping IPv6 or IPv4 prefixes, so a prefix or an "
        "address maps ambiguously.",
        "ルールセット内に IPv6 または IPv4 プレフィックスが重なるルールがあり、"
        "対応が一意に決まりません。",
    ),
    # --- not found -------------------------------------------------------------------
    Reason(
        "lookup.no_rule_for_prefix",
        Category.NOT_FOUND,
        "No rule's IPv6 prefix covers this End-user prefix: the prefix belongs to another "
        "operator, or the rule table is out of date.",
        "このエンドユーザープレフィックスを含むルールがありません。別の事業者のプレフィックスか、"
        "ルール表が古い可能性があります。",
    ),
    Reason(
        "lookup.no_rule_for_ipv4",
        Category.NOT_FOUND,
        "No rule's IPv4 prefix covers this IPv4 address.",
        "この IPv4 アドレスを含むルールがありません。",
    ),
    Reason(
        "lookup.port_outside_set",
        Category.NOT_FOUND,
        "The port is in no port set of this address: it is one of the excluded ports "
        "(A = 0, below 2^(16 - offset)) or outside the provisioned PSID.",
        "このポートはこのアドレスのどのポートセットにも属しません（除外ポートか、割り当てられた "
        "PSID の範囲外です）。",
    ),
    # --- data ------------------------------------------------------------------------
    Reason(
        "data.file_unreadable",
        Category.DATA,
        "The rule file could not be read.",
        "ルールファイルを読み込めません。",
    ),
    Reason(
        "data.file_syntax",
        Category.DATA,
        "The rule file is not valid JSON or TOML.",
        "ルールファイルが JSON または TOML として正しくありません。",
    ),
    Reason(
        "data.file_schema",
        Category.DATA,
        "A rule file entry lacks a field, has one of the wrong type, or has an unknown one.",
        "ルールファイルの項目に、欠けている・型が違う・未知のフィールドがあります。",
    ),
    Reason(
        "data.aftr_name",
        Category.DATA,
        "The DHCPv6 AFTR-Name option (RFC 6334) is malformed; the message names the label or "
        "field (the DS-Lite AFTR's name in DNS wire format).",
        "DHCPv6 の AFTR-Name オプション（RFC 6334）が不正です。問題のラベルまたはフィールドは"
        "メッセージを参照してください（DS-Lite の AFTR 名、DNS ワイヤ形式）。",
    ),
    Reason(
        "data.s46_truncated",
        Category.DATA,
        "A DHCPv6 S46 option ends before its declared length or before a required field.",
        "DHCPv6 S46 オプションが宣言された長さ、または必須フィールドの前で途切れています。",
    ),
    Reason(
        "data.s46_bad_option",
        Category.DATA,
        "A DHCPv6 S46 option has a value RFC 7598 does not allow.",
        "DHCPv6 S46 オプションに RFC 7598 が許さない値があります。",
    ),
    Reason(
        "data.s46_missing_option",
        Category.DATA,
        "A DHCPv6 S46 container lacks an option it must carry.",
        "DHCPv6 S46 コンテナに必須のオプションがありません。",
    ),
    # --- provisioning: malformed replies (remote errors) ------------------------------
    Reason(
        "reply.too_large",
        Category.INVALID,
        "The server's reply is larger than 1 MiB (after undoing any compression); the "
        "largest real rule table (690 rules) takes 130 KB, so a rule reply is never that big.",
        "サーバーの応答が（圧縮を戻した後で）1 MiB を超えています。実在する最大のルール表"
        "（690 ルール）でも 130 KB なので、ルールの応答がこれほど大きくなることはありません。",
    ),
    Reason(
        "reply.too_deep",
        Category.INVALID,
        "The server's reply nests JSON deeper than any rule reply does.",
        "サーバーの応答の JSON の入れ子が深すぎます。",
    ),
    Reason(
        "reply.not_json",
        Category.INVALID,
        "The server's reply is not valid JSON.",
        "サーバーの応答が正しい JSON ではありません。",
    ),
    Reason(
        "reply.not_jsonp",
        Category.INVALID,
        "The server's reply is not a JSONP call `name({...})` with nothing around it.",
        "サーバーの応答が JSONP 形式 `name({...})` ではありません。",
    ),
    Reason(
        "reply.bad_callback",
        Category.INVALID,
        "The JSONP callback name is not the one requested, or not a plain identifier.",
        "JSONP のコールバック名が要求したものと違うか、識別子として不正です。",
    ),
    Reason(
        "reply.duplicate_key",
        Category.INVALID,
        "The reply's JSON names the same key twice in one object; which value counts is "
        "ambiguous, so the reply is refused.",
        "応答の JSON の同じオブジェクトに同じキーが二度現れます。どちらの値が有効か曖昧なため"
        "拒否しました。",
    ),
    Reason(
        "reply.bad_encoding",
        Category.INVALID,
        "The reply uses a content encoding mapekit does not decode, or its compressed data "
        "is corrupt.",
        "応答のコンテンツエンコーディングに対応していないか、圧縮データが壊れています。",
    ),
    Reason(
        "net.redirect_refused",
        Category.UNREACHABLE,
        "The server redirected to a place the protocol does not allow (https to http, "
        "another host, or a status other than the protocol's own).",
        "サーバーがプロトコルで許されないリダイレクト（https から http、別のホスト、規定外の"
        "ステータス）を返しました。",
    ),
    Reason(
        "reply.missing_field",
        Category.INVALID,
        "The server's reply lacks a field it must carry.",
        "サーバーの応答に必須の項目がありません。",
    ),
    Reason(
        "reply.wrong_type",
        Category.INVALID,
        "A field of the server's reply has the wrong type.",
        "サーバーの応答の項目の型が正しくありません。",
    ),
    Reason(
        "reply.bad_value",
        Category.INVALID,
        "A field of the server's reply has a value outside what the protocol allows.",
        "サーバーの応答の項目の値がプロトコルの許す範囲外です。",
    ),
    Reason(
        "reply.invalid_rule",
        Category.INVALID,
        "A rule in the server's reply is inconsistent (the message says which rule, which "
        "field and why).",
        "サーバーの応答に含まれるルールが矛盾しています（どのルールのどの項目かはメッセージを参照）。",
    ),
    Reason(
        "rules.no_bmr",
        Category.INVALID,
        "None of the delivered rules covers this CE's IPv6 prefix, so no IPv4 address or "
        "port set can be derived: the rules belong to another prefix, or the CE uses the "
        "wrong prefix.",
        "配信されたルールのどれもこの CE の IPv6 プレフィックスを含まないため、IPv4 アドレスと"
        "ポートセットを決められません。",
    ),
    Reason(
        "rules.br_missing",
        Category.INVALID,
        "The delivered rules name no BR (DMR) address, so there is nowhere to send IPv4 traffic.",
        "配信されたルールに BR（DMR）アドレスがなく、IPv4 の送り先がありません。",
    ),
    Reason(
        "rules.prefix_too_short",
        Category.INVALID,
        "The CE's IPv6 prefix is shorter than the delivered rule's IPv6 prefix plus EA bits.",
        "CE の IPv6 プレフィックスが、配信されたルールの IPv6 プレフィックス長と EA ビット長の"
        "和より短いです。",
    ),
    # --- provisioning: refusals ---------------------------------------------------------
    Reason(
        "rules.blank",
        Category.BLANK,
        "The rule server answered with an empty rule set: the operator is not delivering "
        "MAP-E rules to this router. Usually the subscriber's deployment target is the home "
        "gateway (HGW); ask the operator to switch it to your own router, or cancel the HGW "
        "rental.",
        "ルールサーバーが空のルールを返しました。事業者はこのルーターに MAP-E ルールを配信して"
        "いません。多くの場合、配信先がホームゲートウェイ（HGW）になっています。自前ルーターへの"
        "切り替えを事業者に依頼するか、HGW のレンタルを解約してください。",
    ),
    Reason(
        "hb46pp.nothing_offered",
        Category.BLANK,
        "The HB46PP server offers no IPv4 service to this line (`order` is empty): out of "
        "the service area, not subscribed, or authentication failed.",
        "HB46PP サーバーはこの回線に IPv4 サービスを提供していません（order が空）。"
        "提供エリア外、未契約、または認証失敗です。",
    ),
    Reason(
        "hgw.active",
        Category.HGW_ACTIVE,
        "The home gateway (HGW) runs MAP-E itself, so this router must not: traffic goes "
        "through the HGW. Turn MAP-E off on the HGW, or let it do the IPv4 service.",
        "ホームゲートウェイ（HGW）自身が MAP-E を動かしているため、このルーターでは動かしません。"
        "HGW の MAP-E を止めるか、IPv4 を HGW に任せてください。",
    ),
    Reason(
        "rules.forbidden",
        Category.FORBIDDEN,
        "The rule server refused this request (403): the request did not come from an "
        "address inside the subscriber's IPv6 prefix, or the line is not subscribed.",
        "ルールサーバーが要求を拒否しました（403）。要求元が契約者の IPv6 プレフィックス内の"
        "アドレスでないか、契約がありません。",
    ),
    Reason(
        "rules.rejected",
        Category.REJECTED,
        "The rule server rejected the request (a 4xx status other than 403).",
        "ルールサーバーが要求を拒否しました（403 以外の 4xx）。",
    ),
    Reason(
        "server.error",
        Category.SERVER_ERROR,
        "The rule server failed (5xx). A 503 with an empty body is also what a retired or "
        "unknown manufacturer code gets; saved rules stay in use.",
        "ルールサーバーがエラーを返しました（5xx）。空の 503 は廃止・未登録のメーカーコードでも"
        "返ります。保存済みのルールを使い続けます。",
    ),
    Reason(
        "net.timeout",
        Category.UNREACHABLE,
        "The server did not answer in time.",
        "サーバーが時間内に応答しませんでした。",
    ),
    Reason(
        "net.unreachable",
        Category.UNREACHABLE,
        "No connection to the server could be made (no route, refused, or no usable source "
        "address).",
        "サーバーに接続できませんでした（経路なし、拒否、または使える送信元アドレスなし）。",
    ),
    Reason(
        "net.dns",
        Category.UNREACHABLE,
        "The server's name could not be resolved.",
        "サーバー名を解決できませんでした。",
    ),
    Reason(
        "net.tls",
        Category.UNREACHABLE,
        "The TLS connection failed: the server's certificate is not trusted or does not "
        "match its name. Add the right CA with --ca-file; verification is never turned off "
        "silently.",
        "TLS 接続に失敗しました。サーバー証明書が信頼できないか名前が一致しません。"
        "--ca-file で正しい CA を追加してください。",
    ),
    Reason(
        "net.too_many_redirects",
        Category.UNREACHABLE,
        "The server redirected too many times.",
        "サーバーのリダイレクトが多すぎます。",
    ),
    Reason(
        "dns.no_record",
        Category.UNREACHABLE,
        "There is no HB46PP discovery record (TXT at 4over6.info): this line has no HB46PP "
        "provisioning.",
        "HB46PP の発見用レコード（4over6.info の TXT）がありません。この回線では HB46PP による"
        "設定配信は行われていません。",
    ),
    Reason(
        "dns.bad_record",
        Category.INVALID,
        "The HB46PP discovery TXT record is malformed (expected `v=v6mig-1 url=… t=a|b`).",
        "HB46PP の TXT レコードの形式が正しくありません（`v=v6mig-1 url=… t=a|b`）。",
    ),
    Reason(
        "hb46pp.unsupported",
        Category.UNSUPPORTED,
        "The HB46PP server offers only mechanisms mapekit does not run (e.g. DS-Lite).",
        "HB46PP サーバーが提供するのは mapekit が対応していない方式（DS-Lite など）だけです。",
    ),
    Reason(
        "status.unavailable",
        Category.NOT_FOUND,
        "No agent answers on its socket and the state directory holds no saved status.",
        "エージェントがソケットで応答せず、状態ディレクトリにも保存された状態がありません。",
    ),
    Reason(
        "state.unreadable",
        Category.DATA,
        "A file in the state directory cannot be used: it is not a regular file (a "
        "directory, FIFO or device), is too large or nested too deeply, or the state "
        "directory is not a directory. A corrupt file is moved aside and kept for inspection.",
        "状態ディレクトリ内のファイルを使えません（通常のファイルでない、大きすぎる、入れ子が"
        "深すぎる、または状態ディレクトリがディレクトリでない）。壊れたファイルは調査用に"
        "別名で残します。",
    ),
    Reason(
        "state.unwritable",
        Category.DATA,
        "The state directory cannot be written (it is a file, or permissions forbid it).",
        "状態ディレクトリに書き込めません（ファイルである、または権限がない）。",
    ),
    Reason(
        "output.refused",
        Category.INPUT,
        "The output path is not a regular file or a new path (a symbolic link, FIFO, device "
        "or directory is never replaced); use `-o -` for standard output.",
        "出力先が通常のファイルでも新しいパスでもありません（シンボリックリンク、FIFO、"
        "デバイス、ディレクトリは置き換えません）。標準出力には `-o -` を使ってください。",
    ),
    Reason(
        "state.corrupt",
        Category.DATA,
        "A saved state file could not be read and was ignored.",
        "保存された状態ファイルを読めなかったため無視しました。",
    ),
    # --- rule server ----------------------------------------------------------------------
    Reason(
        "server.target_needs_hgw",
        Category.INPUT,
        "A subscriber without an HGW rental can only have the deployment target `router`.",
        "HGW をレンタルしていない契約者の配信先は `router` のみです。",
    ),
    Reason(
        "server.not_found",
        Category.NOT_FOUND,
        "No such subscriber, vendor code, rule set or token in the rule server's database.",
        "ルールサーバーのデータベースに該当する契約者・ベンダーコード・ルールセット・"
        "トークンがありません。",
    ),
    Reason(
        "server.exists",
        Category.INPUT,
        "Something with this key already exists in the rule server's database.",
        "同じキーのものがルールサーバーのデータベースに既にあります。",
    ),
    Reason(
        "server.unauthorized",
        Category.USAGE,
        "The admin API needs a valid bearer token (`mape server token add NAME`).",
        "管理 API には有効なベアラートークンが必要です（`mape server token add NAME`）。",
    ),
    Reason(
        "server.database",
        Category.DATA,
        "The rule server's database could not be used (unreachable, or not initialised: run "
        "`mape server init`).",
        "ルールサーバーのデータベースを使えません"
        "（接続不可、または未初期化: `mape server init`）。",
    ),
    Reason(
        "server.forbidden",
        Category.USAGE,
        "The admin token is valid but lacks the scope this operation needs (read or write).",
        "管理トークンは有効ですが、この操作に必要な権限（read または write）がありません。",
    ),
    Reason(
        "server.rate_limited",
        Category.REJECTED,
        "Too many failed admin authentications from this address; wait and retry.",
        "このアドレスからの管理 API の認証失敗が多すぎます。しばらく待ってから再試行してください。",
    ),
    Reason(
        "server.too_large",
        Category.INPUT,
        "The request body is larger than the rule server accepts.",
        "リクエスト本文がルールサーバーの上限を超えています。",
    ),
    # --- agent ---------------------------------------------------------------------------
    Reason(
        "config.invalid",
        Category.CONFIG,
        "The configuration has an unknown, missing, wrongly typed or malformed key; the "
        "message names it (docs/agent.md lists every key).",
        "設定ファイルに未知・不足・型違い・形式違いのキーがあります。メッセージがキーを示します"
        "（全キーは docs/agent.md を参照）。",
    ),
    Reason(
        "update.refused",
        Category.REJECTED,
        "The operator's update URL (IPIP fixed address) refused the call: check the "
        "credentials and the URL (the answer is in the message).",
        "事業者のアップデート URL（IPIP 固定 IP）が呼び出しを拒否しました。認証情報と URL を"
        "確認してください（応答はメッセージにあります）。",
    ),
    Reason(
        "softwire.outside_prefix",
        Category.INVALID,
        "The IPIP tunnel address the operator gave is not inside this CE's prefix: the "
        "prefix changed, or the line is another one.",
        "事業者が指定した IPIP トンネルのアドレスがこの CE のプレフィックス内にありません"
        "（プレフィックスが変わったか、別の回線です）。",
    ),
    Reason(
        "dns.aftr",
        Category.UNREACHABLE,
        "The DS-Lite AFTR's name does not resolve to an IPv6 address (DNS over the WAN).",
        "DS-Lite の AFTR 名を IPv6 アドレスに解決できません（WAN の DNS）。",
    ),
    Reason(
        "setup.unknown_operator",
        Category.USAGE,
        "`mape setup` cannot tell how this line's rules arrive (no table covers the prefix, "
        "no HB46PP record, no DHCPv6 option); the message lists what to pass.",
        "`mape setup` がこの回線のルールの入手方法を判断できません（表にないプレフィックスで、"
        "HB46PP レコードも DHCPv6 オプションもありません）。指定すべき内容はメッセージを参照"
        "してください。",
    ),
    Reason(
        "setup.refused",
        Category.USAGE,
        "`mape setup` writes nothing without a confirmation: answer its question, or pass "
        "--yes (or --dry-run to only look).",
        "`mape setup` は確認なしには書き込みません。質問に答えるか、--yes（確認だけなら "
        "--dry-run）を指定してください。",
    ),
    Reason(
        "config.unreadable",
        Category.CONFIG,
        "A configuration file cannot be read: it is missing, not a regular file (a "
        "directory, FIFO or device), too large, not UTF-8, or nested too deeply "
        "(`mape setup` writes the agent's).",
        "設定ファイルを読めません（存在しない、通常のファイルでない、大きすぎる、UTF-8 でない、"
        "入れ子が深すぎる）。エージェントの設定は `mape setup` で作成できます。",
    ),
    Reason(
        "dataplane.unsupported",
        Category.SYSTEM,
        "The requested data-plane backend cannot run on this host (e.g. the kernel has no "
        "ip6tnl, or the bpf backend has neither a compiled BPF object nor clang to build "
        "one, or no libbpf); the message says why; `auto` or the userspace backend runs.",
        "指定されたデータプレーンはこのホストでは動きません（カーネルに ip6tnl がない、bpf "
        "バックエンドのコンパイル済み BPF オブジェクトも clang も libbpf もないなど。理由は"
        "メッセージにあります）。auto または userspace バックエンドなら動きます。",
    ),
    Reason(
        "doctor.problems",
        Category.DIAGNOSIS,
        "The doctor found at least one problem; its findings say what and how to fix it.",
        "診断で問題が見つかりました。内容と対処は各項目を参照してください。",
    ),
    # --- data plane --------------------------------------------------------------------
    Reason(
        "dataplane.no_device",
        Category.SYSTEM,
        "A network interface mapekit needs does not exist.",
        "mapekit が必要とするネットワークインターフェースがありません。",
    ),
    Reason(
        "dataplane.setup",
        Category.SYSTEM,
        "A tunnel, address, route or ruleset could not be set up (root is needed, and the "
        "kernel must allow it).",
        "トンネル・アドレス・経路・ルールセットを設定できません（root 権限とカーネルの対応が"
        "必要です）。",
    ),
    Reason(
        "lab.failed",
        Category.SYSTEM,
        "The lab could not be built or a step of it failed: a program it runs is missing or "
        "refused its configuration, or something did not happen in time; the message and "
        "the logs folder say which.",
        "ラボを構築できないか、途中の手順が失敗しました（必要なプログラムがない、設定を"
        "拒否された、時間内に終わらないなど）。メッセージとログのフォルダーを確認してください。",
    ),
    Reason(
        "lab.folder",
        Category.INPUT,
        "The lab's folder cannot be used: it is not a directory, belongs to another user, is "
        "writable by others, or holds files that are not a lab's.",
        "ラボのフォルダーを使えません（ディレクトリでない、他のユーザーの所有、他人が書き"
        "込める、ラボ以外のファイルがある）。",
    ),
    # --- install -----------------------------------------------------------------------
    Reason(
        "install.extra_missing",
        Category.SYSTEM,
        "This command needs an optional part of mapekit that is not installed: the rule "
        "server (`mape server`, `mape hgw-emulator`) needs `mapekit[server]`, the lab "
        "`mapekit[lab]`; the message names the pip command.",
        "このコマンドには、インストールされていない mapekit の追加機能が必要です（`mape "
        "server` と `mape hgw-emulator` には `mapekit[server]`、ラボには `mapekit[lab]`）。"
        "インストール方法はメッセージを参照してください。",
    ),
    # --- internal --------------------------------------------------------------------
    Reason(
        "internal.error",
        Category.INTERNAL,
        "mapekit hit an unexpected condition; this is a bug, please report it.",
        "予期しない状態になりました。不具合ですので報告してください。",
    ),
)

REASONS: Mapping[str, Reason] = MappingProxyType({r.code: r for r in _REASONS})


def reason(code: str) -> Reason:
    """The registered reason for ``code``; unknown codes are a programming error."""
    try:
        return REASONS[code]
    except KeyError:
        raise ValueError(f"unregistered reason code {code!r}") from None


def render_markdown() -> str:
    """``docs/reasons.md``: the registry as a table per category."""
    lines = [
        "# Reason codes",
        "",
        "Generated from `src/mapekit/core/reasons.py` by `python -m mapekit.core.reasons`;",
        "do not edit by hand. Codes are stable: scripts may match on them. The exit status",
        "of each category is in `docs/cli.md`.",
    ]
    for category in Category:
        lines += ["", f"## {category.value}", "", "| code | meaning | 意味 |", "|---|---|---|"]
        lines += [f"| `{r.code}` | {r.en} | {r.ja} |" for r in _REASONS if r.category is category]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_markdown())
