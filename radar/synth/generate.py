"""`radar synth`: write a folder of sample deliveries, one file per feed and month."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from radar.core.catalogue import Catalogue
from radar.core.periods import month_range
from radar.synth.arrival import arrival_time, stamp
from radar.synth.bad_files import BAD_FILES
from radar.synth.files import file_name, write_csv
from radar.synth.sample import SampleData


def generate(out_dir: Path, catalogue: Catalogue, start: str = "2017-04", end: str = "2020-03", seed: int = 2020,
             with_bad_files: bool = False, progress: Callable[[int, int], None] | None = None,
             due_days: dict[str, int] | None = None) -> list[Path]:
    """Write every feed's file for every month from start to end into out_dir.

    Quarterly feeds get files only for the months they are due.  The files are
    calibrated to the partnership's 2019-20 annual report; the same seed gives
    byte-identical files, and a month's file does not depend on the range asked
    for.  With `with_bad_files` the folder also gets the deliveries listed in
    `BAD_FILES`.  `progress(done, total)` is called after each file.  Each
    file's modification time is a plausible arrival time around its feed's
    due day (`due_days`, default the catalogue's).  Returns the paths written,
    good files first.
    """
    due = {f.id: f.due_day for f in catalogue.feeds} | (due_days or {})
    if not month_range(start, end):
        raise ValueError(f"start {start} is after end {end}")
    sample = SampleData(catalogue, seed)
    bad = BAD_FILES if with_bad_files else ()
    withheld = {(b.feed_id, end) for b in bad if b.withholds_good}
    jobs = [(feed.id, period) for period in month_range(start, end) for feed in catalogue.feeds
            if feed.expects(period) and (feed.id, period) not in withheld]
    total = len(jobs) + len(bad)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for feed_id, period in jobs:
        written.append(write_csv(out_dir / file_name(feed_id, period), *sample.rows(feed_id, period)))
        stamp(written[-1], arrival_time(seed, feed_id, period, due[feed_id]))
        if progress:
            progress(len(written), total)
    for bad_file in bad:
        path = out_dir / bad_file.file_name(end)
        bad_file.write(path, sample, end)
        stamp(path, arrival_time(seed, bad_file.name, end, due[bad_file.feed_id], late=False))
        written.append(path)
        if progress:
            progress(len(written), total)
    return written
