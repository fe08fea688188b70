"""Property: whatever a sender's tools do to a valid file, ingest accepts it whole or rejects it whole, with a
report, and no raw child reference from the file appears outside quarantine.

Hypothesis mutates a valid missing-episodes file (child references in it) by
bytes, encoding, delimiter, line endings and cells; each mutated file goes
through `ingest_path`, the function the flow's task runs.  Bounded to a few
dozen examples so it runs with the normal test command.
"""

from __future__ import annotations

import json
import logging
import os

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from radar.flows.ingest import ingest_path
from radar.models.audit import AuditEvent
from radar.models.engine import get_engine
from radar.models.submissions import Submission
from tests.feedfiles import record_rows, scratch_store

PERIOD = "2020-03"
CHILD = "LCSFUZZ"
HEADER = ["episode_id", "child_ref", "start_date", "end_date", "looked_after", "rhi_offered", "rhi_completed"]


def valid_rows(n: int) -> list[list[str]]:
    rows = record_rows("missing_episodes", PERIOD, n)
    return [[r[h] if h != "child_ref" else f"{CHILD}{i:04d}" for h in HEADER] for i, r in enumerate(rows)]


@st.composite
def mutated_file(draw) -> bytes:
    rows = valid_rows(draw(st.integers(1, 6)))
    for _ in range(draw(st.integers(0, 3))):  # cells: swapped, shifted, replaced
        r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(HEADER) - 1))
        action = draw(st.sampled_from(["shift", "swap", "text"]))
        if action == "shift":
            rows[r].insert(c, "")
        elif action == "swap":
            rows[r][c], rows[r][1] = rows[r][1], rows[r][c]
        else:
            rows[r][c] = draw(st.text(max_size=12))
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(delimiter.join(row) for row in [HEADER, *rows]) + newline
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"])), errors="replace")
    if draw(st.booleans()):  # raw bytes: one flipped, inserted or deleted
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) * draw(st.integers(0, 2)) + data[at + 1:]
    return data


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.text = []

    def emit(self, record):
        self.text.append(record.getMessage() + str(record.exc_info or ""))


def places_outside_quarantine(home, result, submission, audit) -> dict[str, str]:
    """Everything ingest wrote or said outside quarantine, named so a failure says where a reference leaked."""
    places = {"result": json.dumps(result.to_json()), "submission row": json.dumps(dict(submission), default=str),
              "audit": audit}
    places |= {f"archive {p.name}": p.read_text(errors="replace") for p in (home / "archive").rglob("*") if p.is_file()}
    places |= {f"report {p.name}": p.read_text(errors="replace") for p in (home / "quarantine").glob("*.report.*")}
    return places


# A fixed set of examples in `make test`, so CI is repeatable; RADAR_FUZZ_EXAMPLES=N runs N random ones.
FUZZ_EXAMPLES = int(os.environ.get("RADAR_FUZZ_EXAMPLES", "0"))


@settings(max_examples=FUZZ_EXAMPLES or 40, derandomize=not FUZZ_EXAMPLES, deadline=None, database=None)
@given(data=mutated_file())
def test_mutated_files_are_whole_and_never_leak_a_reference(data):
    with scratch_store() as (home, url):
        path = home / "inbox" / f"missing_episodes__{PERIOD}.csv"
        path.write_bytes(data)
        logs = Collect()
        logging.getLogger().addHandler(logs)
        try:
            result = ingest_path(path)
        finally:
            logging.getLogger().removeHandler(logs)
        assert result.status in {"accepted", "replaced", "duplicate", "rejected"}
        with get_engine(url).connect() as conn:
            submission = conn.execute(select(Submission.__table__).where(
                Submission.__table__.c.id == result.submission_id)).mappings().one()
            audit = json.dumps([dict(r) for r in conn.execute(select(AuditEvent.__table__)).mappings()], default=str)
        if result.status == "rejected":
            assert submission["report_path"] and open(submission["report_path"], encoding="utf-8").read()
            assert not path.exists()
        places = places_outside_quarantine(home, result, submission, audit) | {"logs": "\n".join(logs.text)}
        assert [name for name, text in places.items() if CHILD in text] == []
