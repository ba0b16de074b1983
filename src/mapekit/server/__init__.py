"""Operator-side and lab servers: the rule server and the HGW emulator (DESIGN.md §4)."""
