"""The Reporting Data Export (API 2.14+) as streams report_<dataset id>: Intercom's own report numbers.

A dataset is not paged: it is exported by a job per time window,
  POST /export/reporting_data/enqueue -> GET /export/reporting_data/{job} until complete
  -> GET /download/reporting_data/{job} (a file) -> CSV rows -> typed records.
The API's quirks, handled here:
- at most 5 jobs may be pending per workspace: the 6th enqueue gets a 429 that is about jobs, not the request
  budget (client.py tells them apart); the tap keeps at most 5 pending across its report streams and waits on
  that 429 (another app's jobs) rather than failing;
- the download's format is documented loosely ("compressed files (.tgz format)"; clients in the wild read one
  CSV, some after gunzip): plain CSV, gzip and tar.gz of CSVs are told apart by their first bytes;
- columns are named by attribute id, custom attributes by their display name, names may repeat, team and
  teammate columns get `*_raw_id` columns beside them, cells are text and times are in the workspace's timezone;
- 2.16 lists a `qualified_id` per attribute, which enqueue wants (2.17 requires it); the conversation dataset
  of 2.16 also has conversations that never got a user reply, so every call here is made with 2.16 or later;
- the window selects rows by the dataset's default time attribute, but a row describes current state (a reopened
  conversation changes its row): each run re-exports `reporting_lookback_days` behind the bookmark.
The bookmark is the end of the last window whose rows are written (it only moves forward). A run under way keeps
`export_from` (its first unfinished window) and `export_until` (its end) beside it in STATE, so a killed or failed
run resumes at its first unfinished window, even inside the lookback, and no re-export it owed is skipped.
"""
import codecs
import collections
import csv
import datetime
import gzip
import hashlib
import io
import json
import logging
import re
import tarfile
import tempfile
import threading
import time
import zoneinfo
from dataclasses import dataclass, field
from typing import Optional

from tap_intercom.errors import ApiError, NotFound, PendingJobsFull
from tap_intercom.records.output import RecordLines, schema_message
from tap_intercom.records.timestamps import epoch_to_rfc3339

LOGGER = logging.getLogger("tap_intercom")

PREFIX = "report_"
STYLE = "export"  # streams.Source.style of a report stream
MIN_VERSION = (2, 16)  # qualified ids, and the conversation dataset with every conversation
MAX_PENDING = 5  # Intercom's limit of pending export jobs per workspace
RETENTION = 730 * 86400  # start_time must lie within the workspace's retention (2 years by default)
POLL_FIRST, POLL_MAX = 0.5, 30.0  # seconds between status polls, doubling while nothing changes
BATCH_ROWS = 1000  # records per batch handed to the engine; a window's bookmark moves with its last batch
HASH_KEY = "_row_hash"  # the key of a dataset without an id column
TEXT_SUFFIX = "__text"  # beside a typed column: its values that are not of its type
RUN_KEYS = ("export_from", "export_until")  # a run under way, kept in STATE beside the bookmark
# A job's status: the spec shows "pending", "complete" and "failed"; kin words are read the same way.
COMPLETE = {"complete", "completed", "success", "succeeded", "done", "finished"}
FAILED = {"failed", "failure", "error", "errored", "canceled", "cancelled", "expired"}

# Keys per dataset (README: "Reports: Intercom's own numbers"): a dataset's own id column; a state log's id and
# start time. Others: `<dataset id>_id` when it is an attribute, else a hash of the row (HASH_KEY).
KEYS = {
    "conversation": ("conversation_id",),
    "conversation_state": ("conversation_id", "state_started_at"),
    "admin_status_change": ("teammate_id", "status_started_at"),
    "ticket": ("ticket_id",),
    "ticket_state": ("ticket_id", "state_started_at"),
}
_TIME_NAME = re.compile(r"(_at|_date|_timestamp)$|^(date|timestamp)$")
_NUMBER_NAME = re.compile(r"count|number_of|seconds|minutes|duration|time_to_|_time$|_rating$|_score$")
_LOCAL_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?)?$")
_SLOTS = threading.BoundedSemaphore(MAX_PENDING)  # this process's pending jobs, all report streams together


