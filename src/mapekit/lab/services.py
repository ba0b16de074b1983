"""Third-party programs the lab runs as the real peers of mapekit (docs/design.md §5):

- ISC Kea: DHCPv6 prefix delegation on the access network, with the RFC 7598 S46 options
  (a MAP-E container built from the lab's rule), and a run-script hook that routes each
  delegated prefix to the client that asked for it, as a BNG does;
- radvd: router advertisements (the access network's, and the HGW's /64 on its LAN);
- dnsmasq: DNS on the access network (the rule server's name and the ``4over6.info`` TXT
  record), and on the HGW DHCPv4 and DNS that answers ``ntt.setup``;
- dhcpcd: the DHCPv6 client of the CE and the HGW, running mapekit's own hook;
- a throw-away certificate authority (trustme) for the rule servers' HTTPS.

Every configuration is rendered from the lab's own addresses; no text from outside the lab
reaches a configuration file or a command line. Each program's files live in the lab's
work directory; dhcpcd gets private ``/run/dhcpcd`` and ``/var/lib/dhcpcd`` directories by
bind mounts inside its own mount namespace (``ip netns exec`` makes one per command).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
from importlib.resources import files
from pathlib import Path

from mapekit.lab.netns import Lab, LabError, wait_for

# program -> the Debian package that has it
PROGRAMS = {
    "kea-dhcp6": "kea-dhcp6-server",
    "radvd": "radvd",
    "dnsmasq": "dnsmasq-base",
    "dhcpcd": "dhcpcd-base",
}
RUN_SCRIPT = "libdhcp_run_script.so"  # in Kea's hooks directory (multiarch on Debian)
DHCPCD_HOOKS = "/usr/lib/dhcpcd/dhcpcd-hooks"  # what dhcpcd-run-hooks sources


def missing_programs() -> list[str]:
    """The Debian packages whose programs are not installed."""
    return [pkg for prog, pkg in PROGRAMS.items() if _which(prog) is None]


def _which(program: str) -> str | None:
    return shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")


def _program(program: str) -> str:
    found = _which(program)
    if found is None:
        raise LabError(f"lab: {program} is missing (Debian package {PROGRAMS[program]})")
    return found


# --- Kea --------------------------------------------------------------------------------


def s46_option_data(rule: dict[str, object]) -> list[dict[str, object]]:
    """Kea option-data for one MAP-E container holding ``rule`` as an FMR and its BR."""
    v4 = ipaddress.IPv4Network(str(rule["ipv4_prefix"]))
    v6 = ipaddress.IPv6Network(str(rule["ipv6_prefix"]))
    return [
        {"space": "dhcp6", "name": "s46-cont-mape", "always-send": True},
        {
            "space": "s46-cont-mape-options",
            "name": "s46-rule",
            "data": f"1, {rule['ea_len']}, {v4.prefixlen}, {v4.network_address}, {v6}",
        },
        {
            "space": "s46-rule-options",
            "name": "s46-portparams",
            "data": f"{rule['psid_offset']}, 0/0",
        },
        {"space": "s46-cont-mape-options", "name": "s46-br", "data": str(rule["br"])},
    ]


ROUTE_SCRIPT = """#!/bin/sh
# Kea run-script hook: route a delegated prefix to the client that asked for it (a BNG's job)
[ "$1" = leases6_committed ] || exit 0
[ "$LEASES6_AT0_TYPE" = IA_PD ] || exit 0
exec ip -6 route replace "$LEASES6_AT0_ADDRESS/$LEASES6_AT0_PREFIX_LEN" \\
    via "$QUERY6_REMOTE_ADDR" dev "$QUERY6_IFACE_NAME"
