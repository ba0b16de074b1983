"""Check delivered rules against the CE's own prefix, saying exactly what is wrong."""

from __future__ import annotations

from mapekit.core.addr import ipv6_text
from mapekit.core.errors import LookupFailure
from mapekit.core.mapping import Mapping, map_prefix
from mapekit.provision.errors import ReplyError
from mapekit.provision.model import RuleDelivery


def select_mapping(delivery: RuleDelivery, prefix: int, prefix_len: int) -> Mapping:
    """The BMR's mapping of the CE prefix, or a ReplyError naming the problem."""
    rules = delivery.rules
    try:
        bmr = rules.bmr(prefix, prefix_len)
    except LookupFailure:
        shown = ", ".join(str(r.ipv6_prefix) for r in list(rules)[:4])
        more = f" and {len(rules) - 4} more" if len(rules) > 4 else ""
        raise ReplyError(
            "rules.no_bmr",
            f"no delivered rule covers the CE prefix {ipv6_text(prefix)}/{prefix_len} "
            f"(rules: {shown}{more})",
            field="rules",
            value=f"{ipv6_text(prefix)}/{prefix_len}",
        ) from None
    if prefix_len < bmr.ea_end:
        raise ReplyError(
            "rules.prefix_too_short",
            f"the CE prefix /{prefix_len} is shorter than /{bmr.ea_end} (rule "
            f"{bmr.ipv6_prefix} + {bmr.ea_len} EA bits)",
            field="rules",
            value=prefix_len,
        )
    if bmr.br is None:
        raise ReplyError(
            "rules.br_missing", f"rule {bmr.ipv6_prefix} has no BR address", field="br"
        )
    return map_prefix(bmr, prefix, prefix_len)
