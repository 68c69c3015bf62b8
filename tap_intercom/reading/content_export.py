"""The content data export (API-NOTES section 12) as streams message_receipts, message_events and
message_checkpoints: who received each outbound message (email, post, chat, survey, tour, series, banner, push,
SMS, WhatsApp) and what they did with it. It is the API's only source of these statistics.

Messages are exported by a job per range of send time,
  POST /export/content/data {created_at_after, created_at_before} -> GET /export/content/data/{job} until done
  -> GET /download/content/data/{job} (an archive, archives.py) -> one CSV per statistic -> records.
The API's quirks, handled here:
- one active job per workspace: another job (this app's, from a run that was killed, or another app's) gets a 429
  "Exceeded rate limit of 1 pending message data export jobs", about jobs and not the request budget (client.py
  tells them apart): waited out with a backoff, up to `content_export_max_wait_minutes` for the range in all;
- status words pending, in_progress, completed, no_data (a range without messages: empty, not an error), failed
  and canceled (the job is enqueued once more, then the streams fail with one line, their bookmark before the
  range); a completed job's download expires (two days): a 404 or 410 on the download enqueues the range again;
- "Date ranges are inclusive" whole days, and a message's later engagement only counts in a range that covers its
  send: each run exports from its bookmark less `content_export_lookback_days` to the run's start, in one job while
  the job's rows stay under Intercom's cap (the first 10 million rows only): a job that returns that many is cut
  in two on a day boundary, the second half overlapping the first by the lookback (engagement after the cut of
  messages sent before it), and both are exported (a single day over the cap cannot be cut: a warning);
- file names carry a date suffix in two forms (`open_20251121.csv`, `opens_20240625-101500.csv`): the statistic
  is the name before it, made singular; a file without a name (one gzipped CSV) is known by its header;
- files without receipt_id: `checkpoint` (series entries) is its own stream; `overview` (per-message totals and
  rates of the job's range alone: two ranges give two answers, so they cannot be upserted; message_events holds
  what they count) and `answer_combined` (the answer file pivoted, a column per question's text) are left out.
The bookmark is the end of the last range whose rows are written; a run under way keeps `export_from` (its first
unfinished range) and `export_until` in STATE, as report streams do (reporting.py), so a killed run resumes there.
"""
import collections
import logging
import re
import tempfile
import time
from dataclasses import dataclass, field
from typing import Optional

from tap_intercom.errors import ApiError, ExportError, NotFound, PendingJobsFull
from tap_intercom.reading import archives
from tap_intercom.records.output import RecordLines
from tap_intercom.records.timestamps import datetime_text, epoch_to_rfc3339
from tap_intercom.records.transform import RecordTransform
from tap_intercom.records.widening import StreamShape

LOGGER = logging.getLogger("tap_intercom")

STYLE = "content_export"  # streams.Source.style of the message streams
DAY = 86400
RUN_KEYS = ("export_from", "export_until")  # a run under way, kept in STATE beside the bookmark (state.py)
POLL_FIRST, POLL_MAX = 0.5, 60.0  # seconds between status polls, doubling while the job runs
BUSY_FIRST, BUSY_MAX = 2.0, 120.0  # seconds between tries while another job holds the workspace's one slot
MAX_EXPIRED = 3  # downloads found expired before a range gives up (each one re-exports the range)
BATCH_ROWS = 1000
ACTIVE = {"pending", "in_progress", "queued", "running", "processing"}
COMPLETE = {"completed", "complete", "success", "succeeded", "done", "finished"}
FAILED = {"failed", "failure", "error", "errored", "canceled", "cancelled", "expired"}
NO_DATA = {"no_data", "empty"}
RECEIPTS, EVENTS, CHECKPOINTS = "message_receipts", "message_events", "message_checkpoints"
# each event file's time column (section 12); a file not named here takes its first `*_at` column
EVENT_TIMES = {
    "click": "clicked_at", "open": "opened_at", "reply": "replied_at", "completion": "completed_at",
    "dismissal": "dismissed_at", "unsubscribe": "unsubscribed_at", "hard_bounce": "hard_bounced_at",
    "soft_bounce": "soft_bounced_at", "goal_success": "goal_hit_at", "reaction": "reacted_at",
    "answer": "answered_at", "series_completion": "completed_at", "series_disengagement": "disengaged_at",
    "tour_step_view": "viewed_at", "tour_step_failure": "failed_at", "fin_step_reached": "involved_at",
}
KNOWN = set(EVENT_TIMES) | {"receipt", "checkpoint", "overview", "answer_combined"}
LEFT_OUT = {"overview", "answer_combined"}
# What tells two events of a receipt at one second apart (two links clicked, two questions answered, two tour
# steps): the event's `detail`, a key column beside receipt_id, event and occurred_at. Key columns may be neither
# null nor "" (target-duckdb loads "" as null): "-" when the event has none of these.
DISTINGUISH = ("url", "step_id", "question_id")
NO_DETAIL = "-"
_SUFFIX = re.compile(r"[_-]\d{8}(?:[-_T]?\d{4,6})?$")


