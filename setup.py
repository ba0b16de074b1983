"""Build step beyond pyproject.toml: the wheel carries the manual pages and shell
completions, generated from the argument parser (``mapekit.cli.manuals``), and the
systemd unit, the dhcpcd hook and the example configurations of ``contrib/``.

They go to the wheel's data (``PREFIX/share/…``): ``share/man/man1``,
``share/bash-completion/completions``, ``share/zsh/site-functions`` and
``share/mapekit`` (docs/agent.md, "Install and set up").
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup

# setuptools brings distutils (Python 3.12 has none of its own); import it after setuptools
from distutils.command.install_data import install_data  # noqa: E402, I001

HERE = Path(__file__).resolve().parent
CONTRIB = [
    ("share/mapekit/systemd", ["contrib/mapekit-agent.service"]),
    ("share/mapekit", ["contrib/dhcpcd-hook"]),
    ("share/mapekit/examples", sorted(f"contrib/{p.name}" for p in HERE.glob("contrib/agent-*.toml"))),
]


class install_generated_data(install_data):  # noqa: N801 - setuptools' command naming
    """Install the contrib files and the pages and completions generated here."""

    def run(self) -> None:
        sys.path.insert(0, str(HERE / "src"))
        from mapekit.cli.manuals import write_tree

        root = HERE / "build" / "mapekit-share"
        generated: dict[str, list[str]] = {}
        for path in write_tree(root):
            folder = str(path.parent.relative_to(root))
            generated.setdefault(folder, []).append(str(path))
        self.data_files = [*CONTRIB, *generated.items()]  # type: ignore[list-item]
        super().run()


setup(data_files=CONTRIB, cmdclass={"install_data": install_generated_data})
