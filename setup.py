"""Build steps beyond pyproject.toml: the wheel carries the manual pages and shell
completions, generated from the argument parser (``mapekit.cli.manuals``), the systemd
unit, the dhcpcd hook and the example configurations of ``contrib/``, and the bpf data
plane's objects compiled with clang (``mapekit/dataplane/bpf/*.bpf.o``).

They go to the wheel's data (``PREFIX/share/…``): ``share/man/man1``,
``share/bash-completion/completions``, ``share/zsh/site-functions`` and
``share/mapekit`` (docs/agent.md, "Install and set up").
"""

from __future__ import annotations

import importlib.util
import sys

# setuptools brings distutils (Python 3.12 has none of its own); import it after setuptools
from distutils.command.install_data import install_data
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
CONTRIB = [
    ("share/mapekit/systemd", ["contrib/mapekit-agent.service"]),
    ("share/mapekit", ["contrib/dhcpcd-hook"]),
    (
        "share/mapekit/examples",
        sorted(f"contrib/{p.name}" for p in HERE.glob("contrib/agent-*.toml")),
    ),
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


class BuildWithBpf(build_py):  # type: ignore[misc]
    """Compile the BPF C sources into the built package (an editable install builds them
    beside the sources: scripts/setup.sh)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        spec = importlib.util.spec_from_file_location(
            "bpfbuild", HERE / "src" / "mapekit" / "dataplane" / "bpfbuild.py"
        )
        assert spec is not None and spec.loader is not None
        bpfbuild = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bpfbuild)
        target = Path(self.build_lib) / "mapekit" / "dataplane" / "bpf"
        target.mkdir(parents=True, exist_ok=True)
        try:
            for line in bpfbuild.build_all(target):
                print(f"bpf: {line}")
        except bpfbuild.BuildError as exc:
            print(
                f"bpf: objects not built, the backend will build or refuse: {exc}", file=sys.stderr
            )


setup(
    data_files=CONTRIB,
    cmdclass={"install_data": install_generated_data, "build_py": BuildWithBpf},
)
