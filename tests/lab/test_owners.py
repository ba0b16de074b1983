"""Who owns a lab: a dead run's lab is told from a running one by the owner's pid and start
time, and anything unclear counts as running (a live lab is never swept)."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mapekit.lab.netns import owner_gone, stat_fields


def stat_line(state: str = "S", started: int = 4242, command: str = "python3") -> str:
    """A /proc/PID/stat line as the kernel writes it (fields 1 to 52)."""
    rest = ["0"] * 49
    rest[18] = str(started)  # field 22 is the 19th after the state
    return f"1234 ({command}) {state} " + " ".join(rest) + "\n"


def test_the_start_time_is_field_22_of_a_real_stat() -> None:
    fields = stat_fields(Path(f"/proc/{os.getpid()}/stat").read_text())
    boot_ticks = float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK")
    assert fields[0] in "RS" and 0 < int(fields[19]) <= boot_ticks  # started since boot
    assert stat_fields(stat_line(started=77))[19] == "77"


def test_gone_only_when_surely_gone() -> None:
    record = {"pid": 1234, "started": 4242}
    assert not owner_gone(record, stat_line())  # the owner runs
    assert owner_gone(record, None)  # no such process
    assert owner_gone(record, stat_line(state="Z"))  # exited, not reaped
    assert owner_gone(record, stat_line(started=9999))  # the pid was reused
    for unclear in (None, [], "x", {"pid": 1234}, {"pid": 1234, "started": None},
                    {"pid": 1234, "started": "4242"}, {"pid": 1234, "started": True}):  # fmt: skip
        assert not owner_gone(unclear, None), unclear  # a record nobody can judge: kept
    assert not owner_gone(record, "1234 (x) S 1 2")  # a stat too short to judge: running


@given(command=st.text(max_size=20), started=st.integers(0, 2**40))
def test_a_command_name_with_spaces_or_parentheses_is_no_trap(command: str, started: int) -> None:
    """The command name is free text (``)`` and spaces included): fields are counted from
    the last parenthesis."""
    line = stat_line(command=command.replace("\n", " "), started=started)
    assert not owner_gone({"pid": 1, "started": started}, line)
    assert owner_gone({"pid": 1, "started": started + 1}, line)
