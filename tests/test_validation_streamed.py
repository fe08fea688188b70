"""Large record-feed CSVs are validated and stored in batches, with exactly the whole-file answers.

`stream_bytes=0` sends these small files down the batched path and
`chunk_bytes` is made tiny so they span many batches.
"""

from __future__ import annotations

import polars as pl
import pytest

from radar.validation import reading
from radar.validation.feeds import FileChanged, Limits, validate_file

PERIOD = "2020-01"
HEADER = "contact_id,child_ref,received_date,source,outcome\n"


def row(n: int, contact: str | None = None, day: str = "2020-01-05") -> str:
    return f"{contact or f'MC-{n:05d}'},LCS{n % 7:07d},{day},police,early_help\n"


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(reading.csv_record_chunks, "__defaults__", (64,))


def both(tmp_path, catalogue, text: str):
    path = tmp_path / f"mash_contacts__{PERIOD}.csv"
    path.write_text(text)
    streamed = validate_file(path, catalogue, Limits(10 * reading.MB, stream_bytes=0))
    whole = validate_file(path, catalogue, Limits(10 * reading.MB))
    return streamed, whole


def test_a_valid_file_is_streamed_and_gives_the_whole_file_rows(tmp_path, catalogue):
    streamed, whole = both(tmp_path, catalogue, HEADER + "".join(row(n) for n in range(40)))
    assert streamed.ok and streamed.frame is None and streamed.streamed is not None
    batches = list(streamed.batches())
    assert len(batches) > 5
    assert pl.concat(batches).equals(whole.frame) and streamed.row_count == whole.row_count == 40


@pytest.mark.parametrize("text", [
    HEADER + row(1) + row(2) + "".join(row(n) for n in range(3, 30)) + row(99, contact="MC-00001"),  # repeat across batches
    HEADER + "".join(row(n) for n in range(30)) + row(31, day="2020-02-01"),  # a bad cell in a late batch
    HEADER + row(1) + "\n" + row(2),  # an empty line
    HEADER + row(1) + "a,b,c,d,e,f\n",  # a row wider than the header
    HEADER.replace("source", "sauce") + row(1),  # a wrong header
    HEADER + row(1).replace("police", "pol\x01ice"),  # a control character
    HEADER + row(1).replace("police", "pol£ice"),  # not an allowed value
    HEADER,  # no rows
])
def test_a_file_with_any_problem_or_oddity_gets_exactly_the_whole_file_answer(tmp_path, catalogue, text):
    streamed, whole = both(tmp_path, catalogue, text)
    assert streamed.streamed is None and streamed.ok == whole.ok
    assert (streamed.frame is None) == (whole.frame is None) and (whole.frame is None or streamed.frame.equals(whole.frame))
    assert (streamed.problems, streamed.problem_counts, streamed.row_count) == \
           (whole.problems, whole.problem_counts, whole.row_count)


def test_a_file_changed_after_validation_is_never_stored(tmp_path, catalogue):
    streamed, _ = both(tmp_path, catalogue, HEADER + "".join(row(n) for n in range(20)))
    path = tmp_path / f"mash_contacts__{PERIOD}.csv"
    path.write_text(HEADER + "".join(row(n, day="2020-01-06") for n in range(20)))
    with pytest.raises(FileChanged):
        list(streamed.batches())


def test_chunks_end_only_between_records(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b'a,"x\ny"\n' * 50)
    chunks = list(reading.csv_record_chunks(path, 16))
    assert b"".join(chunks) == path.read_bytes() and all(c.endswith(b'"\n') for c in chunks)
