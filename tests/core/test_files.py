"""The one file reader: regular files only, bounded, never a hang or a crash."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from mapekit.core.errors import DataError
from mapekit.core.files import (
    check_nesting,
    json_depth,
    load_json_file,
    load_toml_file,
    read_bytes_file,
    read_text_file,
)


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('\ufeff{"a": [1, 2]}')
    assert load_json_file(path, what="state", max_bytes=100) == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("target", "kind"),
    [("/dev/zero", "character device"), ("/dev/urandom", "character device")],
)
def test_devices_are_refused_before_reading(target: str, kind: str) -> None:
    with pytest.raises(DataError, match=kind) as info:
        read_bytes_file(target, what="config", max_bytes=1 << 20, reason="config.unreadable")
    assert info.value.reason_code == "config.unreadable" and target in info.value.message


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="a directory") as info:
        read_text_file(tmp_path, what="state", max_bytes=10, reason="state.unreadable")
    assert info.value.field == "state"


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "rules.json"
    os.mkfifo(fifo)
    outcome: list[object] = []

    def read() -> None:
        try:
            load_json_file(fifo, what="state", max_bytes=10, reason="state.unreadable")
        except DataError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "reading a FIFO hung"
    assert isinstance(outcome[0], DataError) and "FIFO" in outcome[0].message


def test_a_symbolic_link_is_refused_when_asked(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert load_json_file(link, what="rules", max_bytes=10) == {}
    with pytest.raises(DataError, match="symbolic link"):
        load_json_file(link, what="state", max_bytes=10, follow_symlinks=False)


def test_size_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 101)
    with pytest.raises(DataError, match="more than 100"):
        read_bytes_file(path, what="file", max_bytes=100)
    assert read_bytes_file(path, what="file", max_bytes=101) == b"x" * 101


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_bytes_file(tmp_path / "none", what="file", max_bytes=1)


def test_deep_json_is_refused_without_recursion(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="nested deeper than 32"):
        load_json_file(path, what="state", max_bytes=1 << 20)


def test_deep_toml_is_refused_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(DataError, match="TOML") as info:
        load_toml_file(path, what="config", max_bytes=1 << 20, reason="config.unreadable")
    assert info.value.reason_code == "config.unreadable"
    shallow = tmp_path / "ok.toml"
    shallow.write_text("a = [[1], [2]]\n[b]\nc = 1\n")
    assert load_toml_file(shallow, what="config", max_bytes=100) == {
        "a": [[1], [2]],
        "b": {"c": 1},
    }


def test_binary_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "bin"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DataError, match="not UTF-8"):
        read_text_file(path, what="file", max_bytes=10)


def test_nesting_measures() -> None:
    assert json_depth('{"a": "[[[[", "b": [[1]]}') == 3
    assert check_nesting({"a": [[1]]}, 3) and not check_nesting({"a": [[1]]}, 2)
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert not check_nesting(deep, 32)
