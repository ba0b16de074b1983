"""The CE machine, row by row with a fake clock and a seeded generator."""

from __future__ import annotations

import ipaddress
import random

import pytest

from mapekit.core.errors import MapeError
from mapekit.core.rule import IidFormat, MappingRule
from mapekit.core.ruleset import RuleSet
from mapekit.provision import table
from mapekit.provision.hgw import HgwReport, HgwState
from mapekit.provision.machine import (
    CeMachine,
    FetchFailed,
    HgwChecked,
    PrefixChanged,
    PrefixLost,
    Report,
    ReportSent,
    Resumed,
    Retry,
    RulesFetched,
    Start,
    TimerFired,
)
from mapekit.provision.model import BlankAnswer, Provider, RuleDelivery, Unsupported
from mapekit.provision.table import Do, State, Trigger
from mapekit.provision.timers import DEFAULT_RANGES, TimerPolicy, Wait

RULE = MappingRule.from_text(
    "2001:db8::/40", "192.0.2.0/24", 16, 6, br="2001:db8:ffff::1", iid=IidFormat.LEGACY
)
OTHER = MappingRule.from_text("2001:db9::/40", "198.51.100.0/24", 16, 6, br="2001:db8:ffff::1")
PREFIX = (int(ipaddress.IPv6Address("2001:db8:12:3400::")), 56)
NEW_PREFIX = (int(ipaddress.IPv6Address("2001:db8:12:3500::")), 56)
GOOD = RuleDelivery(Provider.JPNE, RuleSet([RULE]), user_id="u1")
FOREIGN = RuleDelivery(Provider.JPNE, RuleSet([OTHER]))
BLANK = BlankAnswer(Provider.JPNE, "rules.blank", "v6plus({})")
NO_HGW = HgwChecked(HgwReport(HgwState.NONE))


def machine(**kwargs: object) -> CeMachine:
    return CeMachine(Provider.JPNE, random.Random(1), prefix=PREFIX, **kwargs)  # type: ignore[arg-type]


def kinds(actions: list[object]) -> list[Do]:
    return [a.kind for a in actions]  # type: ignore[attr-defined]


def establish(m: CeMachine, now: float = 1.0) -> None:
    m.handle(Start(), now)
    m.handle(NO_HGW, now)
    m.handle(RulesFetched(GOOD), now)
    m.handle(ReportSent(), now)
    assert m.state is State.ESTABLISHED


def error(code: str) -> FetchFailed:
    return FetchFailed(MapeError(code, code))


def test_a_full_cycle_with_report() -> None:
    m = machine()
    assert kinds(m.handle(Start(), 1.0)) == [Do.CHECK_HGW]
    assert m.state is State.CHECKING_HGW
    assert kinds(m.handle(NO_HGW, 1.0)) == [Do.FETCH]
    assert m.state is State.GETTING_RULE
    actions = m.handle(RulesFetched(GOOD), 2.0)
    assert kinds(actions) == [Do.APPLY, Do.SAVE, Do.REPORT_START]
    assert actions[0].mapping is not None and actions[0].mapping.ipv4_text == "192.0.2.18"
    assert actions[2].user_id == "u1"
    assert m.state is State.REPORTING and m.timer() is None
    assert m.handle(ReportSent(), 2.5) == []
    assert m.state is State.ESTABLISHED and m.outcome == "established"
    low, high = DEFAULT_RANGES[Wait.RULES_OK]
    deadline = m.timer()
    assert deadline is not None and 2.5 + low <= deadline <= 2.5 + high
    codes = [e.code for e in m.log]
    for code in ("MAPE.011", "MAPE.013", "MAPE.014", "MAPE.015", "MAPE.017", "MAPE.018",
                 "MAPE.020", "MAPE.022", "MAPE.004"):  # fmt: skip
        assert code in codes
    assert (m.counters.requests, m.counters.successes, m.counters.failures) == (1, 1, 0)


