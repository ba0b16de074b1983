"""``-o``: atomic over a regular file or a new path; links, FIFOs and devices refused."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from mapekit.cli.main import main

PREFIX = "240b:10:3f6c:d400::/56"


def export(capsys: pytest.CaptureFixture[str], target: str) -> tuple[int, str, str]:
    code = main(["export", "--format", "openwrt", PREFIX, "-o", target])
    out, err = capsys.readouterr()
    return code, out, err


def test_new_path_and_regular_file_are_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "mape.conf"
    assert export(capsys, str(target))[0] == 0
    first = target.read_text()
    assert "config interface" in first
    target.write_text("old")
    assert export(capsys, str(target))[0] == 0
    assert target.read_text() == first and not target.is_symlink()


def test_dash_is_standard_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = export(capsys, "-")
    assert code == 0 and "config interface" in out and "wrote" not in out
    assert not Path("-").exists()


def test_a_symlink_is_refused_and_left_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    real = tmp_path / "real"
    real.write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(real)
    code, _, err = export(capsys, str(link))
    assert code == 3 and "symbolic link" in err and "[output.refused]" in err
    assert link.is_symlink() and real.read_text() == "keep"


def test_dev_stdout_is_not_replaced(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")  # the shape of /dev/stdout
    code, out, err = export(capsys, str(link))
    assert code == 3 and out == "" and "[output.refused]" in err
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"


def test_fifo_socket_device_and_directory_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(sock_path))
    try:
        for target, kind in ((fifo, "FIFO"), (sock_path, "socket"), (tmp_path, "directory")):
            code, _, err = export(capsys, str(target))
            assert code == 3 and kind in err, err
        code, _, err = export(capsys, "/dev/null")
        assert code == 3 and "character device" in err
    finally:
        listener.close()
    assert fifo.exists() and not fifo.is_file()
    assert not list(tmp_path.glob(".fifo.*")), "a temporary file was left behind"
