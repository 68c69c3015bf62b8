"""Reading Intercom: one pager per pagination style, search windows, read-ahead, per-record fetches,
owed re-fetches, sources of later API versions, export jobs. Imports errors, config, records and http
only (never the engine or the declarations)."""
