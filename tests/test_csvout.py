"""The CSV writer: Excel opens it with Swedish intact, and no cell runs as a formula."""
from __future__ import annotations

import csv
import io

from notifier import csvout


def _read(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(text[1:])))


def test_formulas_are_neutralised_but_phone_numbers_stay() -> None:
    rows = [["=HYPERLINK(\"http://evil\")", "+46701234567", "-1+1", "@SUM(A1)", "+1 555 CALL"],
            ["Åsa Öberg", "+46 70", None, 42, "\tcmd"]]
    got = _read(csvout.rows_to_text(["a", "b", "c", "d", "e"], rows))
    assert got[1] == ["'=HYPERLINK(\"http://evil\")", "+46701234567", "'-1+1", "'@SUM(A1)",
                      "'+1 555 CALL"]
    assert got[2] == ["Åsa Öberg", "'+46 70", "", "42", "'\tcmd"]


def test_a_large_export_streams_in_pieces() -> None:
    pieces = list(csvout.stream(["n"], ([i] for i in range(100000))))
    assert len(pieces) > 3
    assert len(_read("".join(pieces))) == 100001
