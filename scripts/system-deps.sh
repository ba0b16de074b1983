#!/usr/bin/env bash
# Debian packages the tests use: nftables (rulesets are checked with nft -c), iproute2
# (network namespaces), ping, iperf3, ethtool, qemu + busybox + kmod for the VM that
# runs the kernel-backend tests, the lab's third-party peers (Kea, radvd, dnsmasq,
# dhcpcd), clang + libbpf for the bpf data plane, and chromium for the status page.
# Installed only when missing, and only as root.
set -euo pipefail
missing=()
command -v nft >/dev/null || missing+=(nftables)
command -v ip >/dev/null || missing+=(iproute2)
command -v ping >/dev/null || missing+=(iputils-ping)
command -v iperf3 >/dev/null || missing+=(iperf3)
command -v ethtool >/dev/null || missing+=(ethtool)
# the kernel-backend test boots Debian's kernel in qemu (docs/design.md §6)
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v busybox >/dev/null || missing+=(busybox-static)
command -v depmod >/dev/null || [ -x /usr/sbin/depmod ] || missing+=(kmod)
# the lab's access network: Kea (DHCPv6-PD, S46 options), radvd, dnsmasq, dhcpcd
[ -x /usr/sbin/kea-dhcp6 ] || missing+=(kea-dhcp6-server)
[ -x /usr/sbin/radvd ] || missing+=(radvd)
[ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
[ -x /usr/sbin/dhcpcd ] || missing+=(dhcpcd-base)
# the systemd unit mape setup writes is checked with systemd-analyze verify
command -v systemd-analyze >/dev/null || missing+=(systemd)
# the bpf data plane: its C sources are built with clang against libbpf's headers, and
# loaded through libbpf (libbpf1 comes with iproute2; bpftool for looking at what runs)
command -v clang >/dev/null || missing+=(clang)
[ -f /usr/include/bpf/bpf_helpers.h ] || missing+=(libbpf-dev)
ls /usr/lib/*/libbpf.so.1 >/dev/null 2>&1 || missing+=(libbpf1)
command -v bpftool >/dev/null || [ -x /usr/sbin/bpftool ] || missing+=(bpftool)
# the status page is tested in a real browser (headless)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "system-deps: not root; tests needing ${missing[*]} will be skipped" >&2
    exit 0
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
}
# the lab runs its own Kea in a namespace; the package's host service is not wanted
if [[ " ${missing[*]} " == *" kea-dhcp6-server "* ]] && command -v systemctl >/dev/null; then
    systemctl disable --now kea-dhcp6-server >/dev/null 2>&1 || true
fi
