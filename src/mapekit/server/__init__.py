"""Operator-side and lab servers: the rule server and the HGW emulator (docs/design.md §4)."""
