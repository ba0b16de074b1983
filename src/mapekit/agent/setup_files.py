"""The files ``mape setup`` writes, rendered as text (pure): the agent's configuration with
comments, the dhcpcd configuration blocks and hook, the systemd-networkd drop-ins, and the
systemd unit. ``root`` prefixes every path, both where a file goes and the paths written
inside the files (``/`` on a router; a folder in tests and in the lab).
"""

from __future__ import annotations

import json
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import PurePosixPath

from mapekit.agent.config import KEYS
from mapekit.agent.proposal import Proposal

UNIT_NAME = "mapekit-agent.service"
CONFIG = "/etc/mapekit/agent.toml"
STATE_DIR, RUN_DIR = "/var/lib/mapekit", "/run/mapekit"
DHCPCD_CONF = "/etc/dhcpcd.conf"
DHCPCD_HOOK = "/usr/lib/dhcpcd/dhcpcd-hooks/70-mapekit"
BEGIN, END = "# >>> mapekit", "# <<< mapekit"
CONFIG_EXIT = 78  # the configuration-error exit status (docs/cli.md)
_DOC = {k.path: k.doc for k in KEYS}


@dataclass(frozen=True)
class Layout:
    """Where things are: every path under ``root``."""

    root: str = "/"

    def path(self, absolute: str) -> str:
        if self.root in ("", "/"):
            return absolute
        return str(PurePosixPath(self.root) / absolute.lstrip("/"))


@dataclass(frozen=True)
class Setting:
    """What the user's router has: interfaces and the chosen method."""

    wan: str
    lan: str | None
    delivery: str  # dhcpcd | networkd | ra
    proposal: Proposal
    hgw_check: bool = True


@dataclass(frozen=True)
class PlannedFile:
    path: str
    text: str
    mode: int = 0o644
    block: bool = False  # a marked block inside a file that has other content


def _comment(text: str, indent: str = "") -> list[str]:
    more = "  " if text.startswith("- ") else ""
    lines = textwrap.wrap(text, 86 - len(indent), subsequent_indent=more)
    return [f"{indent}# {line}" for line in lines]