def statistic(name):
    """`opens_20240625-101500.csv` -> `open`: the file's statistic, without folder, date suffix or plural."""
    base = name.rsplit("/", 1)[-1].lower()
    base = _SUFFIX.sub("", base.rsplit(".", 1)[0] if "." in base else base)
    if base in KNOWN:
        return base
    words = base.split("_")
    for i in range(len(words)):  # one plural word: opens, replies, goal_successes, fin_steps_reached
        for singular in _singulars(words[i]):
            candidate = "_".join(words[:i] + [singular] + words[i + 1:])
            if candidate in KNOWN:
                return candidate
    return "_".join(words[:-1] + [next(iter(_singulars(words[-1])), words[-1])]) if words else base


def _singulars(word):
    if word.endswith("ies") and len(word) > 3:
        yield word[:-3] + "y"
    if word.endswith("es") and len(word) > 2:
        yield word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        yield word[:-1]


def _kind(name, header):
    """The statistic of one file: by its name, else (one gzipped CSV without a name) by its header."""
    if name:
        return statistic(name)
    if "received_at" in header and "receipt_id" in header:
        return "receipt"
    if "series_entry_record_id" in header:
        return "checkpoint"
    for event, column in EVENT_TIMES.items():
        if column in header and "receipt_id" in header:
            return event
    return "file"


@dataclass
class Step:
    """What the export hands the engine: lines, then (with a range's last lines) the bookmark they make safe."""
    lines: list
    records: dict = field(default_factory=dict)  # stream -> records in lines
    through: Optional[int] = None  # every row of the ranges up to here is in `lines` or before: the bookmark
    run: Optional[dict] = None  # {"export_from": first unfinished range, "export_until": the run's end}
    skipped: int = 0  # rows without their key (each an error: the run's exit is 1)
    finished: bool = False


