"""The engine: the composition of a sync (sync.py), reconciliation passes, progress lines and signals.
Imports the lower layers (records, http, reading), errors and config; never the edges above it."""
