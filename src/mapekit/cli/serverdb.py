"""``mape server``, the work: run the rule server, and administer its database directly
(the command line is described in ``mapekit.cli.server``; this needs the ``server`` extra)."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from mapekit.cli import output
from mapekit.cli.listen import parse_listen
from mapekit.core.errors import MapeError
from mapekit.core.files import read_bytes_file
from mapekit.core.tables import MAX_RULE_FILE, parse_rule_text
from mapekit.provision import jpne
from mapekit.provision.model import RuleDelivery
from mapekit.server.admin import MAX_CSV, subscriber_json
from mapekit.server.csvimport import parse_csv
from mapekit.server.schemas import (
    ID_PATTERN,
    MAX_LIMIT,
    MechanismsIn,
    RuleImportIn,
    VendorIn,
    bounded_int,
    hb46pp_name,
    invalid,
    parse_model,
    path_value,
)
from mapekit.server.service import ServerError, Target, Vendor
from mapekit.server.store import Store, rules_domain

ACTOR = "cli"
MAX_PASSWORD_FILE = 4096
MECHANISM_OPTIONS = ("order", "aftr", "ipip_remote", "ipip_ipv4", "ipip_interface_id",
                     "update_user")  # fmt: skip
CLEARED = {"aftr": ("aftr",), "ipip": ("ipip_remote", "ipip_ipv4", "ipip_interface_id"),
           "update": ("update_user",)}  # fmt: skip


def database_url(args: argparse.Namespace) -> str:
    if args.db:
        return str(args.db)
    return f"sqlite:///{Path(args.data_dir).resolve() / 'server.db'}"


def run_server(args: argparse.Namespace) -> int:
    url = database_url(args)
    if args.action == "serve":
        return _serve(args, url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    store = Store(url)
    if args.action == "init":
        version = store.migrate()
        return _done(args, {"db": _safe(url), "schema": version}, f"database ready: {_safe(url)}")
    store.check_ready()
    handler = {
        "rules": _rules,
        "vendor": _vendor,
        "token": _token,
        "subscriber": _subscriber,
    }[args.action]
    return handler(args, store)


def _safe(url: str) -> str:
    """The URL without a password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return url


def _done(args: argparse.Namespace, doc: dict[str, object], text: str) -> int:
    if args.json:
        output.emit_json(doc)
    else:
        output.emit(text)
    return output.OK


def _rules(args: argparse.Namespace, store: Store) -> int:
    if args.verb == "list":
        names = store.rule_set_names()
        return _done(args, {"rule_sets": names}, "\n".join(names) or "(no rule sets)")
    checked = parse_model(
        RuleImportIn, {"name": args.name, "dmr": args.dmr, "fixlen": _int(args.fixlen, "fixlen")}
    )
    rules = _read_rules(Path(args.file))
    domain = rules_domain(checked.name, rules, checked.dmr, checked.fixlen)
    store.add_rule_set(domain, ACTOR)
    return _done(
        args,
        {"name": checked.name, "rules": len(domain.rules), "dmr": domain.dmr},
        f"rule set {checked.name}: {len(domain.rules)} rules, BR {domain.dmr}",
    )


def _int(text: str, field: str, low: int = 0, high: int = 64) -> int:
    return bounded_int(text, field, 0, low, high)


def _read_rules(path: Path) -> list[Any]:
    """A rule file (jp_rules.json schema, JSON or TOML) or a saved get_rules reply."""
    try:
        data = read_bytes_file(path, what="file", max_bytes=MAX_RULE_FILE)
    except FileNotFoundError:
        raise ServerError(
            "data.file_unreadable", f"file: cannot read {path}: no such file", field="file"
        ) from None
    head = data.lstrip()
    if head[:1].isalpha() and b"(" in head[:64]:  # a saved JSONP reply
        result = jpne.decode_get_rules(head)
        if not isinstance(result, RuleDelivery):
            raise ServerError("rules.blank", "rules: the reply is blank", field="file")
        return list(result.rules)
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise ServerError("data.file_syntax", f"file: {path} is not UTF-8", field="file") from None
    return list(parse_rule_text(text, str(path), "toml" if path.suffix == ".toml" else "json"))