class Export:
    """One run of the message streams: its ranges, one job at a time."""

    def __init__(self, client, config, selections, stop):
        self.client, self.config, self.stop = client, config, stop
        self.selected = {s.stream.name: s for s in selections}
        self.names = ", ".join(self.selected)
        self.shapes = {name: StreamShape(s, RecordTransform(name, s.schema, s.fields, s.metadata))
                       for name, s in self.selected.items()}
        self.encoders = {name: RecordLines(name) for name in self.selected}
        self.told = set()  # files already named in the log as left out or unknown

    def read(self, bookmarks, under_way, now):
        start, until = self._span(bookmarks, under_way, now)
        if start >= until:
            return
        ranges = collections.deque([(start, until)])
        LOGGER.info("%s: exporting messages sent from %s to %s (the content data export, one job at a time)",
                    self.names, epoch_to_rfc3339(start), epoch_to_rfc3339(until))
        yield Step([shape.message() for shape in self.shapes.values()], run={"export_from": start,
                                                                              "export_until": until})
        while ranges:
            for step in self._export(ranges.popleft(), ranges):
                if step.through is not None:  # the range is written: the run goes on from the next one
                    step.run = {"export_from": ranges[0][0] if ranges else until, "export_until": until}
                yield step
        yield Step([], through=until, finished=True)

    def _span(self, bookmarks, under_way, now):
        until = int(self.client.clock.to_server(now))  # Intercom's clock when known: no bookmark ahead of it
        resumes = [info["export_from"] for info in under_way if info and info.get("export_from") is not None]
        if resumes:  # killed or failed mid-run: from its first unfinished range, no lookback
            LOGGER.info("%s: resuming the export interrupted at %s", self.names, epoch_to_rfc3339(min(resumes)))
            return max(min(resumes), self.config.start_date), until
        if any(bookmark is None for bookmark in bookmarks):
            return self.config.start_date, until
        lookback = int(self.config.content_export_lookback_days * DAY)
        return max(min(bookmarks) - lookback, self.config.start_date), until

    # ---- one range ------------------------------------------------------------------------------------------

    def _export(self, span, ranges):
        """The Steps of one range; its last carries `through`. A range cut in two puts its halves in `ranges`."""
        tries, expired = 0, 0
        deadline = time.monotonic() + self.config.content_export_max_wait_minutes * 60
        while True:
            identifier, status, enqueued = self._job(span, deadline)
            if status == "no_data":
                LOGGER.info("%s: no message was sent from %s to %s", self.names, *map(epoch_to_rfc3339, span))
                yield Step([], through=min(span[1], enqueued))
                return
            if status == "failed":
                tries += 1
                if tries >= 2:
                    raise ExportError(f"the content data export of {span_text(span)} failed twice (job {identifier}); "
                                      f"{self.names} keep their bookmark before that range")
                LOGGER.warning("%s: the export job for %s failed (job %s); enqueuing it once more", self.names,
                               span_text(span), identifier)
                continue
            with tempfile.TemporaryFile() as spool:  # on disk: an export of any size costs no memory
                try:
                    self.client.download(f"/download/content/data/{identifier}", spool,
                                         endpoint="/download/content/data/{job_identifier}")
                except ApiError as exc:
                    if not isinstance(exc, NotFound) and exc.status != 410:
                        raise
                    expired += 1  # "Jobs expire after two days": export the range again
                    if expired > MAX_EXPIRED:
                        raise ExportError(f"the download of the content data export of {span_text(span)} was gone "
                                          f"{expired} times (job {identifier}: {exc})") from None
                    LOGGER.warning("%s: the download of job %s is gone (expired?); exporting %s again", self.names,
                                   identifier, span_text(span))
                    continue
                rows = yield from self._rows(spool, f"the download of job {identifier}")
            if rows >= self.config.content_export_max_rows and span[1] - span[0] >= DAY:
                halves = split(span, -(-int(self.config.content_export_lookback_days * DAY) // DAY) * DAY)
                LOGGER.warning("%s: the export of %s returned %d rows, Intercom's cap: it may be cut short; "
                               "exporting it again as %s and %s (overlapping by the lookback)", self.names,
                               span_text(span), rows,
                               *map(span_text, halves))
                ranges.extendleft(reversed(halves))
                return
            if rows >= self.config.content_export_max_rows:
                LOGGER.warning("%s: the export of %s returned %d rows, Intercom's cap for one job, and one day "
                               "cannot be cut: rows past the cap are not available", self.names, span_text(span), rows)
            yield Step([], through=min(span[1], enqueued))
            return

    def _job(self, span, deadline):
        """(job identifier, final status: completed, no_data or failed, Intercom's time at enqueue)."""
        body = {"created_at_after": int(span[0]), "created_at_before": int(span[1])}
        wait = BUSY_FIRST
        while True:
            self._check(deadline, span, "waiting for the workspace's one export job slot")
            try:
                answer = self.client.post("/export/content/data", body)
                break
            except PendingJobsFull:  # another job, ours from a killed run or another app's: it will end
                LOGGER.info("%s: another content data export job is active in the workspace (Intercom allows "
                            "one); trying again in %.0f s", self.names, wait)
                self.stop.wait(min(wait, max(deadline - time.monotonic(), 0)))
                wait = min(wait * 2, BUSY_MAX)
        enqueued = int(self.client.clock.to_server(time.time()))
        identifier = str((answer or {}).get("job_identifier") or (answer or {}).get("job_identfier") or "")
        if not identifier:
            raise ExportError(f"{self.names}: the export job was created without a job_identifier")
        status, delay = _word(answer), POLL_FIRST
        try:
            while status == "active":
                self._check(deadline, span, f"job {identifier} still running")
                self.stop.wait(delay)
                delay = min(delay * 2, POLL_MAX)
                self._check(deadline, span, f"job {identifier} still running")
                try:
                    answer = self.client.get(f"/export/content/data/{identifier}",
                                             endpoint="/export/content/data/{job_identifier}")
                except NotFound:  # lost on Intercom's side: counts as a failed try
                    return identifier, "failed", enqueued
                status = _word(answer)
        except ExportError:
            if self.stop.is_set():
                self._cancel(identifier)
            raise
        return identifier, status, enqueued

    def _check(self, deadline, span, doing):
        if self.stop.is_set():
            raise ExportError(f"{self.names}: stopped while exporting {span_text(span)}")
        if time.monotonic() >= deadline:
            raise ExportError(f"the content data export of {span_text(span)} did not finish within "
                              f"content_export_max_wait_minutes ({self.config.content_export_max_wait_minutes:g}: "
                              f"{doing}); {self.names} keep their bookmark before that range")

    def _cancel(self, identifier):
        """A run being stopped frees the workspace's one slot (best effort: the process may end first)."""
        try:
            self.client.post(f"/export/cancel/{identifier}", {}, endpoint="/export/cancel/{job_identifier}")
        except ApiError:
            pass

    # ---- rows -----------------------------------------------------------------------------------------------

    def _rows(self, spool, where):
        """Steps with the archive's rows; returns how many rows the files held (the cap counts them all)."""
        lines, counts, total, skipped = [], collections.Counter(), 0, 0
        extracted = epoch_to_rfc3339(int(time.time())).encode()
        for name, header, rows in archives.tables(spool, where):
            kind = _kind(name, header)
            stream, convert = self._file(kind, name, header)
            for row in rows:
                total += 1
                if convert is None:
                    continue
                record = convert(row)
                if record is None:
                    skipped += 1
                    continue
                # a column the schema lacks is declared first (widening.py)
                errors = self.shapes[stream].emit((record,), lines, self.encoders[stream], extracted)
                if errors:
                    LOGGER.error("%s; the row is skipped", errors[0])
                    skipped += 1
                    continue
                counts[stream] += 1
                if len(lines) >= BATCH_ROWS:
                    yield Step(lines, dict(counts))
                    lines, counts = [], collections.Counter()
        if skipped:
            LOGGER.error("%s: %d row(s) without receipt_id or their time were skipped (%s)", self.names, skipped, where)
        yield Step(lines, dict(counts), skipped=skipped)
        return total

    def _file(self, kind, name, header):
        """(stream, row -> record or None) for one file; (None, None) when no selected stream takes it."""
        label = name or kind
        if kind in LEFT_OUT:
            self._tell(kind, "%s: %s is left out: it has no receipt_id (message_events holds what it counts)",
                       self.names, label)
            return None, None
        if kind == "receipt":
            return (RECEIPTS, _receipt_converter(header)) if RECEIPTS in self.selected else (None, None)
        if kind == "checkpoint":
            return (CHECKPOINTS, _plain_converter(header, ("series_entry_record_id", "ruleset_id"))) \
                if CHECKPOINTS in self.selected else (None, None)
        time_column = EVENT_TIMES.get(kind) or next((c for c in header if c.endswith("_at")), None)
        if "receipt_id" not in header or time_column not in header:
            self._tell(label, "%s: %s is left out: it has no receipt_id or no time column (%s)", self.names, label,
                       ", ".join(header[:8]))
            return None, None
        if kind not in EVENT_TIMES:
            self._tell(label, "%s: %s is a statistic the tap does not know: its rows go to message_events as "
                              "event %r", self.names, label, kind)
        return (EVENTS, _event_converter(kind, header, time_column)) if EVENTS in self.selected else (None, None)

    def _tell(self, key, *message):
        if key not in self.told:
            self.told.add(key)
            LOGGER.info(*message)


def _word(answer):
    status = str((answer or {}).get("status") or "pending").lower()
    if status in COMPLETE:
        return "completed"
    if status in NO_DATA:
        return "no_data"
    return "failed" if status in FAILED else "active"


def _times(header):
    """Columns whose values are times: `*_at` and `first_*` (the schemas type the known ones; new ones too)."""
    return {i for i, column in enumerate(header) if column.endswith("_at") or column.startswith("first_")}


def _typed(value):
    text = datetime_text(value)
    return text if text is not None else value


def _receipt_converter(header):
    return _plain_converter(header, ("receipt_id",))


def _plain_converter(header, key):
    times = _times(header)
    width = len(header)

    def convert(row):
        record = {}
        for i, value in enumerate(row[:width]):
            if value != "":
                record[header[i]] = _typed(value) if i in times else value
        return record if all(record.get(k) for k in key) else None
    return convert


def _event_converter(event, header, time_column):
    times = _times(header)
    width = len(header)
    at = header.index(time_column)

    def convert(row):
        record = {"event": event}
        for i, value in enumerate(row[:width]):
            if i == at:
                record["occurred_at"] = _typed(value) if value != "" else None
            elif value != "":
                record[header[i]] = _typed(value) if i in times else value
        record["detail"] = " ".join(record[c] for c in DISTINGUISH if c in record) or NO_DETAIL
        return record if record.get("receipt_id") and record.get("occurred_at") else None
    return convert


def split(span, overlap=0):
    """Two ranges covering `span`, cut on the day boundary nearest its middle. The second begins `overlap` seconds
    before the cut (at most all but the first day): a message's engagement only counts in a range that covers its
    send, so the messages sent in the overlap get the engagement after the cut from the second range."""
    start, end = span
    middle = start + (end - start) // 2
    cut = max(middle - middle % DAY, start - start % DAY + DAY)
    return (start, cut - 1), (max(cut - overlap, min(cut, start - start % DAY + DAY)), end)


def span_text(span):
    return f"{epoch_to_rfc3339(span[0])} to {epoch_to_rfc3339(span[1])}"


def read(client, config, selections, state, stop, now):
    """The Steps of the message streams (one source: one job exports them all)."""
    names = [s.stream.name for s in selections]
    export = Export(client, config, selections, stop)
    return export.read([state.bookmark(name) for name in names], [state.passes.get(name) for name in names], now)