"""


def _kea_hook(name: str) -> Path:
    for folder in (*sorted(Path("/usr/lib").glob("*/kea/hooks")), Path("/usr/lib/kea/hooks")):
        if (folder / name).exists():
            return folder / name
    raise LabError(f"lab: Kea's {name} is missing (Debian package kea-dhcp6-server)")


def kea_config(
    work: Path,
    *,
    interface: str,
    subnet: str,
    delegated: str,
    rule: dict[str, object] | None,
) -> dict[str, object]:
    """Kea's DHCPv6 configuration: one delegated prefix (``delegated``) on ``interface``,
    the S46 MAP-E container when ``rule`` is given."""
    pool = ipaddress.IPv6Network(delegated)
    hooks = [
        {
            "library": str(_kea_hook(RUN_SCRIPT)),
            "parameters": {"name": str(work / "kea-route.sh"), "sync": True},
        }
    ]  # fmt: skip
    return {
        "Dhcp6": {
            "interfaces-config": {"interfaces": [interface]},
            "server-id": {"type": "LL", "persist": False},
            "lease-database": {"type": "memfile", "persist": False},
            "control-socket": {"socket-type": "unix", "socket-name": str(work / "kea.sock")},
            "preferred-lifetime": 3000,
            "valid-lifetime": 4000,
            "hooks-libraries": hooks,
            "subnet6": [
                {
                    "id": 1,
                    "subnet": subnet,
                    "interface": interface,
                    "pd-pools": [
                        {
                            "prefix": str(pool.network_address),
                            "prefix-len": pool.prefixlen,
                            "delegated-len": pool.prefixlen,
                        }
                    ],
                    "option-data": s46_option_data(rule) if rule else [],
                }
            ],
            "loggers": [
                {
                    "name": "kea-dhcp6",
                    "output_options": [{"output": str(work / "kea.log")}],
                    "severity": "INFO",
                }
            ],
        }
    }


def start_kea(
    lab: Lab,
    node: str,
    work: Path,
    *,
    interface: str,
    subnet: str,
    delegated: str,
    rule: dict[str, object] | None,
) -> None:
    script = work / "kea-route.sh"
    script.write_text(ROUTE_SCRIPT)
    script.chmod(0o755)
    config = work / "kea.json"
    config.write_text(
        json.dumps(
            kea_config(work, interface=interface, subnet=subnet, delegated=delegated, rule=rule),
            indent=1,
        )
    )
    kea = _program("kea-dhcp6")
    lab.run(node, kea, "-t", str(config))
    # newer Kea releases keep sockets, logs and data in their own folders unless told
    folders = ("PIDFILE", "LOCKFILE", "CONTROL_SOCKET", "LOG_FILE", "DHCP_DATA")
    lab.start(
        node,
        "env",
        *(f"KEA_{name}_DIR={work}" for name in folders),
        kea,
        "-c",
        str(config),
        log=work / "kea.out",
    )
    wait_for((work / "kea.sock").exists, what="Kea to start")


def kea_delegate(work: Path, delegated: str) -> None:
    """Change the prefix Kea delegates (renumbering) and reload it."""
    config = work / "kea.json"
    doc = json.loads(config.read_text())
    pool = ipaddress.IPv6Network(delegated)
    doc["Dhcp6"]["subnet6"][0]["pd-pools"][0].update(
        {
            "prefix": str(pool.network_address),
            "prefix-len": pool.prefixlen,
            "delegated-len": pool.prefixlen,
        }
    )
    config.write_text(json.dumps(doc, indent=1))
    # a Unix socket is a file: no need to enter the node's network namespace
    chunks = []
    try:
        with socket.socket(socket.AF_UNIX) as control:
            control.settimeout(10)
            control.connect(str(work / "kea.sock"))
            control.sendall(json.dumps({"command": "config-reload"}).encode())
            while chunk := control.recv(65536):
                chunks.append(chunk)
        reply = json.loads(b"".join(chunks))
    except (OSError, ValueError) as exc:
        raise LabError(f"lab: Kea's control socket: {exc}") from None
    if reply.get("result") != 0:
        raise LabError(f"lab: Kea refused the new configuration: {reply.get('text')}")


# --- radvd, dnsmasq ---------------------------------------------------------------------


def start_radvd(lab: Lab, node: str, work: Path, interface: str, prefix: str) -> None:
    """Router advertisements of ``prefix`` on ``interface`` (managed flag on: use DHCPv6)."""
    name = f"radvd-{interface}"
    config = work / f"{name}.conf"
    config.write_text(
        f"interface {interface} {{\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n"
        f"  MaxRtrAdvInterval 10;\n  AdvManagedFlag on;\n  AdvOtherConfigFlag on;\n"
        f"  prefix {ipaddress.IPv6Network(prefix)} {{ AdvOnLink on; AdvAutonomous on; }};\n}};\n"
    )
    radvd = _program("radvd")
    lab.run(node, radvd, "-c", "-C", str(config))
    lab.start(node, radvd, "-n", "-C", str(config), "-p", str(work / f"{name}.pid"),
              "-m", "stderr", log=work / f"{name}.log")  # fmt: skip


def start_dnsmasq(
    lab: Lab, node: str, work: Path, *, name: str, listen: str, options: list[str]
) -> None:
    """dnsmasq answering only from its own records (no upstream, no host files)."""
    base = [
        _program("dnsmasq"),
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        f"--listen-address={listen}",
        f"--pid-file={work / f'{name}.pid'}",
        f"--dhcp-leasefile={work / f'{name}.leases'}",
        "--log-queries",
        "--log-facility=-",
        "--user=root",
    ]
    lab.start(node, *base, *options, log=work / f"{name}.log")
    host = listen if ":" not in listen else f"[{listen}]"
    wait_for(lambda: f"{host}:53 " in lab.run(node, "ss", "-lnu").stdout, what=f"{name} to listen")


# --- dhcpcd -----------------------------------------------------------------------------

# dhcpcd's run, state and hooks folders, private to this dhcpcd (bind mounts in the mount
# namespace `ip netns exec` made for it; the host's folders are only mount points)
_PRIVATE_DIRS = f"""
mkdir -p "$1/run" "$1/lib" || exit 1
[ -d /run/dhcpcd ] || mkdir /run/dhcpcd || exit 1
mount --bind "$1/run" /run/dhcpcd && mount --bind "$1/lib" /var/lib/dhcpcd &&
    mount --bind "$2" {DHCPCD_HOOKS} || exit 1
