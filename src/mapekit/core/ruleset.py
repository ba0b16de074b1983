"""A set of mapping rules: BMR selection, FMR matching, BR lookup and overlap checks.

Lookups are longest-prefix matches done as one dictionary probe per distinct prefix
length (the built-in tables have two IPv6 lengths), so they cost the same for 10 rules
or 10,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from mapekit.core.addr import ipv4_text, ipv6_text
from mapekit.core.errors import LookupFailure, RuleError
from mapekit.core.mapping import Mapping, ReverseMapping, map_prefix, reverse_map
from mapekit.core.rule import IidFormat, MappingRule

_Index = tuple[tuple[int, dict[int, MappingRule]], ...]


def _build_index(rules: Iterable[MappingRule], bits: int, ipv6: bool) -> _Index:
    by_len: dict[int, dict[int, MappingRule]] = {}
    for rule in rules:
        length = rule._n if ipv6 else rule._r
        value = rule._v6 if ipv6 else rule._v4
        by_len.setdefault(length, {})[value >> (bits - length)] = rule
    return tuple(sorted(((bits - n, t) for n, t in by_len.items()), key=lambda e: e[0]))


def _lookup(index: _Index, value: int) -> MappingRule | None:
    for shift, table in index:  # shortest shift = longest prefix first
        rule = table.get(value >> shift)
        if rule is not None:
            return rule
    return None


@dataclass(frozen=True)
class Overlap:
    """Two rules whose prefixes overlap (``family`` is ``ipv6`` or ``ipv4``)."""

    family: str
    first: MappingRule
    second: MappingRule

    def describe(self) -> str:
        if self.family == "ipv6":
            a, b = str(self.first.ipv6_prefix), str(self.second.ipv6_prefix)
        else:
            a, b = str(self.first.ipv4_prefix), str(self.second.ipv4_prefix)
        return f"{self.family} prefix {a} overlaps {b}"


class RuleSet(Sequence[MappingRule]):
    """An immutable, indexed collection of rules (a MAP domain or several)."""

    def __init__(self, rules: Iterable[MappingRule]) -> None:
        self._rules = tuple(rules)
        seen: dict[tuple[int, int], MappingRule] = {}
        for rule in self._rules:
            key = (rule._v6, rule._n)
            if key in seen:
                raise RuleError(
                    "rule.duplicate",
                    f"ipv6_prefix: {rule.ipv6_prefix} appears in more than one rule",
                    field="ipv6_prefix",
                    value=str(rule.ipv6_prefix),
                )
            seen[key] = rule
        self._by_v6 = _build_index(self._rules, 128, ipv6=True)
        self._by_v4 = _build_index(self._rules, 32, ipv6=False)
        self._fmr_by_v4 = _build_index((r for r in self._rules if r.fmr), 32, ipv6=False)

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, index: int) -> MappingRule:  # type: ignore[override]
        return self._rules[index]

    def __iter__(self) -> Iterator[MappingRule]:
        return iter(self._rules)

    def filter(self, isp: str | None) -> RuleSet:
        """The rules of one operator (all rules for None)."""
        if isp is None:
            return self
        return RuleSet(r for r in self._rules if r.isp == isp)

    @property
    def isps(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.isp for r in self._rules if r.isp is not None))

    # --- lookups -------------------------------------------------------------------

    def find_bmr(self, prefix: int) -> MappingRule | None:
        """The rule whose IPv6 prefix is the longest match for ``prefix``."""
        return _lookup(self._by_v6, prefix)

    def bmr(self, prefix: int, prefix_len: int) -> MappingRule:
        rule = _lookup(self._by_v6, prefix)
        if rule is None or rule._n > prefix_len:
            raise LookupFailure(
                "lookup.no_rule_for_prefix",
                f"prefix: no rule covers {ipv6_text(prefix)}/{prefix_len} "
                f"({len(self)} rules searched)",
                field="prefix",
                value=f"{ipv6_text(prefix)}/{prefix_len}",
            )
        return rule

    def map(self, prefix: int, prefix_len: int, iid: IidFormat | None = None) -> Mapping:
        """Select the BMR and map ``prefix`` with it."""
        return map_prefix(self.bmr(prefix, prefix_len), prefix, prefix_len, iid)

    def find_rule_for_ipv4(self, ipv4: int) -> MappingRule | None:
        """The rule whose IPv4 prefix holds ``ipv4``, or None (no exception: a BR asks
        this for every packet, most of them for addresses outside the domain)."""
        return _lookup(self._by_v4, ipv4)

    def rule_for_ipv4(self, ipv4: int) -> MappingRule:
        rule = _lookup(self._by_v4, ipv4)
        if rule is None:
            raise LookupFailure(
                "lookup.no_rule_for_ipv4",
                f"ipv4: no rule covers {ipv4_text(ipv4)} ({len(self)} rules searched)",
                field="ipv4",
                value=ipv4_text(ipv4),
            )
        return rule

    def reverse(self, ipv4: int, port: int, iid: IidFormat | None = None) -> ReverseMapping:
        """The CE owning ``ipv4``:``port`` (what a BR does for every packet)."""
        for shift, table in self._by_v4:  # rule_for_ipv4, inlined: a BR does this per packet
            rule = table.get(ipv4 >> shift)
            if rule is not None:
                return reverse_map(rule, ipv4, port, iid)
        return reverse_map(self.rule_for_ipv4(ipv4), ipv4, port, iid)

    def fmr(self, ipv4: int) -> MappingRule | None:
        """The Forwarding Mapping Rule for a destination, or None (go to the BR)."""
        return _lookup(self._fmr_by_v4, ipv4)

    # --- consistency ---------------------------------------------------------------

    def overlaps(self) -> list[Overlap]:
        """Pairs of rules whose IPv6 or IPv4 prefixes overlap."""
        found: list[Overlap] = []
        for family in ("ipv6", "ipv4"):
            found += _overlaps_in(self._rules, family)
        return found


def _overlaps_in(rules: Sequence[MappingRule], family: str) -> list[Overlap]:
    def span(rule: MappingRule) -> tuple[int, int]:
        if family == "ipv6":
            return rule._v6, rule._v6 + (1 << (128 - rule._n)) - 1
        return rule._v4, rule._v4 + (1 << (32 - rule._r)) - 1

    ordered = sorted(rules, key=lambda r: (span(r)[0], -span(r)[1]))
    found: list[Overlap] = []
    open_: list[MappingRule] = []  # rules whose span may still contain later ones
    for rule in ordered:
        start, _ = span(rule)
        open_ = [o for o in open_ if span(o)[1] >= start]
        found += [Overlap(family, o, rule) for o in open_]
        open_.append(rule)
    return found