def _value(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _key(path: str, value: object) -> list[str]:
    name = path.rpartition(".")[2]
    return [*_comment(_DOC[path]), f"{name} = {_value(value)}"]


def agent_toml(setting: Setting, layout: Layout) -> str:
    proposal = setting.proposal
    lines = [
        "# mapekit agent configuration, written by `mape setup` (docs/agent.md lists every",
        "# key; `mape agent --check` checks it; `systemctl reload mapekit-agent` applies it).",
        "#",
        "# Why these settings:",
        *[line for reason in proposal.reasons for line in _comment(f"- {reason.en}")],
        "",
        *_key("provider", proposal.provider),
    ]
    if proposal.settings or proposal.provider in ("dhcpv6", "dslite"):
        lines += ["", f"[{proposal.provider}]"]
        for name, value in proposal.settings.items():
            lines += _key(f"{proposal.provider}.{name}", value)
        if proposal.provider == "dhcpv6":
            lines += _key("dhcpv6.options_file", layout.path(f"{RUN_DIR}/s46.hex"))
        if proposal.provider == "dslite":
            lines += _key("dslite.aftr_file", layout.path(f"{RUN_DIR}/aftr"))
        if proposal.provider == "ipip" and "update_url" in proposal.settings:
            lines += ['# update_password = "..."   # set it here: setup never writes it']
    if not setting.hgw_check:
        lines += ["", "[hgw]", *_key("hgw.check_url", "")]
    lines += ["", "[interfaces]", *_key("interfaces.wan", setting.wan)]
    if setting.lan:
        lines += _key("interfaces.lan", setting.lan)
    lines += ["", "[prefix]", *_key("prefix.source", proposal.prefix_source)]
    if proposal.prefix_source == "pd":
        lines += _key("prefix.pd_file", layout.path(f"{RUN_DIR}/pd"))
    lines += [
        "",
        "[state]",
        *_key("state.dir", layout.path(STATE_DIR)),
        *_key("state.socket", layout.path(f"{RUN_DIR}/agent.sock")),
    ]
    return "\n".join(lines) + "\n"


def dhcpcd_blocks(setting: Setting, layout: Layout) -> tuple[str, str]:
    """The block for the top of dhcpcd.conf (global options: the MAP-E option as hex, where
    the hook writes) and the one for its end (the WAN: RA and a delegated prefix, its
    first /64 on the LAN)."""
    top = "\n".join([
        f"{BEGIN}: global options (written by `mape setup`; mapekit's hook reads them)",
        "define6 94 binhex s46_cont_mape",
        "option s46_cont_mape",
        "option aftr_name",
        f"env mapekit_pd_file={layout.path(RUN_DIR + '/pd')}",
        f"env mapekit_s46_file={layout.path(RUN_DIR + '/s46.hex')}",
        f"env mapekit_aftr_file={layout.path(RUN_DIR + '/aftr')}",
        f"env mapekit_wan={setting.wan}",
        END,
    ])  # fmt: skip
    delegate = f"{setting.lan}/0/64/1" if setting.lan else ""
    end = "\n".join([
        f"{BEGIN}: the WAN (written by `mape setup`)",
        f"interface {setting.wan}",
        "    ipv6rs",
        f"    ia_pd 1 {delegate}".rstrip(),
        END,
    ])  # fmt: skip
    return top, end


def merge_blocks(existing: str, top: str, end: str) -> str:
    """``existing`` with mapekit's blocks replaced (or added: one at the top, one at the
    end); everything else kept as it was."""
    kept: list[str] = []
    inside = False
    for line in existing.splitlines():
        if line.startswith(BEGIN):
            inside = True
            continue
        if inside:
            inside = not line.startswith(END)
            continue
        kept.append(line)
    body = "\n".join(kept).strip("\n")
    return f"{top}\n\n{body}\n\n{end}\n" if body else f"{top}\n\n{end}\n"


def networkd_dropins(setting: Setting, files: dict[str, str], layout: Layout) -> list[PlannedFile]:
    """Drop-ins for the .network files that configure the WAN (ask for a /56) and the LAN
    (put the first /64 there, announce it)."""
    out = []

    def dropin(network_file: str) -> str:
        name = PurePosixPath(network_file).name
        return layout.path(f"/etc/systemd/network/{name}.d/50-mapekit.conf")

    wan = files.get(setting.wan)
    if wan is not None:
        text = ("# written by `mape setup`: a delegated prefix for mapekit\n[Network]\n"
                "DHCP=ipv6\nIPv6AcceptRA=yes\n\n[DHCPv6]\nPrefixDelegationHint=::/56\n"
                "WithoutRA=solicit\n")  # fmt: skip
        out.append(PlannedFile(dropin(wan), text))
    lan = files.get(setting.lan or "")
    if lan is not None:
        text = ("# written by `mape setup`: the first /64 of the delegated prefix on the LAN\n"
                "[Network]\nDHCPPrefixDelegation=yes\nIPv6SendRA=yes\n\n"
                "[DHCPPrefixDelegation]\nSubnetId=0\nAnnounce=yes\n")  # fmt: skip
        out.append(PlannedFile(dropin(lan), text))
    return out


def unit(exec_start: list[str], layout: Layout) -> str:
    """The systemd unit: Type=notify, watchdog, reload by SIGHUP, no restart on a
    configuration error, least privilege; the runtime folder (the hook's files) survives
    a restart."""
    command = shlex.join([*exec_start, "agent", "--config", layout.path(CONFIG)])
    if layout.root in ("", "/"):  # systemd makes them, writable
        dirs = ["RuntimeDirectory=mapekit", "RuntimeDirectoryPreserve=yes",
                "StateDirectory=mapekit"]  # fmt: skip
    else:
        paths = " ".join("-" + layout.path(p) for p in (STATE_DIR, RUN_DIR))
        dirs = [f"ReadWritePaths={paths}"]
    lines = [
        "# mapekit MAP-E CE agent (written by `mape setup`; docs/agent.md).",
        "[Unit]",
        "Description=mapekit MAP-E CE agent",
        "Wants=network-online.target",
        "After=network-online.target nftables.service",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={command}",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "RestartSec=5",
        f"RestartPreventExitStatus={CONFIG_EXIT}",
        "TimeoutStartSec=60",
        "WatchdogSec=60",
        *dirs,
        "# the agent configures interfaces, addresses, routes, nftables and a TUN device;",
        "# the bpf data plane loads tc-BPF programs and maps (CAP_BPF) and pins them in",
        "# bpffs (systemd mounts it at /sys/fs/bpf; without it nothing is pinned)",
        "ReadWritePaths=-/sys/fs/bpf",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF",
        "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ProtectControlGroups=yes",
        "ProtectKernelLogs=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "RestrictNamespaces=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "SystemCallArchitectures=native",
        "DevicePolicy=closed",
        "DeviceAllow=/dev/net/tun rw",
        "UMask=0027",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    return "\n".join(lines) + "\n"


def planned_files(
    setting: Setting,
    layout: Layout,
    *,
    exec_start: list[str],
    hook: str,
    existing_dhcpcd: str,
    networkd_files: dict[str, str],
) -> list[PlannedFile]:
    files = [PlannedFile(layout.path(CONFIG), agent_toml(setting, layout), 0o640)]
    if setting.delivery == "dhcpcd":
        top, end = dhcpcd_blocks(setting, layout)
        files.append(PlannedFile(layout.path(DHCPCD_CONF),
                                 merge_blocks(existing_dhcpcd, top, end), block=True))  # fmt: skip
        files.append(PlannedFile(layout.path(DHCPCD_HOOK), hook, 0o755))
    elif setting.delivery == "networkd":
        files += networkd_dropins(setting, networkd_files, layout)
    files.append(PlannedFile(layout.path(f"/etc/systemd/system/{UNIT_NAME}"),
                             unit(exec_start, layout)))  # fmt: skip
    return files
