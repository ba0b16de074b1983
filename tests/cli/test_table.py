"""Status tables line up in a terminal when labels are Japanese (kana, kanji and full-width
parentheses take two columns each)."""

from __future__ import annotations

from mapekit.cli.output import table


def test_values_start_in_one_column() -> None:
    lines = table([["方式", "DS-Lite"], ["AFTR（変換装置）", "aftr.example"],
                   ["Data plane", "kernel"]], indent="  ").splitlines()  # fmt: skip
    # "AFTR（変換装置）": 4 narrow + 6 wide = 16 columns, after a 2-column indent and a
    # 2-column gap every value starts in column 20: after "  方式" (6 columns), 14 spaces
    assert lines[0] == "  方式" + " " * 14 + "DS-Lite"
    assert lines[1] == "  AFTR（変換装置）  aftr.example"
    assert lines[2] == "  Data plane" + " " * 8 + "kernel"