def _vendor(args: argparse.Namespace, store: Store) -> int:
    if args.verb == "list":
        vendors = store.vendors()
        rows = [
            {"code": v.code, "name": v.name, "kind": v.kind.value, "enabled": v.enabled}
            for v in vendors
        ]
        text = output.table([[v.code, v.kind.value, str(v.enabled), v.name] for v in vendors])
        return _done(args, {"vendors": rows}, text or "(no vendor codes)")
    code = jpne.check_vendor_code(args.code)
    if args.verb == "add":
        parse_model(VendorIn, {"code": code, "name": args.name, "kind": args.kind})
        store.add_vendor(Vendor(code, args.name, Target(args.kind)), ACTOR)
        return _done(args, {"code": code, "kind": args.kind}, f"vendor code {code} ({args.kind})")
    store.set_vendor_enabled(code, args.verb == "enable", ACTOR)
    return _done(args, {"code": code, "enabled": args.verb == "enable"}, f"{code} {args.verb}d")


def _token(args: argparse.Namespace, store: Store) -> int:
    if args.verb == "list":
        tokens = store.tokens()
        doc = [{"name": t.name, "scopes": list(t.scopes), "created_at": t.created_at}
               for t in tokens]  # fmt: skip
        rows = [[t.name, ",".join(t.scopes)] for t in tokens]
        return _done(args, {"tokens": doc}, output.table(rows) or "(no tokens)")
    name = path_value(args.name, ID_PATTERN, "name")
    if args.verb == "revoke":
        store.revoke_token(name, ACTOR)
        return _done(args, {"name": name, "revoked": True}, f"admin token {name} revoked")
    scopes = sorted(set(args.scope or ("read", "write")))
    token = store.add_token(name, ACTOR, scopes)
    return _done(
        args,
        {"name": name, "scopes": scopes, "token": token},
        f"admin token {name} ({', '.join(scopes)}), shown once, store it now:\n{token}",
    )


def _subscriber(args: argparse.Namespace, store: Store) -> int:
    verb = args.verb
    if verb == "add":
        mechanisms = _mechanism_values(args)
        if not args.rule_set and "map_e" in mechanisms.get("order", ["map_e"]):  # type: ignore[operator]
            raise ServerError("usage.invalid_arguments", "rule-set: required when the order has "
                              "map_e (--rule-set NAME)", field="rule-set")  # fmt: skip
        entry: dict[str, object] = {"prefix": args.prefix, "target": args.target,
                                    "rules": args.rule_set, "id": args.id}  # fmt: skip
        entry.update(mechanisms)
        if args.hgw is not None:
            entry["hgw_rental"] = args.hgw == "rented"
        store.add_subscribers([entry], ACTOR)
        return _show(args, store.subscriber(prefix=args.prefix.strip()))
    if verb == "set":
        changes = parse_model(MechanismsIn, _mechanism_changes(args))
        sub = store.set_mechanisms(changes, ACTOR, sub_id=args.id, prefix=args.prefix)
        return _show(args, sub)
    if verb == "set-target":
        return _show(args, store.set_target(Target(args.value), ACTOR, sub_id=args.id,
                                            prefix=args.prefix))  # fmt: skip
    if verb == "set-hgw":
        sub = store.set_hgw_rental(args.value == "rented", ACTOR, sub_id=args.id,
                                   prefix=args.prefix)  # fmt: skip
        return _show(args, sub)
    if verb == "show":
        return _show(args, store.subscriber(sub_id=args.id, prefix=args.prefix))
    if verb == "list":
        limit = _int(args.limit, "limit", 1, MAX_LIMIT)
        offset = _int(args.offset, "offset", 0, 1_000_000_000)
        subs = [subscriber_json(s) for s in store.subscribers(limit, offset)]
        text = output.table(
            [[str(s["id"]), str(s["prefix"]), str(s["target"]), str(s["hgw_rental"]),
              ",".join(s["order"])] for s in subs]  # type: ignore[arg-type]
        )  # fmt: skip
        return _done(args, {"subscribers": subs}, text or "(no subscribers)")
    return _import(args, store)


def _mechanism_values(args: argparse.Namespace) -> dict[str, object]:
    """The mechanism options given, as schema fields (the password read from its file)."""
    values: dict[str, object] = {}
    for name in MECHANISM_OPTIONS:
        value = getattr(args, name)
        if value is not None:
            values[name] = value
    if "order" in values:
        values["order"] = [part for part in re.split(r"[\s,]+", str(values["order"])) if part]
    if args.update_password_file is not None:
        values["update_password"] = _read_password(args.update_password_file)
    return values


def _mechanism_changes(args: argparse.Namespace) -> dict[str, object]:
    changes = _mechanism_values(args)
    for what in args.clear:
        for name in CLEARED[what]:
            if name in changes:
                raise invalid("clear", f"--clear {what} and --{name.replace('_', '-')} contradict")
            changes[name] = None
    if not changes:
        raise invalid("set", "nothing to change; give an option or --clear")
    return changes