shift 2
exec "$@"
"""


def hook_path() -> Path:
    """mapekit's dhcpcd hook (installed as a dhcpcd-hooks file on a real router)."""
    return Path(str(files("mapekit.agent") / "data" / "dhcpcd-hook"))


def _dhcpcd_command(node_dir: Path, *args: str, hooks: Path | None = None) -> list[str]:
    """dhcpcd with private run and state folders in ``node_dir`` and ``hooks`` (default
    ``node_dir/hooks``) as the hooks folder dhcpcd-run-hooks sources."""
    folder = str(hooks or node_dir / "hooks")
    return ["sh", "-c", _PRIVATE_DIRS, "dhcpcd", str(node_dir), folder, _program("dhcpcd"), *args]


def start_dhcpcd_as_installed(lab: Lab, node: str, work: Path, *, conf: Path, hooks: Path,
                              wan: str) -> Path:  # fmt: skip
    """dhcpcd from a configuration and hooks folder written by ``mape setup`` (as on a
    router: nothing of the lab's own); its logs in ``work/dhcpcd-<node>``."""
    node_dir = work / f"dhcpcd-{node}"
    node_dir.mkdir(parents=True, exist_ok=True)
    lab.start(node, *_dhcpcd_command(node_dir, "--nobackground", "--config", str(conf),
                                     "--debug", "--logfile", str(node_dir / "dhcpcd.log"), wan,
                                     hooks=hooks),
              log=node_dir / "dhcpcd.out", grace=3.0)  # fmt: skip
    return node_dir


def start_dhcpcd(
    lab: Lab,
    node: str,
    work: Path,
    *,
    wan: str,
    lan: str | None,
    ipv4: bool = False,
    pd: bool = True,
) -> Path:
    """dhcpcd on ``wan`` (RA, DHCPv6-PD with the S46 option, DHCPv4 when ``ipv4``), one /64 of
    the delegated prefix on ``lan``; its own dhcpcd-run-hooks runs mapekit's hook (the only
    hook), which writes ``pd`` and ``s46.hex`` in the node's directory, returned."""
    node_dir = work / f"dhcpcd-{node}"
    node_dir.mkdir(parents=True, exist_ok=True)
    delegate = f"  ia_pd 1 {lan}/0/64/1\n" if lan else "  ia_pd 1\n"
    (node_dir / "dhcpcd.conf").write_text(
        "# the lab's DHCP client (mapekit's hook is the only hook)\n"
        + ("noarp\n" if ipv4 else "ipv6only\n")  # noarp: no 5 s RFC 5227 probe in a lab
        + "define6 94 binhex s46_cont_mape\noption s46_cont_mape\n"
        + "option domain_name_servers\n"
        + f"allowinterfaces {wan}\n"
        + f"interface {wan}\n  ipv6rs\n"
        + (delegate if pd else "")
    )
    hooks = node_dir / "hooks"  # dhcpcd-run-hooks sources mapekit's hook, as on a router
    hooks.mkdir(exist_ok=True)
    shutil.copyfile(hook_path(), hooks / "70-mapekit")
    lab.start(
        node,
        *_dhcpcd_command(
            node_dir,
            "--nobackground",
            "--config",
            str(node_dir / "dhcpcd.conf"),
            "--env",
            f"mapekit_pd_file={node_dir / 'pd'}",
            "--env",
            f"mapekit_s46_file={node_dir / 's46.hex'}",
            "--env",
            f"mapekit_wan={wan}",
            "--debug",
            "--logfile",
            str(node_dir / "dhcpcd.log"),
            wan,
        ),
        log=node_dir / "dhcpcd.out",
        grace=3.0,  # it runs its stop hooks at once, then may wait on its own proxies
    )
    return node_dir


def dhcpcd_rebind(lab: Lab, node: str, node_dir: Path, wan: str) -> None:
    """Ask the running dhcpcd to rebind (``dhcpcd --rebind``), as after renumbering."""
    if not any(p.is_socket() for p in (node_dir / "run").glob("*.sock")):
        # without a control socket `dhcpcd --rebind` would start a dhcpcd of its own
        raise LabError(f"lab: {node}'s dhcpcd is not running (see {node_dir}/dhcpcd.log)")
    lab.run(node, *_dhcpcd_command(node_dir, "--rebind", wan))


# --- the lab CA -------------------------------------------------------------------------


def lab_ca(work: Path, names: list[str]) -> tuple[Path, Path, Path]:
    """A throw-away CA and one server certificate for ``names``: (CA, cert, key) files."""
    import trustme  # only the lab needs a CA  # noqa: PLC0415

    ca = trustme.CA(organization_name="mapekit lab")
    issued = ca.issue_cert(*names)
    paths = (work / "lab-ca.pem", work / "rules-cert.pem", work / "rules-key.pem")
    ca.cert_pem.write_to_path(str(paths[0]))
    paths[1].write_bytes(b"".join(pem.bytes() for pem in issued.cert_chain_pems))
    paths[2].unlink(missing_ok=True)
    key = os.open(paths[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable
    with os.fdopen(key, "wb") as out:
        out.write(issued.private_key_pem.bytes())
    return paths
