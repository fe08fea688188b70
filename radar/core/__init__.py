"""Radar's ground floor: the catalogue of feeds and indicators, the partnership config, alert and SPC
settings, and month arithmetic.  It imports nothing else of Radar's, so every layer above can use it."""