class ExportError(ApiError):
    """An export that cannot be read: a failed job (after its retry), a download in no known format."""


def version_for(configured):
    """The Intercom-Version of the export calls: the configured one when it is 2.16 or later."""
    major, _, minor = configured.partition(".")
    if major.isdigit() and minor.isdigit() and (int(major), int(minor)) < MIN_VERSION:
        return "%d.%d" % MIN_VERSION
    return configured


def is_report(name):
    return isinstance(name, str) and name.startswith(PREFIX)


# ---- discovery --------------------------------------------------------------------------------------------

def column_type(attribute):
    """A column's JSON schema from its attribute's names alone (the API documents no types). A value the guess
    cannot hold goes to a text column beside it (see Columns.widen): no value is lost."""
    ident = str(attribute.get("id") or "").lower()
    qualified = str(attribute.get("qualified_id") or "").lower()
    if qualified.startswith("timestamp.") or _TIME_NAME.search(ident):
        return {"type": ["null", "string"], "format": "date-time"}
    if _NUMBER_NAME.search(ident):
        return {"type": ["null", "number"]}
    return {"type": ["null", "string"]}


def columns_of(dataset):
    """[(column name, attribute)]: named by attribute id; a repeated id (the same name in two namespaces) by its
    qualified_id, else with a numeric suffix."""
    out, seen = [], set()
    for attribute in dataset.get("attributes") or []:
        if not isinstance(attribute, dict) or not attribute.get("id"):
            continue
        name = str(attribute["id"])
        if name in seen:
            name = str(attribute.get("qualified_id") or name)
        base, n = name, 2
        while name in seen:
            name, n = f"{base}__{n}", n + 1
        seen.add(name)
        out.append((name, attribute))
    return out


def key_of(dataset, columns):
    names = [name for name, _ in columns]
    key = KEYS.get(dataset["id"])
    if key and all(column in names for column in key):
        return key
    if f"{dataset['id']}_id" in names:
        return (f"{dataset['id']}_id",)
    return (HASH_KEY,)


def catalog_entries(client, config):
    """Catalog entries of the configured datasets, from GET /export/reporting_data/get_datasets."""
    try:
        listed = client.get("/export/reporting_data/get_datasets", version=version_for(config.api_version))
    except ApiError as exc:
        if exc.status == 401:
            raise
        LOGGER.warning("reporting_datasets: cannot list the workspace's datasets (%s); no report stream", exc)
        return []
    datasets = {str(d["id"]): d for d in (listed or {}).get("data") or [] if isinstance(d, dict) and d.get("id")}
    wanted = list(datasets) if "*" in config.reporting_datasets else list(config.reporting_datasets)
    missing = [name for name in wanted if name not in datasets]
    if missing:
        LOGGER.warning("reporting_datasets: the workspace lists no dataset %s (it lists: %s)", ", ".join(missing),
                       ", ".join(datasets) or "none")
    return [_entry(datasets[name]) for name in wanted if name in datasets]


def _entry(dataset):
    columns = columns_of(dataset)
    key = key_of(dataset, columns)
    properties = {HASH_KEY: {"type": ["string"]}} if key == (HASH_KEY,) else {}
    properties.update({name: column_type(attribute) for name, attribute in columns})
    time_column = next((name for name, attribute in columns
                        if attribute.get("id") == dataset.get("default_time_attribute_id")), None)
    for name in key:
        if name != HASH_KEY and "null" in properties[name]["type"]:
            properties[name] = {**properties[name], "type": [t for t in properties[name]["type"] if t != "null"]}
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    name = PREFIX + dataset["id"]
    automatic = set(key) | ({time_column} if time_column else set())
    top = {"table-key-properties": list(key), "forced-replication-method": "INCREMENTAL", "inclusion": "available",
           "selected-by-default": True, "intercom-dataset": dataset["id"],
           "intercom-time-attribute": dataset.get("default_time_attribute_id")}
    if time_column:
        top["valid-replication-keys"] = [time_column]
    metadata = [{"breadcrumb": [], "metadata": top}]
    attributes = dict(columns)
    for column in properties:
        item = {"inclusion": "automatic" if column in automatic else "available", "selected-by-default": True}
        if column in attributes:
            item["intercom-attribute"] = {k: attributes[column][k] for k in ("id", "qualified_id", "name")
                                          if attributes[column].get(k) is not None}
        metadata.append({"breadcrumb": ["properties", column], "metadata": item})
    entry = {"tap_stream_id": name, "stream": name, "key_properties": list(key), "schema": schema,
             "metadata": metadata, "replication_method": "INCREMENTAL"}
    if time_column:
        entry["replication_key"] = time_column
    return entry


