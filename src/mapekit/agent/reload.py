"""A configuration reload (SIGHUP, ``systemctl reload``): apply only what changed.

- the provider's settings (and the HGW check, the timers): the next requests use them and
  a cycle starts at once;
- interfaces, port forwards and the NAT mode: the data plane is re-planned, and re-applied
  only when the plan differs; the prefix is looked for again;
- the log level: at once;
- ``state.*`` and ``dataplane.backend``: only at the next start (the socket and the state
  directory are in use); the running values are kept and the event says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from mapekit.agent.config import AgentConfig, DataplaneSettings
from mapekit.agent.providers import hgw_url, provider_config, reports
from mapekit.client.fetch import with_source_address
from mapekit.provision.model import Provider
from mapekit.provision.timers import TimerPolicy

if TYPE_CHECKING:
    from mapekit.agent.daemon import Agent

SECTIONS = ("provider", "interfaces", "prefix", "dataplane", "ports", "web", "state")


@dataclass
class Reloaded:
    changed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    refetch: bool = False
    prefix: bool = False

    def summary(self) -> str:
        if not self.changed and not self.deferred:
            return "nothing changed"
        text = ", ".join(self.changed) or "nothing applied now"
        if self.deferred:
            text += f"; after a restart: {', '.join(self.deferred)}"
        return text


def _sections(config: AgentConfig) -> dict[str, object]:
    out: dict[str, object] = {name: config.section(name) for name in SECTIONS}
    out["timers"] = config.timer_scale
    out["log"] = config.log_level
    return out


def apply_reload(agent: Agent, new: AgentConfig) -> Reloaded:
    old = agent.config
    before, after = _sections(old), _sections(new)
    done = Reloaded(changed=[name for name in after if after[name] != before[name]])
    for section in ("state", "web"):  # a listener or a folder in use: at the next start
        if section in done.changed:
            done.changed.remove(section)
            done.deferred.append(section)
            new = replace(new, **{section: getattr(old, section)})
    if new.dataplane.backend != old.dataplane.backend:
        done.deferred.append("dataplane.backend")
        new = replace(new, dataplane=replace(new.dataplane, backend=old.dataplane.backend))
    agent.config = new
    agent.journal.level = new.log_level
    machine, runner = agent.machine, agent.runner
    if "provider" in done.changed or "timers" in done.changed:
        source = runner.config.http.source_address if hasattr(runner.config, "http") else None
        runner.config = with_source_address(provider_config(new), source)
        runner.hgw_url = hgw_url(new)
        machine.provider = Provider(new.provider)
        machine.report = reports(new)
        machine.timers = TimerPolicy(scale=new.timer_scale)
        done.refetch = "provider" in done.changed
    if {"interfaces", "dataplane", "ports"} & set(done.changed):
        settings: DataplaneSettings = new.dataplane
        agent.dataplane.reconfigure(settings, new.interfaces, new.ports)
    done.prefix = bool({"interfaces", "prefix"} & set(done.changed))
    return done
