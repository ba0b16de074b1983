"""The agent's TOML configuration: every key checked when the file is read.

The schema is one table (:data:`KEYS`): section, key, type, default, the check of its form,
and its documentation — ``docs/agent.md`` is generated from it (``python -m
mapekit.agent.config``) and a test keeps the two in step. Errors name the key
(``jpne.vendor_code: required when provider = "jpne"``) and are raised when the file is
read, never fed to the retry machine: a local mistake is not the server's fault.

The vocabulary (docs/cli.md): ``provider`` is how rules arrive, the same word as ``mape
provision --provider``; its settings live in the section of the same name (``[jpne]``,
``[static]``, …); an *interface* is a kernel name (``interfaces.wan``), an *address* an IP
address, a *prefix* an IPv6 prefix with its length.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapekit.agent import checks
from mapekit.agent.checks import Check
from mapekit.core.errors import MapeError
from mapekit.core.files import read_text_file
from mapekit.dataplane.portmap import NAT_MODES

PROVIDERS = ("static", "jpne", "ocn", "hb46pp", "dhcpv6", "dslite", "ipip")
DEFAULT_HGW_URL = "http://ntt.setup:8888/enabler.ipv4/check"
DEFAULT_PATH = "/etc/mapekit/agent.toml"
MAX_CONFIG = 64 * 1024


class ConfigError(MapeError):
    """The agent's configuration is wrong (exit status 78, no restart by systemd)."""


@dataclass(frozen=True)
class Key:
    """One configuration key: where it lives, what it holds, and how it is checked."""

    section: str  # "" for the top level
    name: str
    kind: type | tuple[type, ...]
    default: object
    check: Check | None
    doc: str

    @property
    def path(self) -> str:
        return f"{self.section}.{self.name}" if self.section else self.name


def _k(*fields: Any) -> Key:
    """A row of the table: section, name, type, default, check, doc."""
    return Key(*fields)


REQUIRED = object()  # the default of a key that must be given

