"""Every CSV the service hands out, through one helper (#20, R20).

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to a
spreadsheet (`=HYPERLINK(...)`, `+cmd|...`, DDE): such a cell gets a `'` first, so the
spreadsheet shows it as text. A caller ID is whatever the caller's phone sends, and names are
typed by people, so every string cell goes through `safe_cell`. A plain signed number
(`+8613800138000`, `-1.5`) runs nothing and is left as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any

from fastapi.responses import StreamingResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """The value as a CSV cell: None as "", a string a spreadsheet would run with `'` first."""
    if value is None:
        return ""
    if (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not _SIGNED_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def csv_response(rows: Iterable[dict[str, Any]], filename: str) -> StreamingResponse:
    """The rows as a streamed CSV download (the first row's keys are the header)."""
    async def lines() -> AsyncIterator[str]:
        buffer, writer = io.StringIO(), None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(buffer, fieldnames=list(row))
                writer.writerow({k: safe_cell(k) for k in row})
            writer.writerow({k: safe_cell(v) for k, v in row.items()})
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
