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
- files head columns by plain attribute id (even when qualified ids were asked), custom attributes by their
  display name, names may repeat, `*_id` columns hold names with the ids in `*_raw_id` columns beside them, cells
  are text, times `YYYY-MM-DD HH:MM:SS` in the workspace's timezone (records/report_columns.py types them);
- 2.16 lists a `qualified_id` per attribute, which enqueue wants (2.17 requires it); the conversation dataset
  of 2.16 also has conversations that never got a user reply, so every call here is made with 2.16 or later;
- the window selects rows by the dataset's default time attribute, but a row describes current state (a reopened
  conversation changes its row): each run re-exports `reporting_lookback_days` behind the bookmark.
The file is read by export_files.py, its cells typed by records/report_columns.py. Discovery (catalog.py) lists
the datasets here (`datasets`) and samples each with one job (`export_once`, from sampling.py).
The bookmark is the end of the last window whose rows are written (it only moves forward). A run under way keeps
`export_from` (its first unfinished window) and `export_until` (its end) beside it in STATE, so a killed or failed
run resumes at its first unfinished window, even inside the lookback, and no re-export it owed is skipped.
"""
import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from tap_intercom.errors import ApiError, ExportError, NotFound, PendingJobsFull
from tap_intercom.records.output import RecordLines
from tap_intercom.records.report_columns import Columns
from tap_intercom.records.timestamps import epoch_to_rfc3339

LOGGER = logging.getLogger("tap_intercom")

PREFIX = "report_"
STYLE = "export"  # streams.Source.style of a report stream
MIN_VERSION = (2, 16)  # qualified ids, and the conversation dataset with every conversation
MAX_PENDING = 5  # Intercom's limit of pending export jobs per workspace
RETENTION = 730 * 86400  # start_time must lie within the workspace's retention (2 years by default)
POLL_FIRST, POLL_MAX = 0.5, 30.0  # seconds between status polls, doubling while nothing changes
BATCH_ROWS = 1000  # records per batch handed to the engine; a window's bookmark moves with its last batch
RUN_KEYS = ("export_from", "export_until")  # a run under way, kept in STATE beside the bookmark
# A job's status: the spec shows "pending", "complete" and "failed"; kin words are read the same way.
COMPLETE = {"complete", "completed", "success", "succeeded", "done", "finished"}
FAILED = {"failed", "failure", "error", "errored", "canceled", "cancelled", "expired"}

_SLOTS = threading.BoundedSemaphore(MAX_PENDING)  # this process's pending jobs, all report streams together


def version_for(configured):
    """The Intercom-Version of the export calls: the configured one when it is 2.16 or later."""
    major, _, minor = configured.partition(".")
    if major.isdigit() and minor.isdigit() and (int(major), int(minor)) < MIN_VERSION:
        return "%d.%d" % MIN_VERSION
    return configured


def is_report(name):
    return isinstance(name, str) and name.startswith(PREFIX)


# ---- what discovery asks ------------------------------------------------------------------------------

def datasets(client, config):
    """The configured datasets as GET /export/reporting_data/get_datasets lists them ({id, name,
    default_time_attribute_id, attributes: [{id, qualified_id, name}]}); [] when they cannot be listed."""
    try:
        listed = client.get("/export/reporting_data/get_datasets", version=version_for(config.api_version))
    except ApiError as exc:
        if exc.status == 401:
            raise
        LOGGER.warning("reporting_datasets: cannot list the workspace's datasets (%s); no report stream", exc)
        return []
    found = {str(d["id"]): d for d in (listed or {}).get("data") or [] if isinstance(d, dict) and d.get("id")}
    wanted = list(found) if "*" in config.reporting_datasets else list(config.reporting_datasets)
    missing = [name for name in wanted if name not in found]
    if missing:
        LOGGER.warning("reporting_datasets: the workspace lists no dataset %s (it lists: %s)", ", ".join(missing),
                       ", ".join(found) or "none")
    return [found[name] for name in wanted if name in found]


def export_once(client, config, dataset_id, attribute_ids, window, spool, deadline):
    """One export job, enqueued, waited for until `deadline` (time.monotonic()) and downloaded to `spool`: what
    discovery samples. Raises ExportError when the job fails or is not done in time."""
    version = version_for(config.api_version)
    body = {"dataset_id": dataset_id, "attribute_ids": attribute_ids, "start_time": window[0],
            "end_time": window[1]}
    delay = POLL_FIRST
    while True:  # a slot of this process, then one of the workspace's 5 (other apps' jobs: wait)
        if time.monotonic() > deadline:
            raise ExportError(f"{dataset_id}: no export job slot came free in time")
        if not _SLOTS.acquire(timeout=1.0):
            continue
        try:
            answer = client.post("/export/reporting_data/enqueue", body, version=version)
            break
        except PendingJobsFull:
            _SLOTS.release()
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, POLL_MAX)
        except BaseException:
            _SLOTS.release()
            raise
    try:
        job = str((answer or {}).get("job_identifier") or "")
        if not job:
            raise ExportError(f"{dataset_id}: enqueue answered without a job_identifier")
        delay = POLL_FIRST
        while True:
            status = _status_word(client, job, version)
            if status == "complete":
                break
            if status == "failed":
                raise ExportError(f"{dataset_id}: the export job {job} failed")
            if time.monotonic() + delay > deadline:
                raise ExportError(f"{dataset_id}: the export job {job} was not done in time")
            time.sleep(delay)
            delay = min(delay * 2, POLL_MAX)
    finally:
        _SLOTS.release()
    client.download(f"/download/reporting_data/{job}", spool, endpoint="/download/reporting_data/{job_identifier}",
                    version=version)


def _status_word(client, job, version):
    try:
        answer = client.get(f"/export/reporting_data/{job}", endpoint="/export/reporting_data/{job_identifier}",
                            version=version)
    except NotFound:  # expired or lost on Intercom's side: counts as a failed try
        return "failed"
    status = str((answer or {}).get("status") or "pending").lower()
    if status in COMPLETE:
        return "complete"
    return "failed" if status in FAILED else "pending"


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
        return _status_word(self.client, job.identifier, self.version)

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
        import tempfile

        from tap_intercom.reading.export_files import csv_files  # tarfile, gzip, csv: only when a report is read

        with tempfile.TemporaryFile() as spool:  # on disk: an export of any size costs no memory
            self.client.download(f"/download/reporting_data/{job.identifier}", spool,
                                 endpoint="/download/reporting_data/{job_identifier}", version=self.version)
            where = f"{name}: the download of job {job.identifier}"
            if self.columns.check(csv_files(spool, where), where):  # columns new to the catalog
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


def read(client, config, selection, state, stop, now):
    """The Steps of one report stream, from its bookmark (or where its last run stopped)."""
    name = selection.stream.name
    export = Export(client, config, selection, stop)
    return export.read(state.bookmark(name), state.passes.get(name), now)
