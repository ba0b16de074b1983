"""The lab's network (docs/design.md §5), built from a :class:`Topology`::

    lan ─ ce ─ [hgw] ─ ngn ─ br ─ inet
                        │
                     [rogue]

- ``ngn``, the access network: router advertisements (radvd), DHCPv6 prefix delegation and
  the RFC 7598 S46 options (Kea, which also routes each delegated prefix to its client),
  DNS (dnsmasq: the rule server's name, the ``4over6.info`` TXT record), and the rule
  server over HTTPS with a lab CA (JPNE, OCN and HB46PP styles on one server);
- ``ce``: dhcpcd with mapekit's hook, and the mapekit agent (started by the scenario);
- ``hgw`` (optional): takes the /56 with its own dhcpcd, advertises its first /64, gives
  the CE IPv4 by DHCP and DNS that answers ``ntt.setup``, answers the :8888 check, and with
  MAP-E on runs its own mapekit agent with an HGW maker's code and NATs its LAN through it;
  with ``hgw_pd`` its own Kea also delegates a /60 of its /56 to the CE;
- ``br``: ``mape br``; ``inet``: an IPv4 web server and an iperf3 server; ``rogue``: a host
  on the access network that forges packets (the spoof scenario).

Documentation address space only (2001:db8::/32, 192.0.2.0/24, 198.51.100.0/24, the
RFC 1918 LANs of a home); no namespace is linked to the host's network.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import sys
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from mapekit.agent.config import DEFAULT_HGW_URL
from mapekit.core.errors import DataError, MapeError
from mapekit.lab import services
from mapekit.lab.netns import Lab, LabError, wait_for
from mapekit.lab.topology import INET, LAB_RULES

ROUTER_CODE = "0123456789abcdef0123456789abcdef"
HGW_CODE = "fedcba9876543210fedcba9876543210"
PREFIX = "2001:db8:12:3400::/56"  # what Kea delegates
ACCESS = "2001:db8:100::/64"  # the access link, advertised by ngn
NGN = "2001:db8:100::1"  # ngn on the access link: router and DNS
CORE_NGN, CORE_BR = "2001:db8:101::1", "2001:db8:101::2"
RULES_ADDRESS = "2001:db8:102::80"  # the rule server, on ngn
RULES_NAME = "rules.isp.example"
ROGUE = "2001:db8:103::2"
HGW_LAN = "192.168.10.1"
HGW_RA = "2001:db8:12:3400::/64"  # the first /64 of the HGW's /56, on its LAN
HGW_PD = "2001:db8:12:3410::/60"  # what the HGW delegates to a router on its LAN
WEB = """
import http.server
class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host, port = self.client_address[:2]
        body = f"hello from inet; you came from {host}:{port}\\n"
        self.send_response(200); self.end_headers(); self.wfile.write(body.encode())
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("198.51.100.7", 80), Page).serve_forever()
"""

HGW_MODES = ("none", "on", "off")
LAB_BACKENDS = ("userspace", "bpf")
PROVIDERS = ("jpne", "ocn", "hb46pp", "dhcpv6", "static", "dslite", "ipip")
# the softwire side of the operator, on the BR's node: the AFTR (found by name) and the IPIP
# fixed-address endpoint, whose peers are what the rule server's update URL recorded
AFTR_NAME = "aftr.isp.example"
AFTR = "2001:db8:ffff::2"
IPIP_ENDPOINT = "2001:db8:ffff::3"
FIXED_IPV4 = "203.0.113.9"
IPIP_IID = "::1234:5678:9abc:def0"
UPDATE_USER, UPDATE_PASSWORD = "lab-subscriber", "lab-update-secret"
# a second B4 on its own access link, with a fixed prefix, asking HB46PP
CE2_PREFIX = "2001:db8:12:3500::/56"
CE2_ACCESS, CE2_NGN = "2001:db8:104::2", "2001:db8:104::1"
TARGETS = ("hgw", "router")


@dataclass(frozen=True)
class Topology:
    """What ``mape lab up --topology FILE`` reads (TOML, every key optional)."""

    hgw: str = "none"  # none | on (MAP-E running on the HGW) | off
    provider: str = "jpne"  # how the CE gets its rules
    target: str = "hgw"  # the subscriber's deployment target on the rule server
    tls: bool = True  # rule server over HTTPS with the lab CA
    rogue: bool = False  # a forging host on the access network
    hgw_pd: bool = False  # the HGW also delegates a /60 of its /56 on its LAN
    timer_scale: float = 0.002  # the CE's timers (0.002: 500 times faster)
    fresh: bool = False  # the CE has no mapekit configuration and no DHCPv6 client running
    second_b4: bool = False  # ce2 + lan2: a second CE (same LAN addresses), HB46PP, DS-Lite
    backend: str = "userspace"  # the data plane of the CE(s) and the BR: userspace | bpf


def parse_topology(text: str, source: str = "topology") -> Topology:
    """A :class:`Topology` from TOML; errors name the key."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(
            "data.file_syntax", f"{source}: not valid TOML: {exc}", field=source
        ) from None
    known = {f.name: f for f in fields(Topology)}
    choices = {"hgw": HGW_MODES, "provider": PROVIDERS, "target": TARGETS,
               "backend": LAB_BACKENDS}  # fmt: skip
    values: dict[str, Any] = {}
    for key, value in doc.items():
        if key not in known:
            raise DataError(
                "config.invalid", f"{key}: unknown key (known: {', '.join(known)})", field=key
            )
        default = getattr(Topology(), key)
        if type(value) is not type(default) and not (
            isinstance(default, float) and type(value) is int
        ):
            raise DataError(
                "config.invalid",
                f"{key}: {type(value).__name__}, expected {type(default).__name__}",
                field=key,
            )
        if key in choices and value not in choices[key]:
            raise DataError(
                "config.invalid",
                f"{key}: {value!r} is not one of {', '.join(choices[key])}",
                field=key,
            )
        if key == "timer_scale" and not 0 < value <= 1:
            raise DataError("config.invalid", f"{key}: must be in (0, 1]", field=key)
        values[key] = value
    topology = replace(Topology(), **values)
    if topology.hgw_pd and topology.hgw == "none":
        raise DataError("config.invalid", 'hgw_pd: needs an HGW (hgw = "on" or "off")',
                        field="hgw_pd")  # fmt: skip
    if topology.provider == "dhcpv6" and topology.hgw != "none":
        raise DataError("config.invalid", "provider: dhcpv6 needs the CE on the access "
                        'network (hgw = "none"): an HGW passes no S46 options on',
                        field="provider")  # fmt: skip
    return topology


