"""The runner's notes (shown in the agent's status): how each step was decided, bounded
however long the agent runs, a repeated decision kept once."""

from __future__ import annotations

import random

import httpx

from mapekit.client.fetch import StaticSource
from mapekit.client.runner import MAX_NOTES, Runner
from mapekit.core.ruleset import RuleSet
from mapekit.provision.machine import CeMachine
from mapekit.provision.model import Provider

ON = b'hgw({"name":"jp.ne.enabler.ipv4.setting","version":"1.2.0","status":"ON"})'


def runner(answers: list[bytes]) -> Runner:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=answers.pop(0) if len(answers) > 1 else answers[0])

    return Runner(
        CeMachine(Provider.STATIC, random.Random(0)),
        StaticSource(RuleSet([])),
        hgw_url="http://192.0.2.1:8888/enabler.ipv4/check",
        hgw_transport=httpx.MockTransport(answer),
    )


def test_a_repeated_hgw_check_is_noted_once() -> None:
    run = runner([ON])
    for _ in range(100):
        run._check_hgw()
    assert len(run.notes) == 1 and "MAP-E is ON" in run.notes[0]


def test_notes_stay_bounded() -> None:
    off = ON.replace(b"ON", b"OFF")
    run = runner([ON, off] * 100)
    for _ in range(200):
        run._check_hgw()
    assert len(run.notes) == MAX_NOTES
    assert run.notes[-1] != run.notes[-2]  # alternating answers: each one kept
