"""Reference data every source shares, shipped with the package: NOC 2021 and 2016, the
official 2016 -> 2021 correspondence (``noc``), the programs and provinces (``programs``).

A source's own reference data (its category lists, its streams) lives in its package.
Data files live in ``data/`` and are read once, on first use, by the module that owns them.
"""
from __future__ import annotations

import csv
import io
from importlib import resources


def read_data_csv(name: str, package: str = __name__) -> list[tuple[int, dict[str, str]]]:
    """Rows of ``data/<name>`` (in ``package``) as (line number, row); BOM dropped, header names stripped.

    Statistics Canada's files start with a BOM and one header has a leading space
    (" GSIM Type of Change"), so both are normalised here, once, for every reader.
    """
    text = (resources.files(package) / "data" / name).read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader)]
    rows = []
    for fields in reader:
        if not any(f.strip() for f in fields):
            continue
        rows.append((reader.line_num, dict(zip(header, (f.strip() for f in fields)))))
    return rows
