"""Where the End-user prefix comes from: DHCPv6-PD (a file the DHCPv6 client's hook
writes), the RA /64 of the WAN address, the /64 a DHCPv6 client put on the LAN (``lan``:
systemd-networkd runs no hook), or a static prefix — pd, ra, static in that order for
``auto``.
"""

from __future__ import annotations

from pathlib import Path

from mapekit.agent.config import AgentConfig
from mapekit.core.addr import ipv6_text, mask, parse_end_user_prefix
from mapekit.core.errors import MapeError
from mapekit.dataplane.links import global_ipv6

Prefix = tuple[int, int]


def from_pd_file(path: str | None) -> Prefix | None:
    """``PREFIX/LEN`` on the first line of the hook's file, or None."""
    if not path:
        return None
    try:
        line = Path(path).read_text(encoding="ascii").strip().splitlines()[0]
        return parse_end_user_prefix(line, "pd_file")
    except (OSError, UnicodeDecodeError, IndexError, MapeError):
        return None


def file_signature(path: str | None) -> tuple[int, int, int] | None:
    """What tells a rewritten PD file from the last one read (inode, size, mtime)."""
    if not path:
        return None
    try:
        info = Path(path).stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def from_ra(wan: str, exclude: set[int]) -> Prefix | None:
    """The /64 of the WAN's global address (not the CE's own MAP /128)."""
    for address, length in global_ipv6(wan):
        if length == 128 or address in exclude:
            continue
        return address & mask(128, 64), 64
    return None


def current_prefix(config: AgentConfig, exclude: set[int]) -> tuple[Prefix | None, str]:
    """The prefix to use now and where it came from."""
    settings = config.prefix
    source = settings.source
    if source in ("auto", "pd"):
        found = from_pd_file(settings.pd_file)
        if found is not None or source == "pd":
            return found, "DHCPv6-PD"
    if source in ("auto", "ra"):
        found = from_ra(config.wan, exclude)
        if found is not None or source == "ra":
            return found, "RA /64"
    if source == "lan":
        return (from_ra(config.lan, exclude) if config.lan else None), "LAN /64"
    if settings.static:
        return parse_end_user_prefix(settings.static, "prefix.static"), "static"
    return None, "none"


def source_in_prefix(prefix: Prefix, interfaces: list[str | None]) -> str | None:
    """An address of ``interfaces`` inside the End-user prefix: rule requests must leave
    from one (the JPNE-style server identifies the subscriber by it; docs/design.md §3.2)."""
    for name in interfaces:
        if not name:
            continue
        for address, _ in global_ipv6(name):
            if address & mask(128, prefix[1]) == prefix[0]:
                return ipv6_text(address)
    return None
