"""What the strategic threat assessment reads from the store, in one place for the CLI, the Board pack and the dashboard.

Only reads, on one connection (a store whose register the cycle has not yet
loaded shows none): the scoring itself is radar.pipelines.threats, which turns these
plain frames and rows into a ranked assessment.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, and_, select

from radar.core.config import PartnershipConfig
from radar.models import alerts, submissions
from radar.models import benchmarks as benchmark_store
from radar.models import register as register_store
from radar.models.bulk import read_frame
from radar.models.charts import SeriesStatus, read_early_warning
from radar.models.indicators import IndicatorValue
from radar.models.register import Risk, RiskAssessment, RiskEvidence

SERIES_SCHEMA = {"indicator": pl.String, "latest_period": pl.String, "latest_value": pl.Float64,
                 "variation": pl.String}
REPORTED_SCHEMA = SERIES_SCHEMA | {"reported_value": pl.Float64}  # latest_value is the charted (adjusted) figure


def read_sources(conn: Connection, config: PartnershipConfig) -> dict:
    """The series' latest readings (totals: the charted figure and the one reported that month), every alert,
    the register, every re-score, each risk added after the register was loaded (with its first score), the
    severity each alert had when attached to a risk, the submissions, and what the comparison with England,
    the region and statistical neighbours is made from."""
    la_code = config.partnership.la_code
    series = SeriesStatus.__table__
    risk, assessment, evidence = Risk.__table__, RiskAssessment.__table__, RiskEvidence.__table__
    risks = register_store.read_risks(conn, la_code) if config.risk_register is not None else []
    rows = conn.execute(select(risk.c.risk_id, assessment.c.kind, assessment.c.assessed_on, assessment.c.by,
                               assessment.c.likelihood, assessment.c.impact)
                        .join(risk, risk.c.id == assessment.c.risk)
                        .where(risk.c.la_code == la_code).order_by(risk.c.risk_id, assessment.c.id)).all()
    attached = conn.execute(select(evidence.c.alert_key, evidence.c.severity, evidence.c.at)
                            .join(risk, risk.c.id == evidence.c.risk).where(risk.c.la_code == la_code)
                            .order_by(evidence.c.id)).all()
    comparison = benchmark_store.comparison_inputs(conn, la_code, config.partnership.old_la_code,
                                                   config.neighbours_path())
    value = IndicatorValue.__table__
    reported = and_(value.c.la_code == series.c.la_code, value.c.indicator == series.c.indicator,
                    value.c.breakdown == "", value.c.period == series.c.latest_period)
    latest = read_frame(conn, select(*(series.c[c] for c in SERIES_SCHEMA), value.c.value.label("reported_value"))
                        .select_from(series.outerjoin(value, reported))
                        .where(series.c.la_code == la_code, series.c.breakdown == ""), REPORTED_SCHEMA)
    early = read_early_warning(conn, la_code).filter(pl.col("breakdown") == "").select(
        "indicator", early_flag="flag", early_since="since")
    latest = latest.join(early, on="indicator", how="left")
    changes, added, previous = [], [], {}
    for r in rows:
        before = previous.get(r.risk_id)
        if before is None and r.kind == "added":  # "loaded": from the register file when the store was set up
            added.append({"risk": r.risk_id, "on": r.assessed_on, "by": r.by, "score": [r.likelihood, r.impact]})
        if before is not None:
            changes.append({"risk": r.risk_id, "on": r.assessed_on, "by": r.by, "from": before,
                            "to": [r.likelihood, r.impact]})
        previous[r.risk_id] = [r.likelihood, r.impact]
    return {
        "series": latest, "alerts": alerts.alerts(conn, la_code), "risks": risks, "score_changes": changes,
        "risks_added": added,
        "attached": [{"alert_key": a.alert_key, "severity": a.severity, "at": a.at} for a in attached],
        "submissions": submissions.submissions(conn, la_code),
        "comparison": comparison,  # benchmark_comparison's arguments: the assessment compares at its month
    }