def _read_password(source: str) -> str:
    """The password's first line, from a regular file or standard input (``-``)."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_PASSWORD_FILE + 1)
        if len(data) > MAX_PASSWORD_FILE:
            raise invalid("update-password-file", f"more than {MAX_PASSWORD_FILE} bytes")
    else:
        try:
            data = read_bytes_file(source, what="update-password-file",
                                   max_bytes=MAX_PASSWORD_FILE)  # fmt: skip
        except FileNotFoundError:
            why = f"update-password-file: cannot read {source}: no such file"
            raise ServerError("data.file_unreadable", why, field="update-password-file") from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise invalid("update-password-file", "not UTF-8 text") from None
    lines = text.splitlines()
    return lines[0] if lines else ""


def _import(args: argparse.Namespace, store: Store) -> int:
    path = Path(args.file)
    try:
        data = read_bytes_file(path, what="file", max_bytes=MAX_CSV)
    except FileNotFoundError:
        raise ServerError(
            "data.file_unreadable", f"file: cannot read {path}: no such file", field="file"
        ) from None
    parsed = parse_csv(data)
    if not parsed.entries:
        raise ServerError(
            "usage.invalid_arguments", "row 2: no subscriber rows after the header", field="row 2"
        )
    added = store.add_subscribers(parsed.entries, ACTOR, parsed.label)
    return _done(args, {"added": added}, f"{added} subscribers imported")


def _show(args: argparse.Namespace, sub: Any) -> int:
    doc = subscriber_json(sub)
    text = output.table([[k, str(v)] for k, v in doc.items()])
    return _done(args, doc, text)


def _serve(args: argparse.Namespace, url: str) -> int:
    from mapekit.server.asgi import run_workers

    host, port = parse_listen(args.listen)
    trusted = _trusted(args)
    names = {key: hb46pp_name(getattr(args, key), key.replace("_", "-"))
             for key in ("enabler_name", "service_name", "isp_name")}  # fmt: skip
    Store(url).check_ready()
    os.environ.update(
        {
            "MAPEKIT_SERVER_DB": url,
            "MAPEKIT_SERVER_CLIENT_HEADER": args.client_address_header or "",
            "MAPEKIT_SERVER_TRUSTED": ",".join(trusted),
            "MAPEKIT_SERVER_RATE": str(args.rate_limit),
            "MAPEKIT_SERVER_BURST": str(args.burst),
            "MAPEKIT_SERVER_ACCESS_LOG": "0" if args.no_access_log else "1",
            "MAPEKIT_SERVER_MAX_HEADER": str(args.max_header_bytes),
            "MAPEKIT_SERVER_HEADER_TIMEOUT": str(args.header_timeout),
            "MAPEKIT_SERVER_BODY_TIMEOUT": str(args.body_timeout),
            "MAPEKIT_SERVER_PER_PEER": str(args.per_peer_connections),
            **{f"MAPEKIT_SERVER_{key.upper()}": value or "" for key, value in names.items()},
            "MAPEKIT_SERVER_UPDATE_MOVES_PREFIX": "1" if args.update_moves_prefix else "0",
        }
    )
    start = {"listen": f"{args.listen}", "db": _safe(url), "workers": args.workers}
    if args.json:
        output.emit(json.dumps(start))
    else:
        output.emit(f"mapekit rule server on {args.listen} ({_safe(url)}, {args.workers} workers)")
    run_workers(host, port, args.workers, args.tls_cert, args.tls_key)
    return output.OK


def _trusted(args: argparse.Namespace) -> list[str]:
    """The trusted proxies; a client-address header needs them, and they need it."""
    for cidr in args.trusted_proxy:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ServerError(
                "usage.invalid_arguments", f"trusted-proxy: {cidr!r} is not a CIDR",
                field="trusted-proxy",
            ) from None  # fmt: skip
    if args.client_address_header and not args.trusted_proxy:
        raise ServerError(
            "usage.invalid_arguments",
            "trusted-proxy: --client-address-header needs --trusted-proxy CIDR (the proxies "
            "whose header is believed); no address is trusted by default",
            field="trusted-proxy",
        )
    if args.trusted_proxy and not args.client_address_header:
        raise ServerError(
            "usage.invalid_arguments",
            "client-address-header: --trusted-proxy needs --client-address-header NAME",
            field="client-address-header",
        )
    return list(args.trusted_proxy)


__all__ = ["MapeError", "run_server"]
