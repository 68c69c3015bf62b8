"""Turning Intercom's JSON into Singer lines: JSON codec and time formats, the compiled transform,
custom attribute types, schema widening, link rows, RECORD/SCHEMA/STATE lines, table versions. The lowest
layer: imports tap_intercom.errors and tap_intercom.config only."""