KEYS: tuple[Key, ...] = (
    _k("", "provider", str, REQUIRED, checks.one_of(*PROVIDERS),
       "How rules arrive: `static` (a rule table, no server), `jpne` (v6plus/BIGLOBE rule "
       "API), `ocn` (OCN rule API), `hb46pp` (the national provisioning standard, found by "
       "DNS), `dhcpv6` (RFC 7598 options). Its settings are in the section of that name."),
    # --- providers ------------------------------------------------------------------
    _k("static", "rules_file", str, None, checks.rule_file,
       "A rule file (JSON or TOML) instead of the built-in v6plus, BIGLOBE and OCN tables. "
       "Read and checked when the configuration is. With another provider, the table "
       "`mape doctor` shows what static rules would give when that provider fails."),
    _k("static", "isp", str, None, checks.one_of("v6plus", "biglobe", "ocn"),
       "Use only this operator's part of the built-in tables."),
    _k("jpne", "url", str, REQUIRED, checks.https_url, "Base URL of the rule API."),
    _k("jpne", "vendor_code", str, REQUIRED, checks.hex_code(32),
       "Your router maker's 32-hex manufacturer code (configuration, not a secret)."),
    _k("jpne", "isp", str, None, checks.label,
       "Operator label; `biglobe` also selects BIGLOBE's HGW check path."),
    _k("jpne", "iid", str, "legacy", checks.one_of("legacy", "rfc"),
       "CE interface id: `legacy` (draft-03, what v6plus/BIGLOBE use) or `rfc` (RFC 7597)."),
    _k("jpne", "report", bool, True, None, "Send `acct_report` start/stop reports."),
    _k("jpne", "ca_file", str, None, checks.existing_file, "An extra CA (PEM) for TLS."),
    _k("ocn", "url", str, REQUIRED, checks.https_url, "Base URL of OCN's rule API."),
    _k("ocn", "vendor_code", str, REQUIRED, checks.ocn_code,
       "The vendor code (OCN does not publish its form: 4–64 letters, digits, `-`, `_`)."),
    _k("ocn", "iid", str, "legacy", checks.one_of("legacy", "rfc"), "CE interface id."),
    _k("ocn", "ca_file", str, None, checks.existing_file, "An extra CA (PEM) for TLS."),
    _k("hb46pp", "url", str, None, checks.https_url,
       "The provisioning URL; without it, found by the `4over6.info` TXT record."),
    _k("hb46pp", "dns_server", str, None, checks.ip_address,
       "Resolver for the discovery record (default: the system's)."),
    _k("hb46pp", "insecure_discovery", bool, False, None,
       "Honour `t=a` (no certificate check) from an unauthenticated DNS answer on https."),
    _k("hb46pp", "ca_file", str, None, checks.existing_file, "An extra CA (PEM) for TLS."),
    _k("hb46pp", "prefer", str, None, checks.one_of("map_e", "dslite", "ipip"),
       "Take this mechanism when the server offers it, whatever its `order` says."),
    _k("dhcpv6", "options_file", str, "/run/mapekit/s46.hex", checks.absolute_path,
       "The S46 options as hex, written by the DHCPv6 client's hook."),
    _k("dslite", "aftr", str, None, checks.host_or_ipv6,
       "The AFTR's name or IPv6 address; without it, the name DHCPv6 option 64 gives "
       "(`dslite.aftr_file`)."),
    _k("dslite", "aftr_file", str, "/run/mapekit/aftr", checks.absolute_path,
       "The AFTR name from DHCPv6 option 64, written by the DHCPv6 client's hook."),
    _k("dslite", "dns_server", str, None, checks.ip_address,
       "The resolver for the AFTR's name (default: the system's)."),
    _k("ipip", "remote", str, REQUIRED, checks.ipv6_address, "The operator's tunnel endpoint."),
    _k("ipip", "interface_id", str, None, checks.interface_id,
       "The lower 64 bits of the CE's tunnel address, as the operator gives them "
       "(`::1234:5678:9abc:def0`); the address is the prefix's subnet 0 with them."),
    _k("ipip", "ipv4", str, REQUIRED, checks.ipv4_address_or_prefix,
       "The fixed IPv4 address (NATed to) or prefix (routed)."),
    _k("ipip", "update_url", str, None, checks.https_url_template,
       "Called at start and after every prefix change: `{address}`, `{prefix}`, `{user}`, "
       "`{password}` are filled in (URL-encoded); otherwise the credentials go as HTTP "
       "Basic authentication. Without `{address}` the call is sent from the tunnel address "
       "(the server reads it from the source)."),
    _k("ipip", "update_user", str, None, checks.credential, "The update URL's user name."),
    _k("ipip", "update_password", str, None, checks.credential,
       "The update URL's password (never logged or shown)."),
    _k("ipip", "ca_file", str, None, checks.existing_file, "An extra CA (PEM) for TLS."),
    # --- around the provider --------------------------------------------------------
    _k("hgw", "check_url", str, DEFAULT_HGW_URL, checks.http_url_or_empty,
       "The NTT home gateway's MAP-E check (over IPv4); `\"\"` skips the check."),
    _k("interfaces", "wan", str, REQUIRED, checks.ifname, "The interface towards the operator."),
    _k("interfaces", "lan", str, None, checks.ifname,
       "The LAN interface (its address in the prefix is the rule requests' source)."),
    _k("interfaces", "tunnel", str, "mape0", checks.ifname, "The tunnel device mapekit makes."),
    _k("prefix", "source", str, "auto", checks.one_of("auto", "pd", "ra", "lan", "static"),
       "Where the End-user prefix comes from: `pd` (the hook's file), `ra` (the WAN's /64), "
       "`lan` (the LAN's /64, delegated by a DHCPv6 client such as systemd-networkd), "
       "`static`; `auto` tries pd, ra, then static."),
    _k("prefix", "pd_file", str, "/run/mapekit/pd", checks.absolute_path,
       "`PREFIX/LEN`, written by the DHCPv6 client's hook."),
    _k("prefix", "static", str, None, checks.global_prefix,
       "A fixed End-user prefix (global unicast, /32 to /64)."),
    _k("dataplane", "backend", str, "auto", checks.one_of("auto", "kernel", "bpf", "userspace"),
       "`kernel` (ip6tnl), `bpf` (tc-BPF programs on a TUN and the WAN), `userspace` (TUN "
       "and a forwarder thread), or `auto`: kernel where ip6tnl exists, else bpf where it "
       "can run, else userspace (the journal says which and why)."),
    _k("dataplane", "replace_default_route", bool, False, None,
       "Replace an existing IPv4 default route with the tunnel."),
    _k("dataplane", "keep_tunnel", bool, False, None,
       "Kernel backend: leave the tunnel up when the agent stops."),
    _k("dataplane", "forwards", list, [], checks.forwards,
       "Port forwards, `PROTO:PORT=LANADDR[:PORT]` (PORT must be in the port set)."),
    _k("dataplane", "nat", str, "auto", checks.one_of(*NAT_MODES),
       "How a new connection gets its port: `auto` lets the NAT search the whole port set "
       "where the backend translates ports (bpf, userspace; docs/ports.md), `per-block` "
       "confines each connection to one block, as the kernel backend always does. A change "
       "drops the connections in progress."),
    _k("ports", "cap_per_destination", int, 0, checks.count(65535),
       "At most this many flows from one LAN host toward one destination (protocol, address, "
       "port); 0: no cap. The set runs out per destination (docs/ports.md)."),
    _k("ports", "cap_per_host", int, 0, checks.count(65535),
       "At most this many flows through the tunnel from one LAN host; 0: no cap."),
    _k("ports", "cap_overrides", list, [], checks.cap_overrides,
       "Per-host per-destination caps, `LANADDR=N` (0: no cap for that host)."),
    _k("ports", "timeouts", bool, True, None,
       "Free ports sooner: shorter conntrack timeouts for DNS/NTP and TCP TIME_WAIT."),
    _k("ports", "quick_udp_timeout", int, 10, checks.count(3600, low=1),
       "Seconds a UDP flow to a request/response port (DNS 53, NTP 123) keeps its port after "
       "its last packet (conntrack's default: 30)."),
    _k("ports", "tcp_time_wait", int, 30, checks.count(3600, low=1),
       "Seconds a closed TCP connection keeps its port (conntrack's default: 120)."),
    _k("state", "dir", str, "/var/lib/mapekit", checks.directory,
       "Saved rules and schedule (written only when they change)."),
    _k("state", "socket", str, "/run/mapekit/agent.sock", checks.socket_path,
       "The control socket (`mape status`, `mape retry`)."),
    _k("state", "metrics", str, "", checks.listen_or_empty,
       "A separate Prometheus endpoint `ADDRESS:PORT`; `\"\"` (the default): only the web "
       "listener's `/metrics`."),
    _k("web", "listen", str, "127.0.0.1:8479", checks.listen_or_empty,
       "The status page (`/`), its JSON (`/status.json`) and Prometheus metrics (`/metrics`): "
       "`ADDRESS:PORT` (`[ADDR]:PORT` for IPv6); `\"\"` turns it off. An address other "
       "than loopback needs `web.token`."),
    _k("web", "token", str, None, checks.token,
       "The token the page asks for (`?token=` or `Authorization: Bearer`): 16 to 128 "
       "letters, digits, `-` or `_`."),
    _k("timers", "scale", (int, float), 1.0, checks.timer_scale,
       "Multiply every retry delay (labs use 0.001); finite, above 0, at most 100."),
    _k("log", "level", str, "info", checks.one_of("debug", "info", "notice", "warning", "error"),
       "The lowest severity written to the journal."),
)  # fmt: skip