# ---- reading ----------------------------------------------------------------------------------------------

@dataclass
class Step:
    """What a report stream hands the engine: lines, then (with a window's last lines) its new bookmark."""
    lines: list
    records: int = 0
    through: Optional[int] = None  # every row of the windows up to here is in `lines` or before: the bookmark
    run: Optional[dict] = None  # the run under way: {"export_from": its first unfinished window, "export_until"}
    skipped: int = 0  # rows without their key, skipped (each one an error: the run's exit is 1)
    finished: bool = False  # the run reached its end: the marks above are cleared


@dataclass
class Job:
    window: tuple
    identifier: str = ""
    status: str = "pending"
    tries: int = 1
    holds_slot: bool = False


@dataclass
class Export:
    """One report stream's run: its windows, its jobs, its columns."""
    client: object
    config: object
    selection: object
    stop: object
    version: str = ""
    windows: collections.deque = field(default_factory=collections.deque)
    jobs: collections.deque = field(default_factory=collections.deque)

    def read(self, bookmark, under_way, now):
        stream = self.selection.stream
        self.version = version_for(self.config.api_version)
        start, until = self._span(bookmark, under_way or {}, now)
        if start >= until:
            return
        step = max(int(self.config.reporting_window_days * 86400), 3600)  # a day by default: small jobs and files
        self.windows.extend((t, min(t + step, until)) for t in range(start, until, step))
        LOGGER.info("%s: exporting %s to %s in %d job(s) of up to %g day(s)", stream.name, epoch_to_rfc3339(start),
                    epoch_to_rfc3339(until), len(self.windows), step / 86400)
        self.columns = Columns(self.selection, self.config.workspace_timezone)
        self.encoder = RecordLines(stream.name)
        yield Step([self.columns.schema_line()], run={"export_from": start, "export_until": until})
        try:
            while (self.windows or self.jobs) and not self.stop.is_set():
                self._enqueue_ahead()
                if not self.jobs:
                    break
                job = self._wait_for_head()
                for step in self._emit(job):
                    if step.through is not None:
                        step.run = {"export_from": step.through, "export_until": until}
                    yield step
            yield Step([], through=until, finished=True)
        finally:
            for job in self.jobs:
                self._release(job)

    def _span(self, bookmark, under_way, now):
        until = int(now)
        floor = max(self.config.start_date, until - RETENTION)
        resume = under_way.get("export_from")
        if resume is not None:  # killed or failed mid-run: from its first unfinished window, no lookback
            LOGGER.info("%s: resuming the export interrupted at %s", self.selection.stream.name,
                        epoch_to_rfc3339(resume))
            return max(resume, floor), until
        if bookmark is None:
            return floor, until
        return max(int(bookmark - self.config.reporting_lookback_days * 86400), floor), until

    # ---- jobs ---------------------------------------------------------------------------------------------

    def _enqueue_ahead(self):
        """Start jobs for the next windows while a slot is free; wait for one only when none is pending."""
        waited = 0.0
        while self.windows and not self.stop.is_set():
            if not _SLOTS.acquire(timeout=1.0 if not self.jobs else 0):
                if self.jobs:
                    return
                continue
            window = self.windows[0]
            try:
                job = self._start(Job(window, holds_slot=True))
            except PendingJobsFull:
                _SLOTS.release()
                if self.jobs:  # ours will finish: poll them meanwhile
                    return
                delay = min(max(2 * waited, 1.0), POLL_MAX)
                LOGGER.info("%s: %d export jobs already pending in the workspace (Intercom's limit); waiting "
                            "%.0f s for one to finish", self.selection.stream.name, MAX_PENDING, delay)
                self._sleep(delay)
                waited = delay
                continue
            except BaseException:
                _SLOTS.release()
                raise
            self.windows.popleft()
            self.jobs.append(job)

    def _start(self, job):
        body = {"dataset_id": self.selection.stream.source.path, "attribute_ids": self.columns.attribute_ids(),
                "start_time": job.window[0], "end_time": job.window[1]}
        answer = self.client.post("/export/reporting_data/enqueue", body, version=self.version)
        job.identifier = str((answer or {}).get("job_identifier") or "")
        if not job.identifier:
            raise ExportError(f"{self.selection.stream.name}: enqueue answered without a job_identifier")
        return job

    def _wait_for_head(self):
        """Poll the pending jobs, backing off while none changes, until the first window's job is complete."""
        delay = POLL_FIRST
        while True:
            if self.stop.is_set():  # the engine is ending the run
                raise ExportError(f"{self.selection.stream.name}: stopped while its export jobs ran")
            changed = False
            for job in list(self.jobs):
                if job.status != "pending":
                    continue
                job.status = self._status(job)
                if job.status != "pending":
                    changed = True
                    self._release(job)
                if job.status == "failed":
                    self._failed(job)
            head = self.jobs[0]
            if head.status == "complete":
                return self.jobs.popleft()
            if changed:
                self._enqueue_ahead()
                delay = POLL_FIRST
                continue
            self._sleep(delay)
            delay = min(delay * 2, POLL_MAX)

    def _status(self, job):
        try:
            answer = self.client.get(f"/export/reporting_data/{job.identifier}",
                                     endpoint="/export/reporting_data/{job_identifier}", version=self.version)
        except NotFound:  # expired or lost on Intercom's side: counts as a failed try
            return "failed"
        status = str((answer or {}).get("status") or "pending").lower()
        if status in COMPLETE:
            return "complete"
        return "failed" if status in FAILED else "pending"

    def _failed(self, job):
        start, end = (epoch_to_rfc3339(t) for t in job.window)
        if job.tries >= 2:
            raise ExportError(f"the export job of {self.selection.stream.name} for {start} to {end} failed twice "
                              f"(job {job.identifier}); its bookmark stays before that window")
        LOGGER.warning("%s: the export job for %s to %s failed (job %s); enqueuing it once more",
                       self.selection.stream.name, start, end, job.identifier)
        while not _SLOTS.acquire(timeout=1.0):
            if self.stop.is_set():
                raise ExportError(f"{self.selection.stream.name}: stopped")
        job.holds_slot = True
        while True:
            try:
                self._start(job)
                break
            except PendingJobsFull:  # another app's jobs: wait, never fail on it
                self._sleep(POLL_FIRST * 4)
            except BaseException:
                self._release(job)
                raise
        job.status, job.tries = "pending", job.tries + 1

    def _release(self, job):
        if job.holds_slot:
            job.holds_slot = False
            _SLOTS.release()

    def _sleep(self, seconds):
        self.stop.wait(seconds)

    # ---- rows ---------------------------------------------------------------------------------------------

    def _emit(self, job):
        name = self.selection.stream.name
        with tempfile.TemporaryFile() as spool:  # on disk: an export of any size costs no memory
            self.client.download(f"/download/reporting_data/{job.identifier}", spool,
                                 endpoint="/download/reporting_data/{job_identifier}", version=self.version)
            where = f"{name}: the download of job {job.identifier}"
            if self.columns.widen(csv_files(spool, where), where):  # a value its guessed type cannot hold
                yield Step([self.columns.schema_line()])
            lines, extracted, skipped = [], epoch_to_rfc3339(int(time.time())).encode(), 0
            for header, rows in csv_files(spool, where):
                convert = self.columns.converter(header, where)
                for row in rows:
                    record = convert(row)
                    if record is None:
                        skipped += 1
                        continue
                    lines.append(self.encoder.line(record, extracted))
                    if len(lines) >= BATCH_ROWS:
                        yield Step(lines, len(lines))
                        lines = []
        yield Step(lines, len(lines), through=job.window[1], skipped=skipped)


