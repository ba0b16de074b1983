"""Loading and removing nftables rulesets (the ``nft`` program, fed on standard input).

A ruleset is applied in one ``nft -f`` transaction: it replaces mapekit's table whole or
not at all. Nothing is passed through a shell.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

from mapekit.dataplane.links import DataplaneError


def _nft(args: list[str], stdin: str | None = None) -> str:
    binary = shutil.which("nft")
    if binary is None:
        raise DataplaneError(
            "dataplane.setup", "nft: not installed (Debian package nftables)", field="nft"
        )
    done = subprocess.run(  # noqa: S603 - a fixed program and generated arguments
        [binary, *args], input=stdin, capture_output=True, text=True, check=False, timeout=30
    )
    if done.returncode != 0:
        raise DataplaneError(
            "dataplane.setup", f"nft {' '.join(args)}: {done.stderr.strip()}", field="nft"
        )
    return done.stdout


def check(ruleset: str) -> None:
    _nft(["-c", "-f", "-"], ruleset)


def load(ruleset: str) -> None:
    _nft(["-f", "-"], ruleset)


def delete_table(name: str = "mapekit", family: str = "ip") -> None:
    """Remove one of mapekit's tables (and nothing else); fine when it is not there."""
    _nft(["-f", "-"], f"table {family} {name}\ndelete table {family} {name}\n")


def list_table(name: str = "mapekit") -> str:
    return _nft(["list", "table", "ip", name])


_COUNTER = re.compile(r"counter packets \d+ bytes \d+")
_ELEMENTS = re.compile(r"\s*elements = \{[^}]*\}")  # dynamic sets fill with traffic


def fingerprint(name: str = "mapekit", family: str = "ip") -> str | None:
    """The loaded table as ``nft`` lists it, counters and the elements of sets left out
    (they move with traffic), or None when the table is not there: what a verifier compares
    with what it loaded."""
    binary = shutil.which("nft")
    if binary is None:
        return None
    done = subprocess.run(  # noqa: S603 - a fixed program and generated arguments
        [binary, "list", "table", family, name],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    if done.returncode != 0:
        return None
    return _ELEMENTS.sub("", _COUNTER.sub("counter", done.stdout))


def set_counters(name: str, table: str = "mapekit", family: str = "ip") -> dict[str, int]:
    """The packet counter of each element of a set that has counters (``{}`` when the set
    or the table is not there)."""
    binary = shutil.which("nft")
    if binary is None:
        return {}
    done = subprocess.run(  # noqa: S603 - a fixed program and generated arguments
        [binary, "-j", "list", "set", family, table, name],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    if done.returncode != 0:
        return {}
    try:
        items = json.loads(done.stdout)["nftables"]
    except (ValueError, KeyError, TypeError):
        return {}
    found: dict[str, int] = {}
    for item in items:
        for element in (item.get("set") or {}).get("elem") or []:
            inner = element.get("elem") if isinstance(element, dict) else None
            if isinstance(inner, dict) and isinstance(inner.get("val"), str):
                found[inner["val"]] = int((inner.get("counter") or {}).get("packets", 0))
    return found
