"""An action refused before anything was written, with every reason at once."""

from __future__ import annotations

from collections.abc import Iterable

from radar.models.register import RegisterRefusal


class Refused(RegisterRefusal):
    """Nothing was saved, for the reasons in `problems`.

    A RegisterRefusal, so whatever catches the register's own refusals (an
    edit of a version someone else changed meanwhile) catches these too.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = [p.rstrip(".") for p in problems]
        super().__init__("Nothing was saved: " + "; ".join(self.problems) + ".")


def refuse_if(problems: Iterable[str]) -> None:
    """Refuse, naming every problem, when there is any."""
    problems = list(problems)
    if problems:
        raise Refused(problems)