def test_without_reporting_no_report_is_asked_for() -> None:
    m = machine(report=False)
    m.handle(Start(), 0)
    m.handle(NO_HGW, 0)
    assert kinds(m.handle(RulesFetched(GOOD), 0)) == [Do.APPLY, Do.SAVE]
    assert m.state is State.ESTABLISHED
    assert "MAPE.017" not in [e.code for e in m.log]


@pytest.mark.parametrize(
    ("event", "state", "actions", "wait", "outcome"),
    [
        (RulesFetched(BLANK), State.WAITING, [], Wait.BLANK, "blank"),
        (error("reply.not_jsonp"), State.WAITING, [Do.WITHDRAW], Wait.BLANK, "invalid"),
        (RulesFetched(FOREIGN), State.WAITING, [Do.WITHDRAW], Wait.BLANK, "invalid"),
        (error("rules.forbidden"), State.WAITING, [], Wait.FORBIDDEN, "forbidden"),
        (error("rules.rejected"), State.WAITING, [Do.WITHDRAW], Wait.REJECTED, "rejected"),
        (error("server.error"), State.WAITING, [Do.WITHDRAW], Wait.SERVER, "server_error"),
        (error("net.timeout"), State.WAITING, [Do.WITHDRAW], Wait.SERVER, "unreachable"),
        (RulesFetched(Unsupported(Provider.HB46PP, ("dslite",), "x")), State.WAITING,
         [Do.WITHDRAW], Wait.BLANK, "unsupported"),
        (error("dns.no_record"), State.WAITING, [Do.WITHDRAW], Wait.NO_DISCOVERY,
         "unreachable"),
    ],
)  # fmt: skip
def test_failures_without_saved_rules(
    event: object, state: State, actions: list[Do], wait: Wait, outcome: str
) -> None:
    m = machine()
    m.handle(Start(), 0)
    m.handle(NO_HGW, 0)
    got = [k for k in kinds(m.handle(event, 10.0)) if k is not Do.FORGET]  # type: ignore[arg-type]
    assert [k for k in got if k is not Do.WITHDRAW] == [k for k in actions if k != Do.WITHDRAW]
    assert m.state is state and m.wait is wait and m.outcome == outcome
    low, high = DEFAULT_RANGES[wait]
    assert m.timer() is not None and 10 + low <= m.timer() <= 10 + high  # type: ignore[operator]
    assert m.last_error is not None
    assert any(e.code == "MAPE.016" for e in m.log)


@pytest.mark.parametrize(
    ("event", "keeps", "wait"),
    [
        (error("server.error"), True, Wait.SERVER),
        (error("net.timeout"), True, Wait.SERVER),
        (error("reply.bad_value"), True, Wait.BLANK),
        (RulesFetched(FOREIGN), True, Wait.BLANK),
        (error("rules.rejected"), True, Wait.REJECTED),
        (error("rules.forbidden"), False, Wait.FORBIDDEN),
        (RulesFetched(BLANK), False, Wait.BLANK),
    ],
)
def test_saved_rules_survive_what_they_should(event: object, keeps: bool, wait: Wait) -> None:
    m = machine()
    establish(m)
    applied = m.applied
    m.handle(TimerFired(), 5.0)
    m.handle(NO_HGW, 5.0)
    actions = kinds(m.handle(event, 6.0))  # type: ignore[arg-type]
    assert m.wait is wait
    if keeps:
        assert m.state is State.ESTABLISHED and m.applied == applied and m.saved is GOOD
        assert Do.WITHDRAW not in actions
        assert "MAPE.024" in [e.code for e in m.log]
    else:
        assert m.state is State.WAITING and m.applied is None and m.saved is None
        assert Do.WITHDRAW in actions and Do.FORGET in actions
        assert "MAPE.025" in [e.code for e in m.log]