# ---- the file -----------------------------------------------------------------------------------------------

def csv_files(spool, where):
    """[(header, rows)] of a downloaded export, read as it streams from `spool`: plain CSV, gzip of a CSV, or a
    (gzipped) tar of CSVs, told apart by their first bytes. Anything else raises ExportError."""
    spool.seek(0)
    head = spool.read(512)
    spool.seek(0)
    if not head:
        return  # nothing exported (a window without rows)
    if head[:2] == b"\x1f\x8b":
        try:
            inner = gzip.GzipFile(fileobj=spool).read(512)
        except (OSError, EOFError) as exc:
            raise ExportError(f"{where} is a broken gzip file ({exc})") from None
        spool.seek(0)
        if _is_tar(inner):
            yield from _tar_members(spool, "r:gz", where)
        else:
            yield from _csv(gzip.GzipFile(fileobj=spool), where)
    elif _is_tar(head):
        yield from _tar_members(spool, "r:", where)
    elif _looks_like_text(head):
        yield from _csv(spool, where)
    else:
        raise ExportError(f"{where} is neither CSV, gzip nor tar.gz (it begins {head[:16]!r})")


def _is_tar(head):
    return len(head) >= 262 and head[257:262] == b"ustar"


def _looks_like_text(head):
    if b"\0" in head or head.lstrip()[:1] in (b"{", b"[", b"<"):  # JSON or HTML (an error page) is not an export
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _tar_members(spool, mode, where):
    try:
        with tarfile.open(fileobj=spool, mode=mode) as archive:
            for member in archive:
                if member.isfile() and not member.name.rsplit("/", 1)[-1].startswith("."):
                    yield from _csv(archive.extractfile(member), f"{where} ({member.name})")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ExportError(f"{where} is a broken tar archive ({exc})") from None


