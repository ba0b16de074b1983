"""Manual pages and shell completions, generated from the full parser at build time.

``python -m mapekit.cli.manuals DIR`` writes, under ``DIR``, the tree a wheel installs
below its prefix (a virtual environment's folder, ``/usr/local``…)::

    share/man/man1/mape.1, mape-calc.1, …     one page per command (argparse-manpage)
    share/bash-completion/completions/mape    bash completion (shtab)
    share/zsh/site-functions/_mape            zsh completion (shtab)

``setup.py`` runs it while the wheel is built; argparse-manpage and shtab are build
requirements (and in the ``dev`` extra), never needed at run time. ``man`` finds the
pages of a virtual environment whose ``bin`` is on ``PATH`` (man-db looks in
``../share/man`` beside each ``PATH`` entry), and bash-completion finds the completion
the same way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mapekit import __version__
from mapekit.cli.main import full_parser
from mapekit.cli.parsing import subparsers
from mapekit.core.messages import say

MANUAL = "mapekit manual"
DOCS = (
    "The command-line contract (flags, JSON keys, exit statuses) is docs/cli.md of the "
    "mapekit source; the agent's configuration is docs/agent.md."
)


def _page(parser: argparse.ArgumentParser, name: str, summary: str) -> str:
    from argparse_manpage.manpage import Manpage  # type: ignore[import-untyped]  # build time

    page = Manpage(parser)
    page.prog, page.description = name, summary
    page.source, page.manual = f"mapekit {__version__}", MANUAL
    page.add_section("see also", "=", DOCS if name == "mape" else f"mape(1). {DOCS}")
    return str(page)


def manual_pages() -> dict[str, str]:
    """File name → roff text: ``mape.1`` and ``mape-COMMAND.1`` for every command."""
    top = full_parser("en")
    pages = {"mape.1": _page(top, "mape", say("cli.description"))}
    for name, parser in subparsers(top):
        pages[f"mape-{name}.1"] = _page(parser, f"mape-{name}", say(f"command.{name}"))
    return pages


def completions() -> dict[str, str]:
    """Shell → completion script (bash, zsh)."""
    import shtab  # build time only

    parser = full_parser("en")
    return {shell: shtab.complete(parser, shell=shell) for shell in ("bash", "zsh")}


def write_tree(root: Path) -> list[Path]:
    """Write the pages and completions under ``root``; the paths written."""
    scripts = completions()
    files = {
        **{Path("share/man/man1") / name: text for name, text in manual_pages().items()},
        Path("share/bash-completion/completions/mape"): scripts["bash"],
        Path("share/zsh/site-functions/_mape"): scripts["zsh"],
    }
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written in write_tree(Path(sys.argv[1])):
        sys.stdout.write(f"{written}\n")
