"""The agent's TOML configuration, validated with errors that name the key.

::

    [provider]                      # where rules come from
    kind = "jpne"                   # jpne | ocn | hb46pp | dhcpv6 | static
    url = "https://rules.example/"  # base URL of the rule API (HB46PP: replaces discovery)
    vendor_code = "0123…"           # manufacturer / vendor code
    isp = "v6plus"                  # label, and the BIGLOBE HGW-check path for "biglobe"
    iid = "legacy"                  # CE interface id for JPNE/OCN rules: legacy (draft-03) or rfc
    hgw_url = "http://ntt.setup:8888/enabler.ipv4/check"   # "" to skip the HGW check
    ca_file = "/etc/mapekit/ca.pem"
    dns_server = "2001:db8::53"     # HB46PP discovery resolver
    insecure_discovery = false
    report = true                   # send acct_report (JPNE)
    rules_file = "/etc/mapekit/rules.toml"   # static rules (kind = "static"); default built-in
    dhcpv6_options_file = "/run/mapekit/s46.hex"   # kind = "dhcpv6"

    [interfaces]
    wan = "eth0"
    lan = "br-lan"
    tunnel = "mape0"

    [prefix]
    source = "auto"                 # auto | pd | ra | static
    static = "240b:10:3f6c:d400::/56"
    pd_file = "/run/mapekit/pd"     # "PREFIX/LEN", written by the DHCPv6 client's hook

    [dataplane]
    backend = "auto"                # auto | kernel | userspace
    replace_default_route = false
    keep_tunnel = false             # kernel backend: leave the tunnel up when the agent stops
    forwards = ["tcp:7490=192.168.1.10:22"]

    [state]
    dir = "/var/lib/mapekit"
    socket = "/run/mapekit/agent.sock"
    metrics = "127.0.0.1:9107"      # "" to turn the metrics endpoint off

    [timers]
    scale = 1.0
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapekit.core.errors import DataError, MapeError

PROVIDERS = ("jpne", "ocn", "hb46pp", "dhcpv6", "static")
SOURCES = ("auto", "pd", "ra", "static")
BACKENDS = ("auto", "kernel", "userspace")
IIDS = ("legacy", "rfc")
DEFAULT_HGW_URL = "http://ntt.setup:8888/enabler.ipv4/check"


class ConfigError(MapeError):
    """The agent's configuration is wrong."""


@dataclass(frozen=True)
class AgentConfig:
    provider: str
    wan: str
    url: str | None = None
    vendor_code: str | None = None
    isp: str | None = None
    iid: str = "legacy"
    hgw_url: str | None = DEFAULT_HGW_URL
    ca_file: str | None = None
    dns_server: str | None = None
    insecure_discovery: bool = False
    report: bool = True
    rules_file: str | None = None
    dhcpv6_options_file: str | None = "/run/mapekit/s46.hex"
    lan: str | None = None
    tunnel: str = "mape0"
    prefix_source: str = "auto"
    static_prefix: str | None = None
    pd_file: str | None = "/run/mapekit/pd"
    backend: str = "auto"
    replace_default_route: bool = False
    keep_tunnel: bool = False
    forwards: tuple[str, ...] = ()
    state_dir: str = "/var/lib/mapekit"
    socket: str = "/run/mapekit/agent.sock"
    metrics: str | None = "127.0.0.1:9107"
    timer_scale: float = 1.0


_KEYS: dict[str, dict[str, tuple[str, type | tuple[type, ...]]]] = {
    "provider": {
        "kind": ("provider", str), "url": ("url", str), "vendor_code": ("vendor_code", str),
        "isp": ("isp", str), "iid": ("iid", str), "hgw_url": ("hgw_url", str),
        "ca_file": ("ca_file", str),
        "dns_server": ("dns_server", str), "insecure_discovery": ("insecure_discovery", bool),
        "report": ("report", bool), "rules_file": ("rules_file", str),
        "dhcpv6_options_file": ("dhcpv6_options_file", str),
    },
    "interfaces": {"wan": ("wan", str), "lan": ("lan", str), "tunnel": ("tunnel", str)},
    "prefix": {"source": ("prefix_source", str), "static": ("static_prefix", str),
               "pd_file": ("pd_file", str)},
    "dataplane": {"backend": ("backend", str),
                  "replace_default_route": ("replace_default_route", bool),
                  "keep_tunnel": ("keep_tunnel", bool),
                  "forwards": ("forwards", list)},
    "state": {"dir": ("state_dir", str), "socket": ("socket", str), "metrics": ("metrics", str)},
    "timers": {"scale": ("timer_scale", (int, float))},
}  # fmt: skip


def _bad(key: str, why: str) -> ConfigError:
    return ConfigError("config.invalid", f"{key}: {why}", field=key)


def parse_config(text: str, source: str = "config") -> AgentConfig:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(
            "data.file_syntax", f"{source}: not valid TOML: {exc}", field="config"
        ) from None
    values: dict[str, Any] = {}
    for section, body in doc.items():
        if section not in _KEYS or not isinstance(body, dict):
            raise _bad(section, f"unknown section (known: {', '.join(_KEYS)})")
        for key, value in body.items():
            if key not in _KEYS[section]:
                raise _bad(f"{section}.{key}", f"unknown key (known: {', '.join(_KEYS[section])})")
            name, kind = _KEYS[section][key]
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                raise _bad(f"{section}.{key}", f"wrong type {type(value).__name__}")
            values[name] = value
    return _validated(values)


def _validated(values: dict[str, Any]) -> AgentConfig:
    if "provider" not in values:
        raise _bad("provider.kind", f"missing (one of {', '.join(PROVIDERS)})")
    if "wan" not in values:
        raise _bad("interfaces.wan", "missing")
    checks = (("provider", "provider.kind", PROVIDERS), ("iid", "provider.iid", IIDS),
              ("prefix_source", "prefix.source", SOURCES),
              ("backend", "dataplane.backend", BACKENDS))  # fmt: skip
    for name, key, allowed in checks:
        if name in values and values[name] not in allowed:
            raise _bad(key, f"{values[name]!r} is not one of {', '.join(allowed)}")
    if "forwards" in values:
        if not all(isinstance(f, str) for f in values["forwards"]):
            raise _bad("dataplane.forwards", "expected a list of strings")
        values["forwards"] = tuple(values["forwards"])
    for name in ("hgw_url", "metrics"):
        if values.get(name) == "":
            values[name] = None
    if values.get("prefix_source") == "static" and not values.get("static_prefix"):
        raise _bad("prefix.static", "needed when prefix.source is static")
    if values["provider"] in ("jpne", "ocn") and not values.get("url"):
        raise _bad("provider.url", f"needed for provider {values['provider']}")
    if values.get("timer_scale", 1.0) <= 0:
        raise _bad("timers.scale", "must be positive")
    return AgentConfig(**values)


def load_config(path: str | Path) -> AgentConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(
            "data.file_unreadable", f"config: cannot read {path}: {exc}", field="config"
        ) from None
    return parse_config(text, str(path))
