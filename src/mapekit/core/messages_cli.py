"""Messages of the command line itself: command summaries, shared options, errors
(part of the catalogue in ``mapekit.core.messages``)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CLI: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "cli.description": (
            "MAP-E (RFC 7597), DS-Lite and IPIP toolkit for Japanese IPoE operators.",
            "日本の IPoE 事業者向け MAP-E（RFC 7597）・DS-Lite・IPIP ツールキット",
        ),
        "cli.epilog": (
            "Language: --lang ja, or LANG=ja_JP.UTF-8. Every command: mape COMMAND --help; "
            "man mape-COMMAND.",
            "言語: --lang ja または LANG=ja_JP.UTF-8。各コマンドの説明: mape COMMAND --help、"
            "man mape-COMMAND",
        ),
        "option.version": ("print mapekit's version and exit", "バージョンを表示して終了"),
        "option.help": ("show this help and exit", "このヘルプを表示して終了"),
        "option.lang": (
            "language of the output (default: ja when LC_ALL, LC_MESSAGES or LANG is ja_JP…)",
            "表示言語（既定: LC_ALL・LC_MESSAGES・LANG が ja_JP… なら ja）",
        ),
        "option.json": ("print one JSON object", "JSON オブジェクトを 1 つ出力"),
        "error.prefix": ("mape: error: ", "mape: エラー: "),
        "error.detail": ("{explanation} ({detail})", "{explanation}（{detail}）"),
        "error.deprecated": (
            "mape: note: {old} is deprecated and will be removed in the next release; use {new}",
            "mape: 注意: {old} は非推奨です。次のリリースで削除されます。{new} を使ってください",
        ),
        "error.extra_missing": (
            "{command}: this command needs mapekit's '{extra}' extra, which is not installed "
            "(missing module {module}); install it with: pip install 'mapekit[{extra}]'",
            "{command}: このコマンドには mapekit の追加機能 '{extra}' が必要ですが、"
            "インストールされていません（モジュール {module} がありません）。"
            "pip install 'mapekit[{extra}]' でインストールしてください",
        ),
        # one-line summaries of the commands (mape --help, the manual pages)
        "command.calc": (
            "compute a MAP-E mapping (or the reverse, for a BR)",
            "MAP-E のマッピングを計算（BR 向けの逆引きも）",
        ),
        "command.rules": ("list or check rule tables", "ルール表の一覧表示・検査"),
        "command.plan": (
            "the tunnel, addresses, routes and nftables ruleset for a mapping",
            "マッピングに必要なトンネル・アドレス・経路・nftables ルールセットを表示",
        ),
        "command.export": (
            "router configuration for a mapping (OpenWrt, Linux, NEC IX, Yamaha RTX, …)",
            "マッピングのルーター設定を出力（OpenWrt、Linux、NEC IX、ヤマハ RTX など）",
        ),
        "command.ports": (
            "the usable ports of a mapping, and checks for port forwards",
            "マッピングで使えるポートの表示とポート転送の確認",
        ),
        "command.tunnel": (
            "run the CE data plane of a mapping or softwire (kernel ip6tnl, tc-BPF or TUN)",
            "マッピング・ソフトワイヤの CE データプレーンを起動（カーネル ip6tnl、tc-BPF、TUN）",
        ),
        "command.br": (
            "run a MAP-E border relay (tc-BPF or userspace)",
            "MAP-E BR を起動（tc-BPF またはユーザー空間）",
        ),
        "command.aftr": (
            "run a userspace DS-Lite AFTR (for labs and tests)",
            "ユーザー空間の DS-Lite AFTR を起動（ラボ・試験用）",
        ),
        "command.ipip-endpoint": (
            "run a userspace IPIP fixed-address endpoint (labs, tests)",
            "ユーザー空間の IPIP 固定 IP 終端装置を起動（ラボ・試験用）",
        ),
        "command.provision": (
            "check for an HGW, fetch, validate and report MAP-E rules",
            "HGW の確認、MAP-E ルールの取得・検証・通知",
        ),
        "command.doctor": (
            "diagnose a CE and name the cause of a failure in plain words",
            "CE を診断し、障害の原因をわかりやすく表示",
        ),
        "command.setup": (
            "detect this router's line and write the agent's configuration and unit",
            "回線を検出し、エージェントの設定ファイルと systemd ユニットを作成",
        ),
        "command.agent": (
            "run the CE daemon (provisioning + data plane + status socket)",
            "CE デーモンを起動（設定取得・データプレーン・状態ソケット）",
        ),
        "command.retry": (
            "ask the running agent to fetch rules now",
            "動作中のエージェントにルールの即時再取得を指示",
        ),
        "command.status": (
            "show the CE's status (from the running agent, or the saved state)",
            "CE の状態を表示（動作中のエージェント、または保存済みの状態から）",
        ),
        "command.server": (
            "run the rule server, or administer its database (needs mapekit[server])",
            "ルールサーバーの起動とデータベースの管理（mapekit[server] が必要）",
        ),
        "command.forget": (
            "erase the saved rules of the state directory",
            "状態ディレクトリの保存済みルールを消去",
        ),
        "command.states": (
            "print the CE state diagram (Mermaid), generated from its table",
            "CE の状態遷移図（Mermaid）を遷移表から生成して表示",
        ),
        "command.lab": (
            "replay the story in network namespaces (needs mapekit[lab] and root)",
            "ネットワーク名前空間で検証環境を再現（mapekit[lab] と root 権限が必要）",
        ),
        "command.hgw-emulator": (
            "emulate an NTT home gateway's MAP-E check (needs mapekit[server])",
            "NTT ホームゲートウェイの MAP-E 確認応答を模擬（mapekit[server] が必要）",
        ),
    }
)
