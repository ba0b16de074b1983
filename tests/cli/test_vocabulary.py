"""Every command follows the vocabulary of docs/cli.md: the test walks the full parser (every
command and every action of a command) and fails on an option without help, a word the
vocabulary does not have, a value shown otherwise than as its kind (``IFACE``, ``ADDR``,
``FILE``…) or its choices (``a|b``), a command without ``--json`` or ``--lang``, or a hidden
option that is not a documented old spelling."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from mapekit.cli.main import full_parser
from mapekit.cli.parsing import _Deprecated, walk

ROOT = Path(__file__).resolve().parents[2]
CLI_MD = (ROOT / "docs" / "cli.md").read_text()


def documented_words() -> set[str]:
    block = CLI_MD.split("<!-- words -->")[1]
    return set(re.findall(r"`([a-z0-9]+)`", block))


WORDS = documented_words()
# the kind of value each option takes (docs/cli.md, "Vocabulary")
KIND = {"--wan": "IFACE", "--lan": "IFACE", "--tunnel": "IFACE", "--device": "IFACE",
        "--tun": "IFACE", "--voip-bridge": "IFACE", "--listen": "HOST:PORT",
        "--socket": "PATH", "--prefix": "PREFIX", "--rules": "FILE", "--config": "FILE",
        "--url": "URL", "--dir": "DIR", "--root": "DIR"}  # fmt: skip
SUFFIX_KIND = {"-address": ("ADDR", "ADDR/LEN"), "-file": ("FILE",), "-dir": ("DIR",),
               "-url": ("URL",), "-logs": ("DIR",)}  # fmt: skip
VALUE = re.compile(r"[A-Z0-9][A-Z0-9_.:=/\[\]|@,…+ -]*|\d+-\d+|[a-z0-9]+(\|[a-z0-9-]+)+")
HIDDEN = {"--seed"}  # a test's fixed random seed, not for people


def commands() -> list[tuple[str, argparse.ArgumentParser]]:
    return [(" ".join(path), parser) for path, parser in walk(full_parser()) if path]


def leaves() -> list[tuple[str, argparse.ArgumentParser]]:
    def leaf(parser: argparse.ArgumentParser) -> bool:
        return not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)

    return [(name, parser) for name, parser in commands() if leaf(parser)]


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    skip = (argparse._HelpAction, argparse._SubParsersAction, argparse._VersionAction)
    return [a for a in parser._actions if not isinstance(a, skip)]


def problems_of(action: argparse.Action) -> list[str]:
    """What ``action`` does against the vocabulary."""
    long = [o for o in action.option_strings if o.startswith("--")]
    name = long[0] if long else action.dest
    if action.help == argparse.SUPPRESS:
        ok = isinstance(action, _Deprecated) or name in HIDDEN
        return [] if ok else [f"{name}: hidden but not a documented old spelling"]
    found = [] if action.help else [f"{name}: no help"]
    for option in long:
        found += [f"{option}: unknown word {w!r}" for w in option[2:].split("-") if w not in WORDS]
        if re.match(r"--(wan|lan)-(?!address$)", option):
            found.append(f"{option}: --wan and --lan are interfaces (docs/cli.md)")
    return found + _value_problems(action, name)


def _value_problems(action: argparse.Action, name: str) -> list[str]:
    if action.nargs == 0:
        return []
    metavar = str(action.metavar)
    if action.choices is not None:
        shown = "|".join(str(c) for c in action.choices)
        return [] if metavar == shown else [f"{name}: choices shown as {metavar}, not {shown}"]
    if not VALUE.fullmatch(metavar):
        return [f"{name}: value shown as {metavar!r}, not a kind such as FILE or ADDR"]
    kinds = (KIND[name],) if name in KIND else ()
    kinds += next((k for suffix, k in SUFFIX_KIND.items() if name.endswith(suffix)), ())
    if kinds and metavar not in kinds and not action.dest.startswith(("rule_set", "rules_")):
        return [f"{name}: takes {'/'.join(kinds)}, shown as {metavar}"]
    return []


@pytest.mark.parametrize(("name", "parser"), commands(), ids=[n for n, _ in commands()])
def test_every_option_follows_the_vocabulary(name: str, parser: argparse.ArgumentParser) -> None:
    assert [p for a in options(parser) for p in problems_of(a)] == []


@pytest.mark.parametrize(("name", "parser"), leaves(), ids=[n for n, _ in leaves()])
def test_every_command_has_json_and_lang(name: str, parser: argparse.ArgumentParser) -> None:
    flags = {o for a in parser._actions for o in a.option_strings}
    assert {"--json", "--lang", "-h"} <= flags


def test_every_old_spelling_is_documented() -> None:
    old = {o for _, p in commands() for a in options(p) if isinstance(a, _Deprecated)
           for o in a.option_strings}  # fmt: skip
    assert old == {"--wan-prefix", "--wan-address", "--rules"}
    table = CLI_MD.split("### Old spellings")[1].split("\n## ")[0]
    for option in old:
        assert f" {option} " in table


def test_the_check_finds_what_it_should() -> None:
    parser = argparse.ArgumentParser()
    bad = [
        parser.add_argument("--wan-prefix", metavar="PREFIX", help="x"),
        parser.add_argument("--colour", choices=("on", "off"), metavar="{on,off}", help="x"),
        parser.add_argument("--wan", metavar="IF", help="interface"),
        parser.add_argument("--state-dir", metavar="path", help="x"),
        parser.add_argument("--quiet", action="store_true"),
    ]
    found = [p for a in bad for p in problems_of(a)]
    assert "--wan-prefix: --wan and --lan are interfaces (docs/cli.md)" in found
    assert "--colour: unknown word 'colour'" in found
    assert "--colour: choices shown as {on,off}, not on|off" in found
    assert "--wan: takes IFACE, shown as IF" in found
    assert "--state-dir: value shown as 'path', not a kind such as FILE or ADDR" in found
    assert "--quiet: no help" in found and "--quiet: unknown word 'quiet'" in found
