"""The CE's saved state: the last good rules, written atomically, read forgivingly.

``<state dir>/rules.json`` holds the last good delivery; ``status.json`` the last status
snapshot (what ``mape status`` shows when no agent runs). Writes go to a temporary file
that is fsynced and renamed over the old one, so a crash leaves the old or the new file,
never half of one. A corrupt file is reported and ignored, never fatal.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mapekit.client.softwire_state import softwire_from_dict, softwire_to_dict
from mapekit.core.errors import MapeError
from mapekit.core.ruleset import RuleSet
from mapekit.core.tables import rule_from_entry, rule_to_entry
from mapekit.provision.model import Delivery, Provider, RuleDelivery, SoftwireDelivery

FORMAT_VERSION = 1
RULES_FILE = "rules.json"
STATUS_FILE = "status.json"


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
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
        """The saved delivery, or None and the reason it could not be used."""
        try:
            text = self.rules_path.read_bytes()
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            return None, MapeError("state.corrupt", f"{self.rules_path}: {exc.strerror}")
        try:
            return delivery_from_dict(json.loads(text)), None
        except (ValueError, MapeError) as exc:
            message = exc.message if isinstance(exc, MapeError) else str(exc)
            return None, MapeError(
                "state.corrupt",
                f"{self.rules_path}: ignored ({message})",
                field="state-dir",
            )

    def erase(self) -> None:
        self.rules_path.unlink(missing_ok=True)

    def save_status(self, status: dict[str, object]) -> None:
        write_if_changed(self.status_path, json.dumps(status, indent=2).encode())

    def load_status(self) -> dict[str, object] | None:
        try:
            doc = json.loads(self.status_path.read_bytes())
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None
