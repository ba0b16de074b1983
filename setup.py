"""The wheel's build step for the bpf data plane: compile the BPF C sources with clang
into the built package (``mapekit/dataplane/bpf/*.bpf.o``), so that the wheel carries
the objects. Everything else is in pyproject.toml."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithBpf(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # scripts/setup.sh builds them beside the sources
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
            print(f"bpf: objects not built, the backend will build or refuse: {exc}",
                  file=sys.stderr)


setup(cmdclass={"build_py": BuildWithBpf})
