"""The bpf backends' slow path: what is rare and needs more than a BPF program.

ICMPv6 "packet too big" about a tunnel packet: the kernel learns no path MTU from one
that quotes IPv4-in-IPv6 without ip6tnl, so a raw ICMPv6 socket reads them, and the
same code as the userspace forwarder's (:func:`answer_packet_too_big`) lowers the tunnel
device's MTU (the kernel then refuses or fragments bigger IPv4 packets itself) and
writes "fragmentation needed" for the packet into the tunnel device.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from dataclasses import dataclass, field

from mapekit.dataplane.forwarder import MAX_PACKET, Stats, answer_packet_too_big, icmp6_socket


@dataclass
class SlowPath:
    """A thread answering "packet too big" for the tunnel ``tun_name`` (fd ``tun_fd``)."""

    tun_name: str
    tun_fd: int
    local: str
    stats: Stats = field(default_factory=Stats)
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
            ready, _, _ = select.select([sock], [], [], 0.5)
            if not ready:
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