SECTIONS = tuple(dict.fromkeys(k.section for k in KEYS if k.section))


@dataclass(frozen=True)
class StaticSettings:
    rules_file: str | None = None
    isp: str | None = None


@dataclass(frozen=True)
class JpneSettings:
    url: str
    vendor_code: str
    isp: str | None = None
    iid: str = "legacy"
    report: bool = True
    ca_file: str | None = None


@dataclass(frozen=True)
class OcnSettings:
    url: str
    vendor_code: str
    iid: str = "legacy"
    ca_file: str | None = None


@dataclass(frozen=True)
class Hb46ppSettings:
    url: str | None = None
    dns_server: str | None = None
    insecure_discovery: bool = False
    ca_file: str | None = None
    prefer: str | None = None


@dataclass(frozen=True)
class Dhcpv6Settings:
    options_file: str = "/run/mapekit/s46.hex"


@dataclass(frozen=True)
class DsliteSettings:
    aftr: str | None = None
    aftr_file: str = "/run/mapekit/aftr"
    dns_server: str | None = None


@dataclass(frozen=True)
class IpipSettings:
    remote: str
    ipv4: str
    interface_id: str | None = None
    update_url: str | None = None
    update_user: str | None = None
    update_password: str | None = field(default=None, repr=False)
    ca_file: str | None = None


