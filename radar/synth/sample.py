"""One seed's sample data: the rows of any feed's file for any month.

Counts are built a financial year at a time (the calibration is yearly) and
kept, so a month's file is the same whichever range is generated; records
are drawn from the seed's fixed pools of children and settings.
"""

from __future__ import annotations

from radar.core.catalogue import Catalogue
from radar.core.periods import financial_year
from radar.synth import records
from radar.synth.calibration import AGGREGATES, RECORD_COUNTS
from radar.synth.files import AGGREGATE_HEADER
from radar.synth.months import fy_index
from radar.synth.series import Key, rng_for, year_values

Rows = list[list[str]]


class SampleData:
    """The catalogue, the seed's pools and the yearly counts built so far."""

    def __init__(self, catalogue: Catalogue, seed: int) -> None:
        self.catalogue = catalogue
        self.seed = seed
        self.pools = records.make_pools(seed)
        self._years: dict[int, dict[Key, list[int]]] = {}

    def count(self, name: str, breakdown: str, period: str) -> int:
        """A calibrated monthly count: a sent indicator's value, or a record feed's row count."""
        fy = financial_year(period)
        if fy not in self._years:
            self._years[fy] = year_values(AGGREGATES | RECORD_COUNTS, self.seed, fy)
        try:
            return self._years[fy][(name, breakdown)][fy_index(period)]
        except KeyError:
            raise ValueError(f"radar.synth.calibration has no series for {name} {breakdown}".rstrip()) from None

    def rows(self, feed_id: str, period: str) -> tuple[list[str], Rows]:
        """Header and rows of the feed's file for the month, in the catalogue's order."""
        feed = self.catalogue.feed_by_id[feed_id]
        if feed.kind == "aggregate":
            return list(AGGREGATE_HEADER), [
                [period, ind.id, breakdown, str(self.count(ind.id, breakdown, period))]
                for ind in self.catalogue.sent_indicators(feed_id)
                for breakdown in self.catalogue.breakdown_values(ind) or ("",)
            ]
        header = [c.name for c in feed.columns]
        return header, [[row[name] for name in header] for row in self._records(feed_id, period)]

    def _records(self, feed_id: str, period: str) -> list[records.Row]:
        rng = rng_for(self.seed, feed_id, period)
        n = {name: self.count(name, "", period) for name in RECORD_COUNTS}
        if feed_id == "mash_contacts":
            return records.mash_contacts(period, n["mash_contacts"], n["mash_referrals"], self.pools, rng)
        if feed_id == "missing_episodes":
            return records.missing_episodes(period, n["missing_episodes"], n["rhi_offered"], n["rhi_completed"],
                                            self.pools, rng)
        if feed_id == "lado_referrals":
            return records.lado_referrals(period, n["lado_referrals"], self.pools, rng)
        raise ValueError(f"radar.synth has no generator for the record feed {feed_id}")
