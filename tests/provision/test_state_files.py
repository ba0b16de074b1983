"""The CE's state directory under hostile or broken files: never a hang, never a crash,
a corrupt file moved aside and kept, the CE going on without it."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.cli.main import main
from mapekit.client.state import StateStore, delivery_from_dict, delivery_to_dict
from mapekit.core.errors import MapeError
from mapekit.core.ruleset import RuleSet
from mapekit.core.tables import builtin_rules
from mapekit.provision.model import Provider, RuleDelivery
from tests.provision.servers import Script, serve
from tests.provision.test_drivers import jpne

DELIVERY = RuleDelivery(Provider.JPNE, RuleSet(list(builtin_rules().filter("v6plus"))))


@pytest.fixture
def server() -> Iterator[str]:
    with serve(Script()) as url:
        yield url


def test_round_trip_and_public_names(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save(DELIVERY)
    saved, problem = store.load()
    assert problem is None and saved is not None
    assert delivery_to_dict(saved) == delivery_to_dict(
        delivery_from_dict(delivery_to_dict(DELIVERY))
    )
    assert list(saved.rules) == list(DELIVERY.rules)


@pytest.mark.parametrize(
    "content", [b"{not json", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe", b'{"version": 1}']
)
def test_a_corrupt_rules_file_is_moved_aside_and_kept(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "rules.json").write_bytes(content)
    saved, problem = StateStore(tmp_path).load()
    assert saved is None and problem is not None and problem.reason_code == "state.corrupt"
    kept = list(tmp_path.glob("rules.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == content
    assert not (tmp_path / "rules.json").exists()
    assert "moved aside" in problem.message


def test_a_fifo_in_place_of_a_state_file_never_hangs(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "rules.json")
    os.mkfifo(tmp_path / "status.json")
    result: list[object] = []
    worker = threading.Thread(
        target=lambda: result.append(StateStore(tmp_path).load()), daemon=True
    )
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "the state reader hung on a FIFO"
    saved, problem = result[0]  # type: ignore[misc]
    assert saved is None and problem.reason_code == "state.unreadable"  # type: ignore[union-attr]
    assert "FIFO" in problem.message  # type: ignore[union-attr]
    assert (tmp_path / "rules.json").exists()  # not ours to move
    with pytest.raises(MapeError, match="FIFO"):
        StateStore(tmp_path).load_status()


def test_directory_and_symlink_in_place_of_state_files(tmp_path: Path) -> None:
    (tmp_path / "rules.json").mkdir()
    _, problem = StateStore(tmp_path).load()
    assert problem is not None and "directory" in problem.message
    other = tmp_path / "other"
    other.mkdir()
    (other / "rules.json").symlink_to("/dev/zero")
    _, problem = StateStore(other).load()
    assert problem is not None and "symbolic link" in problem.message


def test_state_dir_that_is_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str
) -> None:
    state = tmp_path / "state"
    state.write_text("not a directory")
    code = main(
        ["provision", "--once", "--json", "--state-dir", str(state), "--provider", "jpne",
         "--wan-prefix", "240b:10:3f6c:d400::/56", "--url", server,
         "--vendor-code", "0123456789abcdef0123456789abcdef", "--no-hgw-check"]
    )  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 6, doc
    assert doc["error"]["reason_code"] == "state.unwritable"
    assert "not a directory" in doc["error"]["message"]
    assert main(["status", "--state-dir", str(state), "--json"]) == 6
    assert json.loads(capsys.readouterr().out)["error"]["reason_code"] == "state.unreadable"
    assert main(["forget", "--state-dir", str(state), "--json"]) == 6
    assert json.loads(capsys.readouterr().out)["error"]["reason_code"] == "state.unwritable"


def test_provision_goes_on_without_a_corrupt_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: str
) -> None:
    (tmp_path / "rules.json").write_text("[" * 50_000)
    (tmp_path / "status.json").write_text("{" * 50_000)
    code, doc = jpne(capsys, tmp_path, server, "--no-hgw-check")
    assert code == 0, doc
    assert any("moved aside" in n for n in doc["notes"])  # type: ignore[union-attr]
    assert list(tmp_path.glob("rules.json.corrupt-*"))
    assert StateStore(tmp_path).load()[0] is not None  # the new rules were saved
    assert main(["status", "--state-dir", str(tmp_path), "--json"]) == 0


def test_status_with_a_device_in_place(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "status.json").symlink_to("/dev/urandom")
    code = main(["status", "--state-dir", str(tmp_path), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 6 and doc["error"]["reason_code"] == "state.unreadable"