ProviderSettings = (
    StaticSettings
    | JpneSettings
    | OcnSettings
    | Hb46ppSettings
    | Dhcpv6Settings
    | DsliteSettings
    | IpipSettings
)
_SETTINGS: dict[str, type[ProviderSettings]] = {
    "static": StaticSettings, "jpne": JpneSettings, "ocn": OcnSettings,
    "hb46pp": Hb46ppSettings, "dhcpv6": Dhcpv6Settings, "dslite": DsliteSettings,
    "ipip": IpipSettings,
}  # fmt: skip


@dataclass(frozen=True)
class Interfaces:
    wan: str
    lan: str | None = None
    tunnel: str = "mape0"


@dataclass(frozen=True)
class PrefixSettings:
    source: str = "auto"
    pd_file: str = "/run/mapekit/pd"
    static: str | None = None


@dataclass(frozen=True)
class DataplaneSettings:
    backend: str = "auto"
    replace_default_route: bool = False
    keep_tunnel: bool = False
    forwards: tuple[str, ...] = ()
    nat: str = "auto"


@dataclass(frozen=True)
class PortsSettings:
    cap_per_destination: int = 0
    cap_per_host: int = 0
    cap_overrides: tuple[str, ...] = ()
    timeouts: bool = True
    quick_udp_timeout: int = 10
    tcp_time_wait: int = 30


@dataclass(frozen=True)
class WebSettings:
    listen: str | None = "127.0.0.1:8479"
    token: str | None = None


@dataclass(frozen=True)
class StateSettings:
    dir: str = "/var/lib/mapekit"
    socket: str = "/run/mapekit/agent.sock"
    metrics: str | None = None


@dataclass(frozen=True)
class AgentConfig:
    """A checked configuration; ``provider`` names the method, ``settings`` holds its keys."""

    provider: str
    settings: ProviderSettings
    interfaces: Interfaces
    prefix: PrefixSettings = field(default_factory=PrefixSettings)
    dataplane: DataplaneSettings = field(default_factory=DataplaneSettings)
    ports: PortsSettings = field(default_factory=PortsSettings)
    web: WebSettings = field(default_factory=WebSettings)
    state: StateSettings = field(default_factory=StateSettings)
    hgw_url: str | None = DEFAULT_HGW_URL
    timer_scale: float = 1.0
    log_level: str = "info"
    notes: tuple[str, ...] = ()  # e.g. a deprecated spelling, accepted for now
    rules_file: str | None = None  # static.rules_file, whatever the provider
    update: IpipSettings | None = None  # the [ipip] update URL (also for HB46PP's IPIP)

    @property
    def wan(self) -> str:
        return self.interfaces.wan

    @property
    def lan(self) -> str | None:
        return self.interfaces.lan

    @property
    def tunnel(self) -> str:
        return self.interfaces.tunnel

    def section(self, name: str) -> dict[str, object]:
        """One section as plain values (for comparing two configurations on reload)."""
        if name == "provider":
            return {"provider": self.provider, **vars(self.settings), "hgw": self.hgw_url}
        return dict(vars(getattr(self, name)))


