"""Per-record fetches owed to the next runs: a conversation's or ticket's parts, its handling events, a contact's long
tag/company/note lists.

When such a fetch keeps failing after its retries, or answers 404 for a record that may still exist (Intercom
sometimes answers 404 for a moment, and a conversation deleted since the search answers 404 too), the record
itself is still written and its bookmark still moves: one bad record must not hold back its stream. What is
missing is kept in STATE under "owed" and fetched again first by the next runs, with a warning each time; it is
settled when a run gets it, or when Intercom confirms the record was deleted (conversations), and given up (with a
warning) after it failed in MAX_RUNS runs. The list is bounded: past MAX_OWED the stream owing one more stops for
the run (its bookmark stays behind), the others go on.

A failure is only owed once its endpoint is known to answer (record_fetches.Endpoints): one that no record got an
answer from is not one record's trouble but the endpoint's. Refused for every record (403, 400 "not available",
404 for the first 3 asked), its child streams are skipped and nothing is owed; failing for every record, they stop
and nothing is owed either. Neither loses anything, because bookmarks are per stream, not per source: STATE holds
one for conversations and one for conversation_parts, though both are read from one conversation search. A child
that stopped keeps its own bookmark where its last good run left it, while its parent's and its siblings' move;
the next run reads the source from the oldest bookmark of its streams (sync.py `_read_source`) and fetches the
child again for every record past the child's own bookmark. Until its endpoint is known, a child's failures are
held and its bookmark does not move past them, so a run killed meanwhile owes nothing it could lose.

In STATE: "owed": [{"stream": "conversation_parts", "id": "123", "runs": 1}, ...] (empty when nothing is owed).
"""
import logging
import threading

from tap_intercom.reading.deleted_conversations import deleted_conversation
from tap_intercom.errors import ApiError, ConfigError, NotFound
from tap_intercom.reading.newer import merged

LOGGER = logging.getLogger("tap_intercom")

MAX_OWED = 100
MAX_RUNS = 3


class Owed:
    """The owed fetches: read from STATE, changed by the engine's main thread only, written with STATE."""

    def __init__(self, entries=()):
        self._runs = {(entry["stream"], entry["id"]): entry["runs"] for entry in entries}  # -> runs it failed in
        self._counted = set()  # keys whose failure in this run is already counted
        self._lock = threading.Lock()
        self._reserved = len(self._runs)  # producers reserve room before writing a record that owes a fetch

    @staticmethod
    def parse(raw, all_streams):
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise ConfigError("state: \"owed\" must be a list of {\"stream\", \"id\", \"runs\"}")
        entries = []
        for entry in raw:
            if not (isinstance(entry, dict) and entry.get("stream") in all_streams and isinstance(entry.get("id"), str)
                    and type(entry.get("runs")) is int and entry["runs"] >= 1):
                raise ConfigError(f"state: owed entry {entry!r} is not {{\"stream\": <stream>, \"id\": <text>, "
                                  "\"runs\": <count>}}")
            entries.append(entry)
        return entries

    def __len__(self):
        return len(self._runs)

    def of(self, stream_names):
        """{record id: [streams owed]} for the given streams, with each entry's failed runs so far."""
        found = {}
        for (stream, record_id), runs in sorted(self._runs.items()):
            if stream in stream_names:
                found.setdefault(record_id, []).append((stream, runs))
        return found

    def keep_only(self, stream_names):
        """Drop what is owed to streams no longer selected: no run would settle it."""
        for stream, record_id in [key for key in self._runs if key[0] not in stream_names]:
            del self._runs[(stream, record_id)]
            LOGGER.warning("%s is not selected: dropping its owed fetch for record %s", stream, record_id)
        self._reserved = len(self._runs)

    def drop(self, stream):
        """Forget what is owed to a stream skipped for the run (Intercom refuses what it needs): as for a stream
        not selected, no run like this one would settle it."""
        dropped = [key for key in self._runs if key[0] == stream]
        for key in dropped:
            del self._runs[key]
        if dropped:
            LOGGER.warning("%s is skipped: dropping its %d owed fetch(es)", stream, len(dropped))
            with self._lock:
                self._reserved -= len(dropped)

    def reserve(self):
        """Room for one more owed fetch (any producer thread); False when the list is full."""
        with self._lock:
            if self._reserved >= MAX_OWED:
                return False
            self._reserved += 1
            return True

    def apply(self, events):
        """A batch's events, once its lines are written: (stream, record id, reason, or None when settled)."""
        for stream, record_id, reason in events:
            if reason is None:
                self.settled(stream, record_id)
            else:
                self.failed(stream, record_id, reason)

    def failed(self, stream, record_id, reason):
        key = (stream, record_id)
        runs = self._runs.get(key, 0)
        if key not in self._counted:
            runs += 1
            self._counted.add(key)
        if runs >= MAX_RUNS:
            self._runs.pop(key, None)
            LOGGER.warning("%s: giving up the fetch for record %s after it failed in %d runs (%s)", stream,
                           record_id, runs, reason)
            return
        self._runs[key] = runs
        LOGGER.warning("%s: the fetch for record %s failed (%s); the record is written without it and the next "
                       "run retries it (failed in %d of %d runs)", stream, record_id, reason, runs, MAX_RUNS)

    def settled(self, stream, record_id):
        if self._runs.pop((stream, record_id), None) is not None:
            LOGGER.info("%s: the owed fetch for record %s is done", stream, record_id)

    def value(self):
        return [{"stream": stream, "id": record_id, "runs": runs}
                for (stream, record_id), runs in sorted(self._runs.items())]


def refetch(client, source, names, owed_at_start):
    """The records of this source that owe a fetch, read again by id: ([records], [(stream, id, reason or None
    when settled)]); `owed_at_start` is `Owed.of` taken when the run began."""
    records, events = [], []
    for record_id, owed in owed_at_start.items():
        streams = [stream for stream, _ in owed if stream in names]
        if not streams or not source.record_path:
            continue
        LOGGER.warning("%s: retrying the owed fetch for record %s (it failed in %d run(s) so far)",
                       ", ".join(streams), record_id, max(runs for _, runs in owed))
        try:
            records.append(client.get(source.record_path.format(id=record_id), endpoint=source.record_path))
        except ApiError as exc:
            if exc.status == 401:
                raise
            if merged(exc, record_id, "what it owed"):
                events += [(stream, record_id, None) for stream in streams]
                continue
            if isinstance(exc, NotFound) and source.name == "conversations" and \
                    deleted_conversation(client, record_id):
                LOGGER.warning("%s: Intercom confirms conversation %s was deleted; nothing is owed for it any "
                               "more", ", ".join(streams), record_id)
                events += [(stream, record_id, None) for stream in streams]
                continue
            events += [(stream, record_id, str(exc)) for stream in streams]
    return records, events
