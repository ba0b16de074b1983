"""JSON: the mapping (or the DS-Lite / IPIP softwire), the plan and the ruleset in one
object, for scripts and other tools.

``{"mapping": …, "plan": …, "nft": …}``: ``mapping`` is the mapping object of ``mape calc
--json`` and ``plan`` the plan object of ``mape plan --json`` (docs/cli.md); ``nft`` is the
ruleset of ``mapekit.dataplane.nftables.render``. No vendor syntax is involved.
"""

from __future__ import annotations

import json

from mapekit.core.mapping import Mapping
from mapekit.dataplane.nftables import render as render_nft
from mapekit.dataplane.plan import Plan
from mapekit.dataplane.softwire import make_softwire_plan, render_softwire
from mapekit.export.common import ExportOptions
from mapekit.export.softwire import SoftwireLine


def document(mapping: Mapping, plan: Plan) -> dict[str, object]:
    return {"mapping": mapping.to_dict(), "plan": plan.to_dict(), "nft": render_nft(plan)}


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    return json.dumps(document(mapping, plan), indent=2, ensure_ascii=False) + "\n"


def render_softwire_json(line: SoftwireLine, options: ExportOptions, tunnel: str) -> str:
    """``{"softwire": …, "plan": …, "nft": …}`` for a DS-Lite or IPIP line."""
    plan = make_softwire_plan(line.softwire(), options.wan, tunnel_name=tunnel, lan=options.lan)
    doc = {"softwire": line.to_dict(), "plan": plan.to_dict(), "nft": render_softwire(plan)}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
