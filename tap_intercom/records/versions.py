"""Table versions, the Singer protocol's way of removing what the source no longer has.

RECORDs of one complete read of a stream carry the same `version`; ACTIVATE_VERSION, sent once that read has
reached its end, tells the target that this version is now the table: a target honouring it (e.g.
meltanolabs-target-postgres) deletes, or marks deleted, the rows of older versions and of none. Targets that
ignore it (pipelinewise-target-postgres, target-duckdb, target-jsonl) upsert the records as before.

No ACTIVATE_VERSION is sent before the first records (as some taps do for a new table): on a table written by
an earlier release of this tap it would empty the table until the read ends.
"""
import time

from tap_intercom.records.output import dumps


def new_version():
    """Milliseconds since the epoch: a later read always has a greater version."""
    return int(time.time() * 1000)


def activate_version_message(stream_name, version):
    return dumps({"type": "ACTIVATE_VERSION", "stream": stream_name, "version": version}) + b"\n"
