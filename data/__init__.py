"""Public statistics shipped with Radar (see README.md here for each file's source and licence).

A package so that `pip install .` carries the files; `radar.core.config`
resolves a configured `data:NAME` path to this folder.
"""