def test_saved_rules_are_restored_after_a_restart_when_the_server_is_down() -> None:
    m = machine(saved=GOOD)
    m.handle(Start(), 0)
    m.handle(NO_HGW, 0)
    actions = m.handle(error("server.error"), 1.0)
    assert kinds(actions) == [Do.APPLY]
    assert m.state is State.ESTABLISHED and m.outcome == "server_error"


def test_unchanged_rules_are_not_reapplied_or_reported() -> None:
    m = machine()
    establish(m)
    m.handle(TimerFired(), 9.0)
    m.handle(NO_HGW, 9.0)
    assert kinds(m.handle(RulesFetched(GOOD), 9.0)) == [Do.SAVE]
    assert m.state is State.ESTABLISHED and m.wait is Wait.RULES_OK


def test_hgw_running_mape_stands_down_and_reports_reason_4() -> None:
    m = machine()
    establish(m)
    m.handle(Retry(), 3.0)
    actions = m.handle(HgwChecked(HgwReport(HgwState.ON)), 3.0)
    assert kinds(actions) == [Do.WITHDRAW, Do.REPORT_STOP_HGW]
    report = actions[1]
    assert isinstance(report, Report) and int(report.reason) == 4 and int(report.action) == 2
    m.handle(ReportSent(MapeError("net.timeout", "no answer")), 3.5)
    assert m.state is State.HGW_ACTIVE and m.wait is Wait.HGW_POLL
    assert m.outcome == "hgw_active" and m.applied is None
    assert "MAPE.019" in [e.code for e in m.log]
    assert kinds(m.handle(TimerFired(), 400.0)) == [Do.CHECK_HGW]  # keeps polling


def test_hgw_without_mape_continues() -> None:
    m = machine()
    m.handle(Start(), 0)
    assert kinds(m.handle(HgwChecked(HgwReport(HgwState.OFF)), 0)) == [Do.FETCH]


def test_prefix_change_reports_stop_and_starts_a_new_cycle_at_once() -> None:
    m = machine()
    establish(m)
    actions = m.handle(PrefixChanged(*NEW_PREFIX), 50.0)
    assert kinds(actions) == [Do.REPORT_STOP_ADDRESS, Do.WITHDRAW, Do.CHECK_HGW]
    assert m.timer() is None  # no waiting for the old timer
    m.handle(ReportSent(), 50.0)
    assert m.state is State.CHECKING_HGW  # a report answer does not derail the cycle
    m.handle(NO_HGW, 50.0)
    actions = m.handle(RulesFetched(GOOD), 51.0)
    assert actions[0].mapping is not None and actions[0].mapping.ipv4_text == "192.0.2.18"
    assert actions[0].mapping.prefix == NEW_PREFIX[0]
    assert m.handle(PrefixChanged(*NEW_PREFIX), 52.0) == []  # same prefix: nothing


def test_prefix_change_while_waiting_cuts_the_wait_short() -> None:
    m = machine()
    m.handle(Start(), 0)
    m.handle(NO_HGW, 0)
    m.handle(RulesFetched(BLANK), 0)
    assert m.timer() is not None
    assert kinds(m.handle(PrefixChanged(*NEW_PREFIX), 1.0)) == [Do.CHECK_HGW]


def test_prefix_lost_withdraws() -> None:
    m = machine()
    establish(m)
    assert kinds(m.handle(PrefixLost(), 5.0)) == [Do.WITHDRAW]
    assert m.state is State.WAITING and m.applied is None


def test_the_first_prefix_starts_a_cycle() -> None:
    m = CeMachine(Provider.JPNE, random.Random(1))
    assert kinds(m.handle(PrefixChanged(*PREFIX), 0)) == [Do.CHECK_HGW]


def test_stale_answers_are_ignored() -> None:
    m = machine()
    assert m.handle(RulesFetched(GOOD), 0) == []  # nothing was requested
    assert m.state is State.WAITING