def _csv(binary, where):
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader, None)
        if header is None:
            return
        yield header, _rows(reader, where)
    except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:
        raise ExportError(f"{where} is not readable CSV ({type(exc).__name__}: {exc})") from None
    finally:
        try:
            text.detach()  # the file (and the archive around it) stays open for the next member, the next pass
        except ValueError:  # already closed: an error left the export
            pass


def _rows(reader, where):
    try:
        yield from reader
    except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:
        raise ExportError(f"{where} is not readable CSV ({type(exc).__name__}: {exc})") from None


# ---- columns and values -----------------------------------------------------------------------------------

class Columns:
    """A report stream's columns: the attributes to request, the header of each file matched to them, values
    converted to their column's type (times from the workspace's timezone to UTC)."""

    def __init__(self, selection, timezone):
        self.stream = selection.stream
        self.schema = json.loads(json.dumps(selection.schema))
        self.properties = self.schema["properties"]
        self.fields = selection.fields
        self.catalog_columns = set(self.properties)
        self.zone = zoneinfo.ZoneInfo(timezone)
        self.attributes = []  # (column, attribute) of the selected columns, in the catalog's order
        for column in self.properties:
            attribute = selection.metadata.get(("properties", column), {}).get("intercom-attribute")
            if isinstance(attribute, dict) and attribute.get("id") and column in self.fields:
                self.attributes.append((column, attribute))
        self.warned = set()

    def schema_line(self):
        key = list(self.stream.key)
        return schema_message(self.stream.name, self.schema, key,
                              [self.stream.replication_key] if self.stream.replication_key else None)

    def attribute_ids(self):
        return [str(a.get("qualified_id") or a["id"]) for _, a in self.attributes]

    def header_columns(self, header, where):
        """The column of each header cell: the first unused requested attribute named so (by id, qualified id
        or display name), else the cell itself (an unrequested column such as `*_raw_id`, kept as text)."""
        unused = list(self.attributes)
        out, seen = [], set()
        for cell in header:
            match = next((pair for pair in unused if cell in (pair[1].get("id"), pair[1].get("qualified_id"),
                                                                pair[1].get("name"))), None)
            if match is not None:
                unused.remove(match)
                name = match[0]
            else:
                name, n = cell or "column", 2
                while name in seen or (name in self.properties and any(c == name for c, _ in self.attributes)):
                    name, n = f"{cell}__{n}", n + 1
            seen.add(name)
            out.append(name)
        if self.attributes and len(unused) == len(self.attributes) and header:
            raise ExportError(f"{where}: its header names none of the requested attributes "
                              f"(it begins {header[:3]!r})")
        return out

    def _add_text(self, column):
        if column not in self.properties:  # never lose a value: a column the catalog lacks arrives as text
            self.properties[column] = {"type": ["null", "string"]}
            return True
        return False

    def widen(self, files, where):
        """Read a file once before its rows are written: columns new to the schema (text), and a text column
        `<column>__text` beside a typed column for the values its guessed type cannot hold (the typed column
        keeps its type: a warehouse column cannot change type once loaded). True when the schema changed (a
        SCHEMA message goes before the rows)."""
        changed = False
        for header, rows in files:
            columns = self.header_columns(header, where)
            for column in columns:
                changed |= self._add_text(column)
            typed = [(i, c, self._parse(c)) for i, c in enumerate(columns)
                     if self._parse(c) is not None and c + TEXT_SUFFIX not in self.properties]
            for row in rows:
                for i, column, parse in list(typed):
                    value = row[i] if i < len(row) else ""
                    if value == "":
                        continue
                    try:
                        parse(value)
                    except (ValueError, OverflowError):
                        LOGGER.warning("%s.%s: %r is not a %s; such values go to %s%s", self.stream.name, column,
                                       value[:40], "date-time" if "format" in self.properties[column] else "number",
                                       column, TEXT_SUFFIX)
                        changed |= self._add_text(column + TEXT_SUFFIX)
                        typed = [t for t in typed if t[1] != column]
        return changed

    def _parse(self, column):
        schema = self.properties.get(column) or {}
        types = schema.get("type") or []
        if schema.get("format") == "date-time":
            return self.to_utc
        if "number" in types or "integer" in types:
            return _number
        return None

    def to_utc(self, text):
        """'YYYY-MM-DD[ HH:MM[:SS]]' in the workspace's timezone (or ISO 8601 with an offset, or epoch seconds) to
        UTC date-time."""
        text = text.strip()
        if text.isdigit() and len(text) <= 11:  # through the year 5138
            return epoch_to_rfc3339(int(text))
        match = _LOCAL_TIME.match(text)
        if match:
            year, month, day, hour, minute, second, fraction = match.groups()
            local = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                      int(second or 0), tzinfo=self.zone)
        else:
            local = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            if local.tzinfo is None:
                local = local.replace(tzinfo=self.zone)
            fraction = None
        epoch = int(local.timestamp())
        if fraction:
            return epoch_to_rfc3339(epoch)[:-8] + "." + fraction.ljust(6, "0") + "Z"
        return epoch_to_rfc3339(epoch)

    def converter(self, header, where):
        """A function from one CSV row to its record (None: a row without its key, skipped with an error)."""
        columns = self.header_columns(header, where)
        plan = [(i, c, self._parse(c)) for i, c in enumerate(columns)
                if c in self.fields or c not in self.catalog_columns]  # columns new to the catalog: kept
        key = [c for c in self.stream.key if c != HASH_KEY]
        hashed = HASH_KEY in self.stream.key
        name = self.stream.name

        def convert(row):
            record = {}
            for i, column, parse in plan:
                value = row[i] if i < len(row) else ""
                if value == "":
                    record[column] = None
                elif parse is None:
                    record[column] = value
                else:
                    try:
                        record[column] = parse(value)
                    except (ValueError, OverflowError):  # widen() made its text column: the value is kept there
                        record[column], record[column + TEXT_SUFFIX] = None, value
            if hashed:
                raw = json.dumps(sorted(zip(columns, row)), ensure_ascii=False)
                record[HASH_KEY] = hashlib.sha256(raw.encode()).hexdigest()[:32]
            missing = [c for c in key if record.get(c) is None]
            if missing:
                if name not in self.warned:
                    self.warned.add(name)
                    LOGGER.error("%s: a row without its key (%s) is skipped (logged once per stream)", name,
                                 ", ".join(missing))
                return None
            return record

        return convert


def _number(text):
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(text) from None
        return value


def read(client, config, selection, state, stop, now):
    """The Steps of one report stream, from its bookmark (or where its last run stopped)."""
    name = selection.stream.name
    export = Export(client, config, selection, stop)
    return export.read(state.bookmark(name), state.passes.get(name), now)