@dataclass
class Network:
    """What a built lab is: its topology, files and the processes worth naming."""

    topology: Topology
    work: Path
    db: str
    nodes: list[str] = field(default_factory=list)
    ca: Path | None = None  # the lab CA, when the rule server speaks HTTPS
    server_tls: list[str] = field(default_factory=list)  # its --tls-cert/--tls-key options
    ce_dhcp: Path | None = None  # the CE's dhcpcd directory (pd, s46.hex, logs)
    hgw_dhcp: Path | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.topology.tls else "http"
        return f"{scheme}://{RULES_NAME}/"

    @property
    def ce_config(self) -> Path:
        return node_agent(self.work, "ce")[0]

    @property
    def socket(self) -> str:
        return str(node_agent(self.work, "ce")[1])


def _toml(values: dict[str, object]) -> str:
    lines = [f"{k} = {json.dumps(v)}" for k, v in values.items() if not isinstance(v, dict)]
    for section, body in values.items():
        if isinstance(body, dict):
            lines += ["", f"[{section}]"]
            lines += [f"{key} = {json.dumps(value)}" for key, value in body.items()]
    return "\n".join(lines) + "\n"


def write_toml(path: Path, values: dict[str, object]) -> None:
    """``values`` (top-level keys and one level of sections) as TOML at ``path``."""
    path.write_text(_toml(values))