def test_timers_scale_for_labs() -> None:
    m = machine(timers=TimerPolicy(scale=0.001))
    m.handle(Start(), 0)
    m.handle(NO_HGW, 0)
    m.handle(RulesFetched(BLANK), 0)
    assert m.timer() is not None and 0.6 <= m.timer() <= 1.8  # type: ignore[operator]


def test_hb46pp_waits_for_ttl() -> None:
    m = CeMachine(Provider.HB46PP, random.Random(1), prefix=PREFIX)
    m.handle(Start(), 0)
    m.handle(NO_HGW, 0)
    m.handle(RulesFetched(RuleDelivery(Provider.HB46PP, RuleSet([RULE]), ttl=7200)), 0)
    m.handle(ReportSent(), 0)
    assert m.timer() == 7200 and m.wait is Wait.TTL


def test_every_row_of_the_table_is_reachable_and_documented() -> None:
    diagram = table.diagram()
    assert diagram.startswith("stateDiagram-v2")
    for (state, trigger), row in table.TRANSITIONS.items():
        assert isinstance(trigger, Trigger)
        if isinstance(row.target, State):
            assert f"--> {row.target.name}" in diagram
        if state is not None:
            assert state.name in diagram


def test_log_messages_in_both_languages() -> None:
    m = machine()
    establish(m)
    for entry in m.log:
        assert entry.message("en") and entry.message("ja")
    assert m.log[-1].to_dict()["code"] == "MAPE.004"


def test_hgw_state_change_between_cycles_starts_a_cycle_at_once() -> None:
    from mapekit.provision.machine import HgwPolled

    m = machine()
    establish(m)
    assert m.handle(HgwPolled(HgwReport(HgwState.NONE)), 5.0) == []  # unchanged
    assert kinds(m.handle(HgwPolled(HgwReport(HgwState.ON)), 6.0)) == [Do.CHECK_HGW]
    assert m.timer() is None and "MAPE.028" in [e.code for e in m.log]


@pytest.mark.parametrize(
    ("code", "wait"),
    [("server.error", Wait.HB46PP_ERROR), ("net.timeout", Wait.HB46PP_ERROR),
     ("net.dns", Wait.DNS_FAILURE)],
)  # fmt: skip
def test_hb46pp_error_timers(code: str, wait: Wait) -> None:
    m = CeMachine(Provider.HB46PP, random.Random(1), prefix=PREFIX)
    m.handle(Start(), 0)
    m.handle(NO_HGW, 0)
    m.handle(error(code), 0)
    low, high = DEFAULT_RANGES[wait]
    assert m.wait is wait and low <= m.timer() <= high  # type: ignore[operator]


def test_every_wait_has_a_range() -> None:
    # SAVED is what a saved schedule says is left of an earlier RULES_OK or TTL wait
    assert set(DEFAULT_RANGES) == set(Wait) - {Wait.SAVED}
    assert all(0 < low <= high for low, high in DEFAULT_RANGES.values())


def test_resumed_applies_the_saved_rules_and_waits_what_is_left() -> None:
    m = CeMachine(Provider.JPNE, random.Random(1), saved=GOOD)
    actions = m.handle(Resumed(*PREFIX, delay=3600.0), 100.0)
    assert kinds(actions) == [Do.APPLY]
    assert actions[0].mapping is not None and actions[0].mapping.ipv4_text == "192.0.2.18"
    assert m.state is State.ESTABLISHED and m.wait is Wait.SAVED and m.timer() == 3700.0
    assert [e.code for e in m.log] == ["MAPE.029", "MAPE.020", "MAPE.022"]
    assert kinds(m.handle(TimerFired(), 3700.0)) == [Do.CHECK_HGW]  # then the usual cycle


def test_resumed_without_usable_saved_rules_is_a_start() -> None:
    m = CeMachine(Provider.JPNE, random.Random(1), saved=FOREIGN)
    assert kinds(m.handle(Resumed(*PREFIX, delay=3600.0), 0.0)) == [Do.CHECK_HGW]
    assert m.timer() is None and m.prefix == PREFIX