def _bad(key: str, why: str) -> ConfigError:
    return ConfigError("config.invalid", f"{key}: {why}", field=key)


def _typed(key: Key, value: object) -> object:
    kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise _bad(key.path, f"expected {_kind_name(key)}, got a boolean")
    if not isinstance(value, kinds):
        raise _bad(key.path, f"expected {_kind_name(key)}, got {type(value).__name__}")
    if key.check is not None:
        try:
            return key.check(value)
        except ValueError as exc:
            raise _bad(key.path, str(exc)) from None
    return value


def _kind_name(key: Key) -> str:
    names = {str: "a string", bool: "true or false", list: "a list", int: "a number",
             float: "a number"}  # fmt: skip
    kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
    return names.get(kinds[0], kinds[0].__name__)


_BY_PATH = {k.path: k for k in KEYS}


def _values(doc: dict[str, Any]) -> dict[str, object]:
    """Every given key, typed and checked, by its path (``jpne.url``)."""
    values: dict[str, object] = {}
    for name, body in doc.items():
        if not isinstance(body, dict):
            if name not in _BY_PATH:
                raise _bad(name, f"unknown key (known: provider and the sections "
                                 f"{', '.join(SECTIONS)})")  # fmt: skip
            values[name] = _typed(_BY_PATH[name], body)
            continue
        if name not in SECTIONS:
            raise _bad(name, f"unknown section (known: {', '.join(SECTIONS)})")
        for key, value in body.items():
            found = _BY_PATH.get(f"{name}.{key}")
            if found is None:
                known = ", ".join(k.name for k in KEYS if k.section == name)
                raise _bad(f"{name}.{key}", f"unknown key (known in [{name}]: {known})")
            values[found.path] = _typed(found, value)
    return values


def _get(values: dict[str, object], path: str, needed_for: str | None = None) -> Any:
    key = _BY_PATH[path]
    if path in values:
        return values[path]
    if key.default is REQUIRED:
        why = f'required when provider = "{needed_for}"' if needed_for else "required"
        raise _bad(path, why)
    return list(key.default) if isinstance(key.default, list) else key.default


def _provider(values: dict[str, object]) -> ProviderSettings:
    name = _get(values, "provider")
    keys = {k.name: _get(values, k.path, name) for k in KEYS if k.section == name}
    return _SETTINGS[name](**keys)


def _section(values: dict[str, object], name: str) -> dict[str, Any]:
    """The keys of one section by name, each given or defaulted."""
    return {k.name: _get(values, k.path) for k in KEYS if k.section == name}


def _update(values: dict[str, object], provider: ProviderSettings) -> IpipSettings | None:
    """The update URL settings: the provider's own for IPIP; for another provider (HB46PP
    may offer IPIP) the [ipip] section's update keys when given."""
    if isinstance(provider, IpipSettings):
        return provider
    if "ipip.update_url" not in values:
        return None
    return IpipSettings(
        remote="::", ipv4="0.0.0.0/32", update_url=_get(values, "ipip.update_url"),
        update_user=_get(values, "ipip.update_user"),
        update_password=_get(values, "ipip.update_password"), ca_file=_get(values, "ipip.ca_file"),
    )  # fmt: skip