# the lab's provider keys → where they live in the agent's configuration (docs/agent.md)
_PROVIDER_KEYS = {
    "url": ("jpne", "ocn", "hb46pp"), "vendor_code": ("jpne", "ocn"), "iid": ("jpne", "ocn"),
    "ca_file": ("jpne", "ocn", "hb46pp", "ipip"), "dns_server": ("hb46pp", "dslite"),
    "isp": ("jpne", "static"),
    "report": ("jpne",), "aftr_file": ("dslite",), "prefer": ("hb46pp",),
    "remote": ("ipip",), "interface_id": ("ipip",), "ipv4": ("ipip",), "update_url": ("ipip",),
    "update_user": ("ipip",), "update_password": ("ipip",),
}  # fmt: skip


def _provider_sections(kind: str, keys: dict[str, object]) -> dict[str, object]:
    """``provider = KIND`` with the keys that apply to it in ``[KIND]``; the HGW check URL
    in ``[hgw]``, the options file in ``[dhcpv6]``."""
    own = {k: v for k, v in keys.items() if kind in _PROVIDER_KEYS.get(k, ())}
    if kind == "dhcpv6" and "dhcpv6_options_file" in keys:
        own["options_file"] = keys["dhcpv6_options_file"]
    out: dict[str, object] = {"provider": kind}
    if own:
        out[kind] = own
    if "rules_file" in keys:  # the static table, also the doctor's comparison for the others
        out["static"] = {**(own if kind == "static" else {}), "rules_file": keys["rules_file"]}
    if "hgw_url" in keys:
        out["hgw"] = {"check_url": keys["hgw_url"]}
    return out


def agent_config(
    work: Path,
    kind: str = "jpne",
    timer_scale: float = 0.002,
    *,
    name: str = "agent",
    **overrides: dict[str, object],
) -> Path:
    """An agent's configuration for the lab, ``work/<name>.toml``; ``overrides`` replace
    keys by section (``provider={"url": …}``; None removes one). The defaults: the CE's,
    prefix from a PD file."""
    values: dict[str, dict[str, object]] = {
        "provider": {
            "url": "http://[2001:db8:100::1]:8080",
            "vendor_code": ROUTER_CODE,
            "hgw_url": "",
            "rules_file": str(work / "rules.json"),
        },
        "interfaces": {"wan": "wan0", "lan": "lan0"},
        "prefix": {"source": "pd", "pd_file": str(work / "pd")},
        "dataplane": {"backend": "userspace"},
        "state": {
            "dir": str(work / f"{name}-state" if name != "agent" else work / "state"),
            "socket": str(work / f"{name}.sock"),
            "metrics": "",
        },
        "timers": {"scale": timer_scale},
    }
    for section, body in overrides.items():  # None removes a key
        merged = {**values.get(section, {}), **body}
        values[section] = {k: v for k, v in merged.items() if v is not None}
    provider = values.pop("provider")
    path = work / f"{name}.toml"
    path.write_text(_toml({**_provider_sections(kind, provider), **values}))
    return path


MARKER = ".mapekit-lab"


def prepare_folder(work: Path) -> None:
    """``work`` as a clean folder of root's alone: created 0700; a folder an earlier lab
    left (it has the marker file) is emptied; any other non-empty folder is refused."""

    def refuse(why: str) -> MapeError:
        return MapeError("lab.folder", f"{work}: {why}", field="dir")

    if work.is_symlink() or (work.exists() and not work.is_dir()):
        raise refuse("not a directory")
    if work.exists():
        info = work.stat()
        if info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise refuse("owned by another user, or writable by others")
        entries = list(work.iterdir())
        if entries and not (work / MARKER).exists():
            raise refuse("not empty, and not a folder a lab left (use another one)")
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    work.chmod(0o700)
    (work / MARKER).write_text("a folder of `mape lab`: emptied when a lab starts in it again\n")


