"""Spreadsheets (``.xlsx``) for game voice-over: the CSV's columns on the first worksheet.

The first non-empty row is the header, read exactly as the CSV's (:mod:`studio.core.formats.csv_table`):
``id``, ``character``, ``text`` required; ``direction``, ``scene``, ``notes`` and ``text:fr`` …
translation columns optional; other columns ignored. Cells are read as their values (a formula as its
last computed value): whole numbers without ``.0``, dates as ISO text, empty cells as "". Errors
name the file, the sheet and the row: ``lines.xlsx, sheet Script, row 4: the text for Bob is empty``.

Written as one sheet "Script" with a bold, frozen header row. Round trip: as the CSV (line breaks
inside a cell included).

Thread contract: pure functions of bytes; safe from any thread.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Iterator
from typing import Any

from studio.core.formats.csv_table import parse_rows, table_rows
from studio.core.formats.records import ParsedScript, ScriptFormatError

SHEET_TITLE = "Script"


class SheetFormatError(ScriptFormatError):
    """A script error in a spreadsheet: the place is a sheet and a row, not a text line."""

    def __init__(self, line_number: int, problem: str, source: str = "", sheet: str = "") -> None:
        self.sheet = sheet
        super().__init__(line_number, problem, source)

    @property
    def message(self) -> str:
        where = f"sheet {self.sheet}, row {self.line_number}" if self.sheet else f"row {self.line_number}"
        return f"{self.source}, {where}: {self.problem}" if self.source else f"{where}: {self.problem}"

    def __reduce__(self) -> Any:
        return (type(self), (self.line_number, self.problem, self.source, self.sheet))

    def with_source(self, source: str) -> SheetFormatError:
        return SheetFormatError(self.line_number, self.problem, source, self.sheet)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").replace("\r", "\n")


def parse_bytes(data: bytes) -> ParsedScript:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SheetFormatError(
            1, f"this is not a readable .xlsx workbook ({exc}); save it from Excel or LibreOffice as .xlsx"
        ) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise SheetFormatError(1, "the workbook has no worksheet")
        title = sheet.title

        def rows() -> Iterator[tuple[int, list[str]]]:
            width = 0
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [_cell_text(value) for value in row]
                if not width:
                    while cells and not cells[-1].strip():
                        cells.pop()
                    width = len(cells)
                else:  # cells past the header's columns are not fields
                    cells = cells[:width] + [""] * (width - len(cells))
                yield number, cells

        try:
            return parse_rows(rows())
        except ScriptFormatError as exc:
            raise SheetFormatError(exc.line_number, exc.problem, "", title) from None
    finally:
        book.close()


def dump_bytes(script: ParsedScript) -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET_TITLE
    for row in table_rows(script):
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text, not a formula
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEF", (14, 16, 60, 20, 20, 30), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
