"""systemd's notify protocol (``sd_notify``): one datagram of ``KEY=VALUE`` lines to the
socket named by ``NOTIFY_SOCKET``, written here rather than taken from a library since it
is one ``sendto``.

The agent sends ``READY=1`` once it has decided (established, or waiting with a reason),
``STATUS=`` lines that ``systemctl status`` shows, ``WATCHDOG=1`` at half the
``WATCHDOG_USEC`` interval, ``RELOADING=1`` around a configuration reload and
``STOPPING=1`` when it stops. Outside systemd every call does nothing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class Notifier:
    address: str | None = None  # NOTIFY_SOCKET; "@name" is an abstract socket
    watchdog_usec: int | None = None
    sent: int = 0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        return cls(
            environ.get("NOTIFY_SOCKET") or None,
            int(usec) if usec.isdigit() and int(usec) > 0 and mine else None,
        )

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings (half the interval systemd allows)."""
        return None if self.watchdog_usec is None else self.watchdog_usec / 2e6

    def send(self, **fields: str) -> bool:
        """One datagram; False when there is no systemd to tell (or it cannot be told)."""
        if self.address is None:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        message = "\n".join(f"{k}={v}" for k, v in fields.items()).encode()
        with (
            contextlib.suppress(OSError),
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock,
        ):
            sock.sendto(message, target)
            self.sent += 1
            return True
        return False

    def ready(self, status: str) -> bool:
        return self.send(READY="1", STATUS=_one_line(status))

    def status(self, status: str) -> bool:
        return self.send(STATUS=_one_line(status))

    def watchdog(self) -> bool:
        return self.send(WATCHDOG="1")

    def reloading(self) -> bool:
        return self.send(
            RELOADING="1", MONOTONIC_USEC=str(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)
        )

    def stopping(self, status: str) -> bool:
        return self.send(STOPPING="1", STATUS=_one_line(status))


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400]
