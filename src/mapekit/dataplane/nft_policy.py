"""The port policy (``mapekit.dataplane.policy``) as nftables, inside mapekit's table.

Caps use sets with ``ct count`` (nftables' connlimit): ``add @mapekit_flows { ip saddr .
ip daddr . meta l4proto . th dport ct count over N }`` keeps, per LAN host and destination,
the number of its connections and refuses the one over N; refused new flows are counted per
host in ``@mapekit_refused`` (an element counter the agent reads). Timeouts are ``ct
timeout`` objects set from chains that run after conntrack made the entry and before it is
confirmed (priority mangle): the kernel attaches a policy only to an unconfirmed entry.
Everything is generated from checked values (addresses, numbers), never pasted text.
"""

from __future__ import annotations

from mapekit.dataplane.plan import Plan, check_ifname

FLOWS, HOSTS, REFUSED = "mapekit_flows", "mapekit_hosts", "mapekit_refused"
QUICK, TCP = "mapekit_quick_udp", "mapekit_tcp"
SET_SIZE, HOST_SET_SIZE = 65536, 4096
DYNAMIC_SETS = (FLOWS, HOSTS, REFUSED)


def objects(plan: Plan) -> list[str]:
    """Timeout objects and the caps' sets."""
    lines: list[str] = []
    timeouts = plan.policy.timeouts
    if timeouts is not None:
        quick, wait = timeouts.quick_udp, timeouts.tcp_time_wait
        lines += [
            f"\tct timeout {QUICK} {{",
            "\t\tprotocol udp; l3proto ip;",
            f"\t\tpolicy = {{ unreplied : {quick}, replied : {quick} }}",
            "\t}",
            f"\tct timeout {TCP} {{",
            "\t\tprotocol tcp; l3proto ip;",
            f"\t\tpolicy = {{ time_wait : {wait}, close : {timeouts.tcp_close} }}",
            "\t}",
        ]
    if plan.policy.caps:
        lines += [
            f"\tset {FLOWS} {{ type ipv4_addr . ipv4_addr . inet_proto . inet_service; "
            f"size {SET_SIZE}; flags dynamic; }}",
            f"\tset {HOSTS} {{ type ipv4_addr; size {HOST_SET_SIZE}; flags dynamic; }}",
            f"\tset {REFUSED} {{ type ipv4_addr; size {HOST_SET_SIZE}; flags dynamic,timeout; "
            "timeout 1d; counter; }",
        ]
    return lines


def chains(plan: Plan) -> list[str]:
    return _timeout_chains(plan) + _cap_chain(plan)


def _timeout_chains(plan: Plan) -> list[str]:
    timeouts = plan.policy.timeouts
    if timeouts is None:
        return []
    tun = check_ifname(plan.tunnel.name, "tunnel")
    ports = ", ".join(str(int(p)) for p in timeouts.quick_ports)
    rules = [f"udp dport {{ {ports} }} ct timeout set \"{QUICK}\"",
             f"meta l4proto tcp ct timeout set \"{TCP}\""]  # fmt: skip
    # after conntrack (priority -200) has made the entry, before it is confirmed: the kernel
    # attaches a timeout policy only to an unconfirmed entry (nft_ct_timeout_obj_eval)
    lines = [
        "\tchain timeouts {",
        "\t\ttype filter hook prerouting priority mangle; policy accept;",
    ]
    lines += [f'\t\tiifname != "{tun}" {rule}' for rule in rules]
    lines += ["\t}", "\tchain timeouts_local {",
              "\t\ttype filter hook output priority mangle; policy accept;"]  # fmt: skip
    lines += [f"\t\t{rule}" for rule in rules]
    return [*lines, "\t}"]


def _cap_chain(plan: Plan) -> list[str]:
    policy = plan.policy
    if not policy.caps:
        return []
    tun = check_ifname(plan.tunnel.name, "tunnel")
    new = f'oifname "{tun}" ct state new meta l4proto {{ tcp, udp }}'
    refuse = f"update @{REFUSED} {{ ip saddr }} counter drop"
    key = "ip saddr . ip daddr . meta l4proto . th dport"
    lines = ["\tchain caps {", "\t\ttype filter hook forward priority filter - 1; policy accept;"]
    for host, cap in policy.overrides:
        if cap:
            lines.append(f"\t\t{new} ip saddr {host} add @{FLOWS} {{ {key} ct count over {cap} }} "
                         f"{refuse}")  # fmt: skip
    if policy.per_destination:
        exempt = ", ".join(str(h) for h, _ in policy.overrides)
        skip = f"ip saddr != {{ {exempt} }} " if exempt else ""
        lines.append(f"\t\t{new} {skip}add @{FLOWS} {{ {key} ct count over "
                     f"{policy.per_destination} }} {refuse}")  # fmt: skip
    if policy.per_host:
        lines.append(f"\t\t{new} add @{HOSTS} {{ ip saddr ct count over {policy.per_host} }} "
                     f"{refuse}")  # fmt: skip
    return [*lines, "\t}"]