def _netns_file(lab: Lab, node: str, name: str, text: str) -> None:
    """``/etc/netns/<ns>/<name>``: what processes in the node see as ``/etc/<name>``
    (``ip netns exec`` binds it; the lab removes the folder with the namespace)."""
    folder = Path("/etc/netns") / lab.ns(node)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def rule_server(lab: Lab, db: str, *args: str) -> None:
    """An operator's ``mape server --db DB ARGS`` on the rule server's node."""
    lab.run_mape("ngn", "server", "--db", db, *args)


def node_agent(work: Path, node: str) -> tuple[Path, Path]:
    """The configuration and the status socket of ``node``'s agent (the CE's, or the HGW's
    own agent when the HGW runs MAP-E)."""
    name = {"hgw": "hgw-agent", "ce2": "ce2-agent"}.get(node, "agent")
    return work / f"{name}.toml", work / f"{name}.sock"


def ce_iid(topology: Topology) -> str:
    """The interface id the CE uses: RFC 7597 for DHCPv6 S46 rules, draft-03 otherwise."""
    return "rfc" if topology.provider == "dhcpv6" else "legacy"


def build_network(lab: Lab, work: Path, topology: Topology | None = None) -> Network:
    """Create the nodes, links, addresses and services; the CE's agent is not started."""
    topo = topology or Topology()
    missing = services.missing_programs()
    if missing:
        raise LabError(
            f"lab: needs the Debian packages {', '.join(missing)} (bash scripts/system-deps.sh)"
        )
    prepare_folder(work)
    net = Network(topo, work, f"sqlite:///{work / 'server.db'}")
    rule = {**LAB_RULES[0], "iid": ce_iid(topo)}
    (work / "rules.json").write_text(json.dumps([rule]))
    first_hop = "hgw" if topo.hgw != "none" else "ce"
    net.nodes = ["lan", "ce", *(["hgw"] if topo.hgw != "none" else []), "ngn", "br", "inet"]
    if topo.rogue:
        net.nodes.append("rogue")
    if topo.second_b4:
        net.nodes += ["ce2", "lan2"]
    lab.add(*net.nodes)
    for node in net.nodes:  # no duplicate address detection: addresses work at once
        for scope in ("all", "default"):
            lab.run(node, "sysctl", "-qw", f"net.ipv6.conf.{scope}.accept_dad=0")
    lab.link("lan", "eth0", "ce", "lan0")
    lab.link(first_hop, "wan0", "ngn", "ce0")
    if topo.hgw != "none":
        lab.link("ce", "wan0", "hgw", "lan0")
    lab.link("ngn", "br0", "br", "ngn0")
    lab.link("br", "inet0", "inet", "eth0")
    _ngn(lab, net, rule)
    _br_inet(lab, work, rule, net.db, topo.backend)
    if topo.hgw != "none":  # before the CE's DHCP client starts asking it
        _hgw(lab, net)
    _lan_ce(lab, net)
    if topo.second_b4:
        _second_b4(lab, net)
    if topo.rogue:
        lab.link("rogue", "eth0", "ngn", "rogue0")
        lab.run("ngn", "ip", "-6", "addr", "add", "2001:db8:103::1/64", "dev", "rogue0")
        lab.run("rogue", "ip", "-6", "addr", "add", f"{ROGUE}/64", "dev", "eth0")
        lab.run("rogue", "ip", "-6", "route", "add", "default", "via", "2001:db8:103::1")
    return net


