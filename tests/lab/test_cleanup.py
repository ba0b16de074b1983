"""Every failure path removes the lab: a build that fails half-way (services already running,
/etc/netns files written) leaves no namespace, no /etc/netns folder and no process."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapekit.lab import network, services
from tests.netns import Lab, needs_root, running_daemons, sh

pytestmark = needs_root


def test_a_build_failing_half_way_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = running_daemons()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the HGW's radvd would not start")

    real = services.start_radvd
    monkeypatch.setattr(
        services,
        "start_radvd",
        lambda lab, node, *a: broken() if node == "hgw" else real(lab, node, *a),
    )
    lab = Lab()
    with pytest.raises(RuntimeError, match="radvd"), lab:
        network.build_network(lab, tmp_path, network.Topology(hgw="on"))
    names = sh("ip", "netns", "list").stdout
    assert lab.prefix not in names
    netns = Path("/etc/netns")
    assert not netns.exists() or not [p for p in netns.iterdir() if p.name.startswith(lab.prefix)]
    assert running_daemons() - before == set()
    assert (tmp_path / "kea.log").exists()  # it did get as far as the access network
