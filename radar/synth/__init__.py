"""Deterministic sample data: realistic monthly feed files calibrated to the BSCP annual report 2019-20.

`generate()` writes what agencies would deliver (every feed, every month, plus
optional bad files for the rejected-files view); `BAD_FILES` describes those.
"""

from radar.synth.bad_files import BAD_FILES, BadFile
from radar.synth.generate import generate

__all__ = ["BAD_FILES", "BadFile", "generate"]
