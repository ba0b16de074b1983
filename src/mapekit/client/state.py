"""The CE's saved state: the last good rules, written atomically, read forgivingly.

``<state dir>/rules.json`` holds the last good delivery; ``status.json`` the last status
snapshot (what ``mape status`` shows when no agent runs). Writes go to a temporary file
that is fsynced and renamed over the old one, so a crash leaves the old or the new file,
never half of one. Files are read through :mod:`mapekit.core.files` (regular files only,
no symbolic links, size and nesting caps). A corrupt file is never fatal: it is renamed to
``<name>.corrupt-<UTC time>`` (kept for inspection, at most :data:`KEEP_CORRUPT` of each),
the load reports it, and the CE continues without it. A path that is not a regular file
(a FIFO, a device, a directory) is reported and left alone.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mapekit.client.softwire_state import softwire_from_dict, softwire_to_dict
from mapekit.core.errors import MapeError
from mapekit.core.files import load_json_file
from mapekit.core.ruleset import RuleSet
from mapekit.core.tables import rule_from_entry, rule_to_entry
from mapekit.provision.model import Delivery, Provider, RuleDelivery, SoftwireDelivery

FORMAT_VERSION = 1
RULES_FILE = "rules.json"
STATUS_FILE = "status.json"
MAX_STATE_BYTES = 4 << 20  # a saved delivery of 1,024 rules is about 250 KB
KEEP_CORRUPT = 3


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a renamed temporary file; a directory that
    cannot be created or written raises ``state.unwritable`` naming it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        why = "it is not a directory" if path.parent.exists() else (exc.strerror or str(exc))
        raise MapeError(
            "state.unwritable",
            f"state-dir: cannot write {path}: {why}",
            field="state-dir",
            value=str(path.parent),
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` atomically unless ``path`` already holds exactly it (flash storage on
    routers wears with every write); True when it wrote."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    write_atomically(path, data)
    return True


def delivery_to_dict(delivery: Delivery) -> dict[str, object]:
    if isinstance(delivery, SoftwireDelivery):
        return softwire_to_dict(delivery, FORMAT_VERSION)
    return {
        "version": FORMAT_VERSION,
        "provider": delivery.provider.value,
        "rules": [rule_to_entry(r) for r in delivery.rules],
        "user_id": delivery.user_id,
        "fixlen": delivery.fixlen,
        "ttl": delivery.ttl,
        "token": delivery.token,
        "notes": list(delivery.notes),
    }


def delivery_from_dict(doc: object) -> Delivery:
    if not isinstance(doc, dict) or doc.get("version") != FORMAT_VERSION:
        raise MapeError("state.corrupt", "not a mapekit rules file of this version")
    if "mechanism" in doc:
        return softwire_from_dict(doc)
    rules = doc.get("rules")
    if not isinstance(rules, list):
        raise MapeError("state.corrupt", "no rule list")
    entries = [rule_from_entry(e, f"rules[{i}]") for i, e in enumerate(rules)]

    def opt_str(key: str) -> str | None:
        value = doc.get(key)
        if value is not None and not isinstance(value, str):
            raise MapeError("state.corrupt", f"{key}: not a string", field=key)
        return value

    def opt_int(key: str) -> int | None:
        value = doc.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise MapeError("state.corrupt", f"{key}: not an integer", field=key)
        return value

    notes = doc.get("notes") or []
    if not isinstance(notes, list):
        raise MapeError("state.corrupt", "notes: not a list", field="notes")
    return RuleDelivery(
        Provider(doc.get("provider")),
        RuleSet(entries),
        user_id=opt_str("user_id"),
        fixlen=opt_int("fixlen"),
        ttl=opt_int("ttl"),
        token=opt_str("token"),
        notes=tuple(str(n) for n in notes),
    )


@dataclass
class StateStore:
    """Saved rules and status in one directory."""

    directory: Path

    @property
    def rules_path(self) -> Path:
        return self.directory / RULES_FILE

    @property
    def status_path(self) -> Path:
        return self.directory / STATUS_FILE

    def save(self, delivery: Delivery) -> bool:
        """Keep ``delivery``; the file is written only when it changes."""
        data = json.dumps(delivery_to_dict(delivery), indent=2).encode()
        return write_if_changed(self.rules_path, data)

    def load(self) -> tuple[Delivery | None, MapeError | None]:
        """The saved delivery, or None and the reason it could not be used (a corrupt
        file has then been moved aside)."""
        try:
            doc = self._read(self.rules_path)
        except FileNotFoundError:
            return None, None
        except MapeError as exc:
            return None, exc
        try:
            return delivery_from_dict(doc), None
        except (ValueError, MapeError) as exc:
            message = exc.message if isinstance(exc, MapeError) else str(exc)
            return None, self._set_aside(self.rules_path, message)

    def _read(self, path: Path) -> object:
        """A state file's JSON; a file that is not usable JSON is moved aside."""
        try:
            return load_json_file(
                path,
                what="state-dir",
                max_bytes=MAX_STATE_BYTES,
                reason="state.unreadable",
                follow_symlinks=False,
            )
        except NotADirectoryError:
            raise MapeError(
                "state.unreadable",
                f"state-dir: {self.directory} is not a directory",
                field="state-dir",
                value=str(self.directory),
            ) from None
        except MapeError as exc:
            if path.is_symlink() or not path.is_file():
                raise  # not ours to move: a link, FIFO, device or directory
            raise self._set_aside(path, exc.message) from None

    def _set_aside(self, path: Path, why: str) -> MapeError:
        """Rename a corrupt file out of the way (kept for inspection); the error says so."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        kept = path.with_name(f"{path.name}.corrupt-{stamp}")
        try:
            os.replace(path, kept)
            _prune(path)
            where = f"moved aside to {kept.name}"
        except OSError as exc:
            where = f"could not be moved aside ({exc.strerror})"
        return MapeError(
            "state.corrupt",
            f"{path}: ignored ({why}); {where}",
            field="state-dir",
            value=str(kept),
        )

    def erase(self) -> None:
        try:
            self.rules_path.unlink(missing_ok=True)
        except OSError as exc:
            raise MapeError(
                "state.unwritable",
                f"state-dir: cannot erase {self.rules_path}: {exc.strerror}",
                field="state-dir",
                value=str(self.rules_path),
            ) from None

    def save_status(self, status: dict[str, object]) -> None:
        write_if_changed(self.status_path, json.dumps(status, indent=2).encode())

    def load_status(self) -> dict[str, object] | None:
        """The saved status snapshot; None when there is none or it was corrupt (then
        moved aside). A path that cannot be read at all (a FIFO, a device, a directory,
        a state directory that is a file) raises ``state.unreadable``."""
        try:
            doc = self._read(self.status_path)
        except FileNotFoundError:
            return None
        except MapeError as exc:
            if exc.reason_code == "state.corrupt":
                return None
            raise
        return doc if isinstance(doc, dict) else None


def _prune(path: Path) -> None:
    """Keep only the newest :data:`KEEP_CORRUPT` moved-aside copies of ``path``."""
    kept = sorted(path.parent.glob(f"{path.name}.corrupt-*"))
    for old in kept[:-KEEP_CORRUPT]:
        old.unlink(missing_ok=True)