def build(values: dict[str, object], notes: tuple[str, ...] = ()) -> AgentConfig:
    """An :class:`AgentConfig` from checked values by path; cross-key rules here."""
    provider = _provider(values)
    prefix = PrefixSettings(**_section(values, "prefix"))
    if prefix.source == "static" and prefix.static is None:
        raise _bad("prefix.static", 'required when prefix.source = "static"')
    dataplane = _section(values, "dataplane")
    ports = _section(values, "ports")
    state = _section(values, "state")
    web = WebSettings(_section(values, "web")["listen"] or None, _get(values, "web.token"))
    if web.listen and not checks.loopback(web.listen) and web.token is None:
        raise _bad("web.token", f"required when web.listen ({web.listen}) is not loopback")
    return AgentConfig(
        provider=_get(values, "provider"),
        settings=provider,
        interfaces=Interfaces(**_section(values, "interfaces")),
        prefix=prefix,
        dataplane=DataplaneSettings(**{**dataplane, "forwards": tuple(dataplane["forwards"])}),
        ports=PortsSettings(**{**ports, "cap_overrides": tuple(ports["cap_overrides"])}),
        web=web,
        state=StateSettings(**{**state, "metrics": state["metrics"] or None}),
        hgw_url=_get(values, "hgw.check_url") or None,
        timer_scale=float(_get(values, "timers.scale")),
        log_level=_get(values, "log.level"),
        notes=notes,
        rules_file=_get(values, "static.rules_file"),
        update=_update(values, provider),
    )


# the layout before the vocabulary was fixed: [provider] kind = …, with every provider's keys
_LEGACY = {
    "kind": "provider", "hgw_url": "hgw.check_url", "dhcpv6_options_file":
    "dhcpv6.options_file",
}  # fmt: skip


def _from_legacy(doc: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``[provider] kind = "jpne"`` and its keys, moved where they live now (one release)."""
    old = doc.pop("provider")
    if not isinstance(old, dict) or "kind" not in old:
        return {"provider": old, **doc}, ()
    kind = old.get("kind")
    moved: dict[str, Any] = {**doc, "provider": kind}
    for key, value in old.items():
        target = _LEGACY.get(key, f"{kind}.{key}")
        if target == "provider":
            continue
        section, _, name = target.partition(".")
        if f"{section}.{name}" in _BY_PATH:  # keys of other providers were allowed: dropped
            moved.setdefault(section, {})[name] = value
    note = ('deprecated layout: [provider] kind = … is now provider = "…" at the top with its '
            f"settings in [{kind}] (see docs/agent.md); accepted for this release")  # fmt: skip
    return moved, (note,)


def parse_config(text: str, source: str = "config") -> AgentConfig:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config.invalid", f"{source}: not valid TOML: {exc}",
                          field="config") from None  # fmt: skip
    except RecursionError:
        raise ConfigError("config.invalid", f"{source}: nested too deeply",
                          field="config") from None  # fmt: skip
    notes: tuple[str, ...] = ()
    if isinstance(doc.get("provider"), dict):
        doc, notes = _from_legacy(doc)
    return build(_values(doc), notes)


def load_config(path: str | Path) -> AgentConfig:
    """Read and check the file; errors are ConfigError naming the file or the key."""
    path = Path(path)
    try:
        text = read_text_file(path, what="config", max_bytes=MAX_CONFIG, reason="config.unreadable")
    except FileNotFoundError:
        raise ConfigError("config.unreadable", f"config: cannot read {path}: no such file "
                          "(`mape setup` writes one)", field="config") from None  # fmt: skip
    return parse_config(text, str(path))


def docs() -> str:
    """docs/agent.md's key reference, generated from :data:`KEYS`."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key in KEYS:
        default = "required" if key.default is REQUIRED else _shown(key.default)
        lines.append(f"| `{key.path}` | {_kind_name(key)} | {default} | {key.doc} |")
    return "\n".join(lines) + "\n"


def _shown(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


if __name__ == "__main__":  # regenerate docs/agent.md's key table
    print(docs(), end="")
