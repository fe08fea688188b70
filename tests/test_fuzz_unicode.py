"""Property: whatever Unicode a cell holds, ingest ends the file as accepted or rejected, recorded and out of the inbox.

Hypothesis puts text into one cell of a valid return: digits of every script
(Unicode category Nd: ٣٠٠, ３００, ३००), bidirectional controls, lone
surrogates (written with `surrogatepass`, so the bytes are what a broken
exporter writes), or any text at all; the file is CSV in UTF-8, UTF-16 or
Windows-1252, or a workbook.  Each goes through `ingest_path`, the function
the flow's task runs.  No file may end as an internal problem (a fault in
Radar, even one turned into a rejection) or stay in the inbox.
"""

from __future__ import annotations

import csv
import io
import os

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from radar.flows.ingest import ingest_path
from radar.models.engine import get_engine
from radar.models.submissions import Submission
from tests.feedfiles import AGGREGATE_HEADER, aggregate_rows, catalogue_once, record_rows, scratch_store, write_xlsx

PERIOD = "2020-03"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
FEEDS = {"police_monthly": AGGREGATE_HEADER,
         "lado_referrals": [c.name for c in catalogue_once().feed_by_id["lado_referrals"].columns]}

digits = st.text(st.characters(categories=("Nd",)), min_size=1, max_size=6)
bidi = st.builds(lambda a, c, b: a + c + b, st.text(max_size=4), st.sampled_from(BIDI), st.text(max_size=4))
surrogates = st.builds(lambda a, s, b: a + s + b, digits, st.characters(categories=("Cs",)), st.text(max_size=3))
cell_text = st.one_of(digits, bidi, surrogates, st.text(max_size=12), st.sampled_from(["٣٠٠", "３００", "-٣", "１"]))


@settings(max_examples=int(os.environ.get("RADAR_FUZZ_EXAMPLES", "0")) or 60, derandomize=True, deadline=None,
          database=None)
@given(feed=st.sampled_from(sorted(FEEDS)), text=cell_text, where=st.integers(0, 10_000),
       fmt=st.sampled_from(["utf-8", "utf-8", "utf-16", "cp1252", "xlsx"]), value_column=st.booleans())
def test_any_unicode_in_a_cell_ends_accepted_or_rejected(feed, text, where, fmt, value_column):
    header = FEEDS[feed]
    rows = aggregate_rows(catalogue_once(), feed, PERIOD) if feed == "police_monthly" else \
        record_rows(feed, PERIOD, 3)
    column = "value" if feed == "police_monthly" and value_column else header[where % len(header)]
    rows[where % len(rows)][column] = text
    with scratch_store() as (home, url):
        path = home / "inbox" / f"{feed}__{PERIOD}.{'xlsx' if fmt == 'xlsx' else 'csv'}"
        if fmt == "xlsx":
            try:
                write_xlsx(path, header, rows)
            except (UnicodeEncodeError, ValueError):
                return  # no workbook can hold this text (a lone surrogate): nothing to deliver
        else:
            out = io.StringIO(newline="")
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows([[r.get(name, "") for name in header] for r in rows])
            path.write_bytes(out.getvalue().encode(fmt, errors="replace" if fmt == "cp1252" else "surrogatepass"))
        result = ingest_path(path)
        assert result.status in {"accepted", "rejected"}, result
        assert "internal_problem" not in [e["rule"] for e in result.errors], result.errors
        with get_engine(url).connect() as conn:
            stored = conn.execute(select(Submission.__table__.c.status)).scalars().all()
        assert stored == [result.status]
        assert list((home / "inbox").iterdir()) == []
