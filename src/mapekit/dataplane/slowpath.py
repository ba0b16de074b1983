"""The bpf backends' slow path: what is rare and needs more than a BPF program.

ICMPv6 "packet too big" about a tunnel packet: the kernel learns no path MTU from one
that quotes IPv4-in-IPv6 without ip6tnl, so a raw ICMPv6 socket reads them, and the
same code as the userspace forwarder's (:func:`answer_packet_too_big`) lowers the tunnel
device's MTU (the kernel then refuses or fragments bigger IPv4 packets itself) and
writes "fragmentation needed" for the packet into the tunnel device.

An IPv4 packet too big for the device the BPF program would send it out of: the program
leaves it unencapsulated, and it reaches the TUN's queue, which only this thread reads;
the tunnel MTU is lowered to the path's and the sender told, as the userspace
forwarder does when the kernel refuses a packet (:func:`answer_too_big`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mapekit.dataplane.checks import Verdict
from mapekit.dataplane.forwarder import (
    MAX_PACKET,
    Stats,
    answer_packet_too_big,
    answer_too_big,
    icmp6_socket,
)

Peer = Callable[[bytes, float], int | None]  # the IPv6 peer of an IPv4 packet


@dataclass
class SlowPath:
    """A thread answering "packet too big" for the tunnel ``tun_name`` (fd ``tun_fd``)."""

    tun_name: str
    tun_fd: int
    local: str
    stats: Stats = field(default_factory=Stats)
    peer: Peer | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.stop.clear()
        self._sock = icmp6_socket()
        self._thread = threading.Thread(target=self._run, name="slowpath", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self.stop.is_set():
            ready, _, _ = select.select([sock.fileno(), self.tun_fd], [], [], 0.5)
            if self.tun_fd in ready:
                self._from_tun()
            if sock.fileno() not in ready:
                continue
            for _ in range(16):
                try:
                    message = sock.recv(MAX_PACKET)
                except (BlockingIOError, OSError):
                    break
                try:
                    answer_packet_too_big(
                        message, self.tun_name, self.tun_fd, self.local, self.stats
                    )
                except Exception:  # one bad message must not stop the slow path
                    self.stats.add("slowpath_errors")

    def _from_tun(self) -> None:
        for _ in range(16):
            try:
                packet = os.read(self.tun_fd, MAX_PACKET)
            except (BlockingIOError, OSError):
                return
            peer = self.peer(packet, time.monotonic()) if self.peer is not None else None
            if peer is None:
                continue
            try:
                answer_too_big(packet, str(ipaddress.IPv6Address(peer)), self.tun_name,
                               self.tun_fd, self.stats)  # fmt: skip
            except Exception:
                self.stats.add("slowpath_errors")

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = self._thread = None


def first_peer(verdict: Verdict) -> int | None:
    """Where the checks would send a packet (None: dropped, or to the IPv4 side)."""
    return next((peer for _, peer in verdict.packets if peer is not None), None)