def _ngn(lab: Lab, net: Network, rule: dict[str, object]) -> None:
    work, topo = net.work, net.topology
    run = lab.run
    run("ngn", "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
    run("ngn", "ip", "-6", "addr", "add", f"{NGN}/64", "dev", "ce0")
    run("ngn", "ip", "-6", "addr", "add", f"{CORE_NGN}/64", "dev", "br0")
    run("ngn", "ip", "-6", "addr", "add", f"{RULES_ADDRESS}/128", "dev", "lo")
    run("ngn", "ip", "-6", "route", "add", "2001:db8:ffff::/48", "via", CORE_BR)
    services.start_radvd(lab, "ngn", work, "ce0", ACCESS)
    services.start_kea(lab, "ngn", work, interface="ce0", subnet=ACCESS, delegated=PREFIX,
                       rule=rule if topo.provider == "dhcpv6" else None,
                       aftr=AFTR_NAME if topo.provider == "dslite" else None)  # fmt: skip
    txt = f"v=v6mig-1 url={net.url}config t={'b' if topo.tls else 'a'}"
    services.start_dnsmasq(lab, "ngn", work, name="dns-ngn", listen=NGN, options=[
        f"--host-record={RULES_NAME},{RULES_ADDRESS}",
        f"--host-record={AFTR_NAME},{AFTR}",
        f"--txt-record=4over6.info,{txt}",
    ])  # fmt: skip
    _netns_file(lab, "ngn", "resolv.conf", f"nameserver {NGN}\n")
    rule_server(lab, net.db, "init")
    rule_server(lab, net.db, "rules", "import", str(work / "rules.json"), "--name", "lab")
    rule_server(lab, net.db, "vendor", "add", ROUTER_CODE, "--name", "router maker")
    rule_server(lab, net.db, "vendor", "add", HGW_CODE, "--name", "HGW maker", "--kind", "hgw")
    rule_server(lab, net.db, "subscriber", "add", "--prefix", PREFIX, "--target", topo.target,
                "--rule-set", "lab")  # fmt: skip
    if topo.tls:
        net.ca, cert, key = services.lab_ca(work, [RULES_NAME])
        net.server_tls = ["--tls-cert", str(cert), "--tls-key", str(key)]
    start_rule_server(lab, net)


def start_rule_server(lab: Lab, net: Network, log: str = "server.log") -> None:
    """``mape server`` in ``ngn`` (again, under another ``log``, after a scenario stopped it)."""
    port = 443 if net.topology.tls else 80
    lab.mape("ngn", "server", "--db", net.db, "serve", "--listen", f"[{RULES_ADDRESS}]:{port}",
             "--rate-limit", "0", "--update-moves-prefix", *net.server_tls,
             log=net.work / log)  # fmt: skip
    wait_for(lambda: f":{port} " in lab.run("ngn", "ss", "-ltn").stdout, what="the rule server")


def _br_inet(lab: Lab, work: Path, rule: dict[str, object], db: str, backend: str) -> None:
    lab.run("br", "ip", "-6", "addr", "add", f"{CORE_BR}/64", "dev", "ngn0")
    lab.run("br", "ip", "-6", "route", "add", "default", "via", CORE_NGN)
    lab.run("br", "ip", "addr", "add", "198.51.100.1/24", "dev", "inet0")
    lab.run("inet", "ip", "addr", "add", f"{INET}/24", "dev", "eth0")
    lab.run("inet", "ip", "route", "add", "192.0.2.0/24", "via", "198.51.100.1")
    lab.run("inet", "ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.1")
    (work / "br-rules.json").write_text(json.dumps([rule]))
    lab.mape("br", "br", "--rules", str(work / "br-rules.json"), "--device", "ngn0",
             "--backend", backend, "--stats", str(work / "br.json"), "--json",
             log=work / "br.log")  # fmt: skip
    lab.mape("br", "aftr", "--address", AFTR, "--device", "ngn0", "--public", "inet0",
             "--stats", str(work / "aftr.json"), log=work / "aftr.log")  # fmt: skip
    lab.mape("br", "ipip-endpoint", "--address", IPIP_ENDPOINT, "--device", "ngn0",
             "--db", db, "--poll", "0.3", "--stats", str(work / "ipip-endpoint.json"),
             log=work / "ipip-endpoint.log")  # fmt: skip
    lab.start("inet", sys.executable, "-c", WEB, log=work / "web.log")
    if shutil.which("iperf3"):  # for throughput through the lab by hand
        lab.start("inet", "iperf3", "--server", "--bind", INET, log=work / "iperf3.log")
    wait_for(lambda: ":80 " in lab.run("inet", "ss", "-ltn").stdout, what="the web server")
    for name in ("br", "aftr", "ipip-endpoint"):
        wait_for((work / f"{name}.json").exists, what=f"the {name}")


def _lan_ce(lab: Lab, net: Network) -> None:
    """The LAN host and the CE's router set-up: addresses, NAT of the LAN to the WAN's
    IPv4 (used behind an HGW), DNS, dhcpcd; then the agent's configuration."""
    work, topo = net.work, net.topology
    lab.run("lan", "ip", "addr", "add", "192.168.1.2/24", "dev", "eth0")
    lab.run("lan", "ip", "route", "add", "default", "via", "192.168.1.1")
    # veth hands TCP checksums on unfinished (CHECKSUM_PARTIAL, for the NIC to finish); a
    # kernel-speed CE (ip6tnl or bpf) passes them on encapsulated, and a userspace BR's
    # raw socket would forward them unfinished: the LAN host finishes its own
    lab.run("lan", "ethtool", "-K", "eth0", "tx", "off")
    lab.run("ce", "ip", "addr", "add", "192.168.1.1/24", "dev", "lan0")
    lab.run("ce", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    (work / "ce-base.nft").write_text(
        "table ip lab_router {\n  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        '    oifname "wan0" masquerade\n  }\n}\n'
    )
    lab.run("ce", "nft", "-f", str(work / "ce-base.nft"))
    behind_hgw = topo.hgw != "none"
    _netns_file(lab, "ce", "resolv.conf", f"nameserver {HGW_LAN if behind_hgw else NGN}\n")
    if topo.fresh:  # `mape setup` writes the rest (the fresh-router scenario)
        return
    net.ce_dhcp = services.start_dhcpcd(lab, "ce", work, wan="wan0", lan="lan0",
                                        ipv4=behind_hgw)  # fmt: skip
    tls = {"ca_file": str(net.ca)} if net.ca else {}
    provider: dict[str, object] = {
        "url": net.url,
        "hgw_url": DEFAULT_HGW_URL,
        "iid": ce_iid(topo),
        "dhcpv6_options_file": str(net.ce_dhcp / "s46.hex"),
        "dns_server": NGN,
        **tls,
    }
    if topo.provider == "hb46pp":
        provider["url"] = None  # found by discovery: the 4over6.info TXT record
    if topo.provider == "dslite":  # the AFTR's name from DHCPv6 option 64, via the hook
        provider["aftr_file"] = str(net.ce_dhcp / "aftr")
    if topo.provider == "ipip":
        provider.update(remote=IPIP_ENDPOINT, interface_id=IPIP_IID, ipv4=FIXED_IPV4,
                        update_url=update_url(net), update_user=UPDATE_USER,
                        update_password=UPDATE_PASSWORD)  # fmt: skip
    agent_config(
        work,
        topo.provider,
        topo.timer_scale,
        provider=provider,
        prefix={  # what a user would configure; "auto" (PD first) where the HGW delegates
            "source": "auto" if topo.hgw_pd else "ra" if behind_hgw else "pd",
            "pd_file": str(net.ce_dhcp / "pd"),
        },
        dataplane={"backend": topo.backend, "replace_default_route": behind_hgw},
    )


def update_url(net: Network) -> str:
    """The rule server's IPIP update URL (credentials go as HTTP Basic authentication)."""
    return f"{'https' if net.topology.tls else 'http'}://{RULES_NAME}/update"


def _second_b4(lab: Lab, net: Network) -> None:
    """ce2 and lan2: a second CE on its own access link with a fixed prefix, the same LAN
    addresses as the first, and a DS-Lite subscription it learns from HB46PP."""
    run = lab.run
    lab.link("lan2", "eth0", "ce2", "lan0")
    lab.link("ce2", "wan0", "ngn", "ce2")
    run("ngn", "ip", "-6", "addr", "add", f"{CE2_NGN}/64", "dev", "ce2")
    run("ngn", "ip", "-6", "route", "add", CE2_PREFIX, "via", CE2_ACCESS)
    run("ce2", "ip", "-6", "addr", "add", f"{CE2_ACCESS}/64", "dev", "wan0")
    run("ce2", "ip", "-6", "route", "add", "default", "via", CE2_NGN)
    first = ipaddress.IPv6Network(CE2_PREFIX)[1]
    run("ce2", "ip", "-6", "addr", "add", f"{first}/64", "dev", "lan0")
    run("ce2", "ip", "addr", "add", "192.168.1.1/24", "dev", "lan0")
    run("ce2", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    run("lan2", "ip", "addr", "add", "192.168.1.2/24", "dev", "eth0")
    run("lan2", "ip", "route", "add", "default", "via", "192.168.1.1")
    _netns_file(lab, "ce2", "resolv.conf", f"nameserver {NGN}\n")
    rule_server(lab, net.db, "subscriber", "add", "--prefix", CE2_PREFIX, "--target", "router",
                "--rule-set", "lab", "--order", "dslite", "--aftr", AFTR_NAME)  # fmt: skip
    tls = {"ca_file": str(net.ca)} if net.ca else {}
    agent_config(net.work, "hb46pp", net.topology.timer_scale, name="ce2-agent",
                 provider={"url": None, "dns_server": NGN, **tls},
                 prefix={"source": "static", "static": CE2_PREFIX, "pd_file": None},
                 dataplane={"backend": net.topology.backend})  # fmt: skip


def _hgw(lab: Lab, net: Network) -> None:
    work, topo = net.work, net.topology
    run = lab.run
    run("hgw", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    run("hgw", "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
    run("hgw", "sysctl", "-qw", "net.ipv6.conf.wan0.accept_ra=2")
    run("hgw", "ip", "addr", "add", f"{HGW_LAN}/24", "dev", "lan0")
    _netns_file(lab, "hgw", "resolv.conf", f"nameserver {NGN}\n")
    net.hgw_dhcp = services.start_dhcpcd(lab, "hgw", work, wan="wan0", lan="lan0")
    services.start_radvd(lab, "hgw", work, "lan0", HGW_RA)
    if topo.hgw_pd:
        hgw_kea = work / "kea-hgw"
        hgw_kea.mkdir(exist_ok=True)
        services.start_kea(lab, "hgw", hgw_kea, interface="lan0", subnet=HGW_RA,
                           delegated=HGW_PD, rule=None)  # fmt: skip
    services.start_dnsmasq(lab, "hgw", work, name="dns-hgw", listen=HGW_LAN, options=[
        "--dhcp-range=192.168.10.100,192.168.10.199,1h",
        f"--dhcp-option=option:router,{HGW_LAN}",
        f"--dhcp-option=option:dns-server,{HGW_LAN}",
        f"--address=/ntt.setup/{HGW_LAN}",
        f"--server={NGN}",
    ])  # fmt: skip
    status = "ON" if topo.hgw == "on" else "OFF"
    lab.mape("hgw", "hgw-emulator", "--listen", f"{HGW_LAN}:8888", "--status", status,
             log=work / "hgw-emulator.log")  # fmt: skip
    if topo.hgw == "on":
        tls = {"ca_file": str(net.ca)} if net.ca else {}
        config = agent_config(
            work,
            "jpne",
            topo.timer_scale,
            name="hgw-agent",
            provider={"url": net.url, "vendor_code": HGW_CODE, **tls},
            prefix={"source": "pd", "pd_file": str(net.hgw_dhcp / "pd")},
            dataplane={"backend": topo.backend},
        )
        lab.mape("hgw", "agent", "--config", str(config), log=work / "hgw-agent.log")
