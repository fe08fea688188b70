"""Disclosure control for published outputs, following the DfE convention: a count from 1 to 5 is shown as `c`,
and so is any other cell from which a hidden count could be recovered by subtraction from a shown total.

Pure, and applied to a copy: the internal Board pack is never altered.
"""

from __future__ import annotations

from collections.abc import Sequence

SUPPRESSED = "c"
LOW, HIGH = 1, 5


def suppress_parts(parts: Sequence[int | None], total: int | None) -> tuple[list[str], str]:
    """(the parts as published, the total as published) for counts that add up to `total`.

    Primary: every part from 1 to 5 (and a total from 1 to 5) becomes `c`.
    Secondary: if exactly one part is hidden and the total is shown, the
    smallest other shown part is hidden too, because one hidden part would
    be the total less the others.  Zero is shown (it discloses nothing about a
    child); None (no figure) is shown as `x`, the DfE symbol for not available.
    """
    hidden = [p is not None and LOW <= p <= HIGH for p in parts]
    total_hidden = total is not None and LOW <= total <= HIGH
    if total_hidden:
        hidden = [p is not None and p > 0 for p in parts]
    elif total is not None and sum(hidden) == 1:
        shown = [(p, n) for n, p in enumerate(parts) if not hidden[n] and p is not None and p > 0]
        if shown:
            hidden[min(shown)[1]] = True
    published = [SUPPRESSED if h else ("x" if p is None else f"{p:,}") for p, h in zip(parts, hidden, strict=True)]
    return published, SUPPRESSED if total_hidden else ("x" if total is None else f"{total:,}")
