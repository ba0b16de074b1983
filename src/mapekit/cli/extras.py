"""The optional parts of mapekit (``pip install 'mapekit[server]'``) and what a command
says when it needs one that is not installed.

The base install is what a CE needs: the engine, the provisioning client, the agent, the
data plane, the doctor and the exports. The rule server (``mape server``, ``mape
hgw-emulator``) needs ``server``; the namespace lab (``mape lab``) needs ``lab``.
"""

from __future__ import annotations

import importlib.util

from mapekit.core.errors import MapeError
from mapekit.core.messages import say

# top-level module → the extra that brings it (pyproject.toml [project.optional-dependencies])
EXTRA_MODULES: dict[str, str] = {
    "starlette": "server",
    "uvicorn": "server",
    "httptools": "server",
    "pydantic": "server",
    "pydantic_core": "server",
    "uvloop": "server",
    "sqlalchemy": "server",
    "alembic": "server",
    "psycopg": "server",
    "prometheus_client": "server",
    "trustme": "lab",
}

# the extra a command needs as a whole (a missing module of another extra is a bug)
COMMAND_EXTRAS: dict[str, str] = {"server": "server", "hgw-emulator": "server", "lab": "lab"}


def missing_extra(command: str, exc: ModuleNotFoundError, lang: str = "en") -> Exception:
    """The error to raise for ``exc``: a clear ``install.extra_missing`` when the module
    belongs to an extra, else ``exc`` itself (a broken install is not hidden)."""
    module = (exc.name or "").split(".")[0]
    extra = EXTRA_MODULES.get(module)
    if extra is None:
        return exc
    if COMMAND_EXTRAS.get(command) == "lab":
        extra = "lab"  # the lab's extra brings the server's too
    return MapeError(
        "install.extra_missing",
        say("error.extra_missing", lang, command=command, extra=extra, module=module),
        field="command",
        value=command,
    )


# a module each extra brings, looked for (not imported) before a command starts its work
EXTRA_PROBES: dict[str, tuple[str, ...]] = {
    "server": ("starlette", "uvicorn", "sqlalchemy", "alembic", "pydantic"),
    "lab": ("starlette", "uvicorn", "sqlalchemy", "alembic", "pydantic", "trustme"),
}


def require(extra: str, command: str, lang: str = "en") -> None:
    """Raise ``install.extra_missing`` unless ``extra`` is installed."""
    for module in EXTRA_PROBES[extra]:
        if importlib.util.find_spec(module) is None:
            raise MapeError(
                "install.extra_missing",
                say("error.extra_missing", lang, command=command, extra=extra, module=module),
                field="command",
                value=command,
            )
