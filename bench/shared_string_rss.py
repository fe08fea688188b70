"""Peak memory of validating a workbook that holds one enormous shared string (issue 20, item 3).

    python -m bench.shared_string_rss make OUT.xlsx MB      # a ~0.5 MB workbook whose one shared string is MB MB
    /usr/bin/time -v python -m bench.shared_string_rss validate FILE   # validate_file, as the upload page calls it

A red-team case, not part of `make bench`: the workbook is written streamed (the string is never whole in this
process), with the catalogue's police_monthly header as inline cells and the huge string as cell A2.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import xlsxwriter

CHUNK = 1 << 20


def make(out: Path, megabytes: float) -> None:
    plain = out.with_suffix(".plain.xlsx")
    workbook = xlsxwriter.Workbook(plain)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["period", "indicator", "breakdown", "value"])
    sheet.write_string(1, 0, "placeholder")
    workbook.close()
    size = int(megabytes * 1024 * 1024)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for part in source.infolist():
            if part.filename != "xl/sharedStrings.xml":
                target.writestr(part, source.read(part))
                continue
            with target.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
                fh.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                         b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="5" '
                         b'uniqueCount="5"><si><t>period</t></si><si><t>indicator</t></si><si><t>breakdown</t></si>'
                         b'<si><t>value</t></si><si><t>')
                written = 0
                while written < size:
                    piece = min(CHUNK, size - written)
                    fh.write(b"A" * piece)
                    written += piece
                fh.write(b"</t></si></sst>")
    plain.unlink()


def validate(path: Path) -> None:
    from radar.core.catalogue import load_catalogue
    from radar.validation.feeds import Limits, validate_file

    result = validate_file(path, load_catalogue(), Limits(150 * 1024 * 1024))
    print({rule: count for rule, count in result.problem_counts.items()},
          [p.message for p in result.problems][:1])


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(Path(sys.argv[2]), float(sys.argv[3]))
    else:
        validate(Path(sys.argv[2]))
