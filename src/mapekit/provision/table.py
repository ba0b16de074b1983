"""The CE provisioning state machine as data: states, triggers, actions, transitions.

``TRANSITIONS[(state, trigger)]`` says where the machine goes, what it asks its driver to
do, and which timer it sets. ``None`` as the state matches any state (a specific row wins).
A (state, trigger) pair with no row is ignored: e.g. a stale answer to a request that a
prefix change has overtaken. Two targets are decided by a guard in the machine:
``Next.SAVED_OR_WAITING`` (established when saved rules still map the prefix, else
waiting) and ``Next.AFTER_REPORT`` (where the cycle was heading when it sent the report).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mapekit.provision.timers import Wait


class State(enum.Enum):
    WAITING = "waiting"
    CHECKING_HGW = "checking HGW"
    GETTING_RULE = "getting rule"
    REPORTING = "reporting"
    ESTABLISHED = "established"
    HGW_ACTIVE = "HGW active"


class Next(enum.Enum):
    """Targets resolved by a guard."""

    SAVED_OR_WAITING = "established with saved rules, else waiting"
    AFTER_REPORT = "where the cycle was heading"


class Trigger(enum.Enum):
    START = "start"
    RETRY = "retry"
    TIMER = "timer"
    PREFIX_CHANGED = "prefix changed"
    PREFIX_LOST = "prefix lost"
    RESUMED = "resumed after restart"
    HGW_NONE = "no HGW"
    HGW_OFF = "HGW without MAP-E"
    HGW_ON = "HGW runs MAP-E"
    HGW_CHANGED = "HGW state changed"
    RULES_OK = "rules ok"
    RULES_SAME = "rules unchanged"
    RULES_BLANK = "blank answer"
    RULES_INVALID = "invalid answer"
    RULES_FORBIDDEN = "forbidden (403)"
    RULES_REJECTED = "rejected (4xx)"
    RULES_UNAVAILABLE = "server error or no answer"
    RULES_UNSUPPORTED = "unsupported offer"
    NO_DISCOVERY = "no discovery record"
    REPORT_DONE = "report done"


class Do(enum.Enum):
    """Actions the driver performs, in the order given."""

    CHECK_HGW = "check HGW"
    FETCH = "fetch rules"
    APPLY = "apply rules"
    WITHDRAW = "withdraw rules"
    SAVE = "save rules"
    FORGET = "forget saved rules"
    REPORT_START = "report start (reason 0)"
    REPORT_STOP_ADDRESS = "report stop (reason 2, address change)"
    REPORT_STOP_HGW = "report stop (reason 4, MAP-E on HGW)"


@dataclass(frozen=True)
class Transition:
    target: State | Next | None  # None: stay
    actions: tuple[Do, ...] = ()
    wait: Wait | None = None  # timer to set once the cycle settles
    after_report: State | None = None  # for target REPORTING


_CYCLE = (Do.CHECK_HGW,)
_RESTING = (State.WAITING, State.ESTABLISHED, State.HGW_ACTIVE)
_BUSY = (State.CHECKING_HGW, State.GETTING_RULE, State.REPORTING)


def _rows() -> dict[tuple[State | None, Trigger], Transition]:
    rows: dict[tuple[State | None, Trigger], Transition] = {}
    for state in _RESTING:
        for trigger in (Trigger.START, Trigger.RETRY, Trigger.TIMER):
            rows[(state, trigger)] = Transition(State.CHECKING_HGW, _CYCLE)
        rows[(state, Trigger.PREFIX_CHANGED)] = Transition(State.CHECKING_HGW, _CYCLE)
        rows[(state, Trigger.HGW_CHANGED)] = Transition(State.CHECKING_HGW, _CYCLE)
    for state in _BUSY:  # a newer prefix overtakes the cycle in flight
        rows[(state, Trigger.PREFIX_CHANGED)] = Transition(State.CHECKING_HGW, _CYCLE)
    rows[(State.ESTABLISHED, Trigger.PREFIX_CHANGED)] = Transition(
        State.CHECKING_HGW, (Do.REPORT_STOP_ADDRESS, Do.WITHDRAW, Do.CHECK_HGW)
    )
    rows[(None, Trigger.PREFIX_LOST)] = Transition(State.WAITING, (Do.WITHDRAW,))
    rows[(State.WAITING, Trigger.RESUMED)] = Transition(State.ESTABLISHED, (Do.APPLY,), Wait.SAVED)
    rows.update(
        {
            (State.CHECKING_HGW, Trigger.HGW_ON): Transition(
                State.REPORTING,
                (Do.WITHDRAW, Do.REPORT_STOP_HGW),
                Wait.HGW_POLL,
                after_report=State.HGW_ACTIVE,
            ),
            (State.CHECKING_HGW, Trigger.HGW_NONE): Transition(State.GETTING_RULE, (Do.FETCH,)),
            (State.CHECKING_HGW, Trigger.HGW_OFF): Transition(State.GETTING_RULE, (Do.FETCH,)),
            (State.GETTING_RULE, Trigger.RULES_OK): Transition(
                State.REPORTING,
                (Do.APPLY, Do.SAVE, Do.REPORT_START),
                Wait.RULES_OK,
                after_report=State.ESTABLISHED,
            ),
            (State.GETTING_RULE, Trigger.RULES_SAME): Transition(
                State.ESTABLISHED, (Do.SAVE,), Wait.RULES_OK
            ),
            (State.GETTING_RULE, Trigger.RULES_BLANK): Transition(
                State.WAITING, (Do.WITHDRAW, Do.FORGET), Wait.BLANK
            ),
            (State.GETTING_RULE, Trigger.RULES_INVALID): Transition(
                Next.SAVED_OR_WAITING, (), Wait.BLANK
            ),
            (State.GETTING_RULE, Trigger.RULES_FORBIDDEN): Transition(
                State.WAITING, (Do.WITHDRAW, Do.FORGET), Wait.FORBIDDEN
            ),
            (State.GETTING_RULE, Trigger.RULES_REJECTED): Transition(
                Next.SAVED_OR_WAITING, (), Wait.REJECTED
            ),
            (State.GETTING_RULE, Trigger.RULES_UNAVAILABLE): Transition(
                Next.SAVED_OR_WAITING, (), Wait.SERVER
            ),
            (State.GETTING_RULE, Trigger.RULES_UNSUPPORTED): Transition(
                State.WAITING, (Do.WITHDRAW,), Wait.BLANK
            ),
            (State.GETTING_RULE, Trigger.NO_DISCOVERY): Transition(
                State.WAITING, (Do.WITHDRAW,), Wait.NO_DISCOVERY
            ),
            (State.REPORTING, Trigger.REPORT_DONE): Transition(Next.AFTER_REPORT),
            (None, Trigger.REPORT_DONE): Transition(None),
        }
    )
    return rows


TRANSITIONS: Mapping[tuple[State | None, Trigger], Transition] = MappingProxyType(_rows())


def lookup(state: State, trigger: Trigger) -> Transition | None:
    return TRANSITIONS.get((state, trigger)) or TRANSITIONS.get((None, trigger))


def diagram() -> str:
    """The state diagram as Mermaid text, generated from the table."""
    lines = ["stateDiagram-v2", f"    [*] --> {State.WAITING.name}"]
    for (state, trigger), row in TRANSITIONS.items():
        sources = [state] if state is not None else list(State)
        for source in sources:
            if isinstance(row.target, State):
                targets = [row.target.name]
            elif row.target is Next.SAVED_OR_WAITING:
                targets = [State.ESTABLISHED.name, State.WAITING.name]
            elif row.target is Next.AFTER_REPORT:
                targets = [State.ESTABLISHED.name, State.HGW_ACTIVE.name]
            else:
                continue
            label = trigger.value
            if row.actions:
                label += " / " + ", ".join(a.value for a in row.actions)
            lines += [f"    {source.name} --> {t}: {label}" for t in targets]
    return "\n".join(lines) + "\n"
