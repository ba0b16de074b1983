"""The NTT home-gateway check (docs/design.md §3.1).

``GET http://ntt.setup:8888/enabler.ipv4/check?callback=hgw`` (BIGLOBE:
``/biglobe.ipv4/check``) answers, on the HGW's LAN side over IPv4,
``hgw({"name":"jp.ne.enabler.ipv4.setting","version":"1.2.0","status":"ON"|"OFF"})``.
ON: the HGW runs MAP-E itself. OFF: an HGW is present without MAP-E. No IPv4, no name or
no answer: no HGW.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mapekit.provision.errors import ReplyError
from mapekit.provision.fields import as_object, get_str
from mapekit.provision.jsonp import decode_jsonp

DEFAULT_URL = "http://ntt.setup:8888/enabler.ipv4/check"
BIGLOBE_PATH = "/biglobe.ipv4/check"
CALLBACK = "hgw"


class HgwState(enum.Enum):
    NONE = "none"  # no HGW in the path
    OFF = "off"  # an HGW without MAP-E
    ON = "on"  # an HGW running MAP-E


@dataclass(frozen=True)
class HgwReport:
    state: HgwState
    name: str | None = None
    version: str | None = None


def decode_check(body: bytes, callback: str = CALLBACK) -> HgwReport:
    """The HGW's answer; a malformed one raises ReplyError."""
    doc = as_object(decode_jsonp(body, "HGW check", callback), "hgw")
    status = get_str(doc, "status", "hgw", max_len=8)
    if status not in ("ON", "OFF"):
        raise ReplyError(
            "reply.bad_value",
            f"hgw.status: {status!r} is neither ON nor OFF",
            field="hgw.status",
            value=status,
        )
    name = doc.get("name")
    version = doc.get("version")
    return HgwReport(
        HgwState.ON if status == "ON" else HgwState.OFF,
        name if isinstance(name, str) else None,
        version if isinstance(version, str) else None,
    )
