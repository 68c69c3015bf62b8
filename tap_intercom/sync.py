"""The engine: reads each source once, feeds its streams, writes Singer messages and moves bookmarks.

Concurrency, and why it keeps bookmarks safe:
- every source (contact search, conversation search, company scroll, each listing) runs in its own producer
  thread and hands the main thread batches of finished RECORD lines together with the bookmarks those lines
  make safe; a search is read as windows of updated_at, several at once, each page carrying the bookmark it
  makes safe (windows.py), and the company scroll is read ahead into a temporary file, so a slow target
  cannot let it expire;
- per-record fetches (conversation parts, contacts' long tag/company/note lists) run in one bounded worker
  pool and are consumed in the source's order, so a batch never holds a record whose children are missing;
- the main thread is the only writer of stdout: it writes a batch, then moves the batch's bookmarks forward,
  then writes STATE. A STATE therefore never covers a record that is not already on stdout.
"""
import collections
import itertools
import json
import logging
import os
import queue
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tap_intercom import reconcile
from tap_intercom import windows
from tap_intercom.client import IntercomClient
from tap_intercom.errors import ApiError, NotFound, TapError
from tap_intercom.owed import MAX_OWED, deleted_conversation
from tap_intercom.output import RecordLines, Writer, dumps, loads, log_metric, schema_message, state_message
from tap_intercom.stopping import StopSignals, Stopped
from tap_intercom.transform import RecordMismatch, RecordTransform, cursor_epoch, epoch_to_rfc3339
from tap_intercom.versions import activate_version_message

LOGGER = logging.getLogger("tap_intercom")

PAGE_END = object()
PROGRESS_INTERVAL = 30.0  # seconds between progress lines per stream


@dataclass
class Batch:
    lines: list
    counts: dict = field(default_factory=dict)  # stream -> records in lines
    advances: list = field(default_factory=list)  # (stream, epoch seconds) safe once lines are written
    done: str = None  # the first stream of the source group that finished (the group's name)
    owed: list = field(default_factory=list)  # (stream, record id, reason or None when settled), for owed.py
    activated: list = field(default_factory=list)  # streams whose ACTIVATE_VERSION is in lines


@dataclass
class Failure:
    error: BaseException
    group: str  # the group's name


def _forbidden(error):
    """403 (a missing scope, api_plan_restricted) or 400 "not available" (a resource the API version or the
    workspace's plan lacks): the stream is skipped, not failed."""
    status = getattr(error, "status", None)
    return status == 403 or (status == 400 and "not available" in str(error))


def prefetched(pages):
    """Fetch the next page while the current one is processed: cursor paging is sequential, the work is not."""
    handoff = queue.Queue(maxsize=1)

    def fetch_ahead():
        try:
            for page in pages:
                handoff.put((page, None))
            handoff.put((PAGE_END, None))
        except BaseException as exc:  # re-raised in the consuming thread
            handoff.put((None, exc))

    threading.Thread(target=fetch_ahead, daemon=True, name="pages").start()
    while True:
        page, error = handoff.get()
        if error is not None:
            raise error
        if page is PAGE_END:
            return
        yield page


def spooled(pages):
    """Read every page as fast as the API answers, into a temporary file, while the caller takes them at its
    own pace. A company scroll left idle for a minute expires, and a slow target must not make it idle."""
    spool = tempfile.TemporaryFile()
    ready = threading.Condition()
    progress = {"written": 0, "done": False, "error": None}

    def fill():
        try:
            for page in pages:
                try:
                    line = dumps(page) + b"\n"
                except UnicodeEncodeError:  # a lone surrogate: escaped as ASCII here, replaced when written
                    line = json.dumps(page).encode() + b"\n"
                with ready:
                    spool.seek(0, os.SEEK_END)
                    spool.write(line)
                    progress["written"] += 1
                    ready.notify()
        except BaseException as exc:  # re-raised in the consuming thread, after the pages before it
            progress["error"] = exc
        finally:
            with ready:
                progress["done"] = True
                ready.notify()

    threading.Thread(target=fill, daemon=True, name="spool").start()
    taken, offset = 0, 0
    try:
        while True:
            with ready:
                while taken >= progress["written"] and not progress["done"]:
                    ready.wait()
                if taken >= progress["written"]:
                    if progress["error"] is not None:
                        raise progress["error"]
                    return
                spool.seek(offset)
                line = spool.readline()
                offset = spool.tell()
            taken += 1
            yield loads(line)
    finally:
        spool.close()


class Engine:
    def __init__(self, config, selections, state, out=None):
        self.config = config
        self.state = state
        self.client = IntercomClient(config)
        self.writer = Writer(out)
        self.backlog = 1000  # records waiting behind the oldest unfinished fetch
        self.pool = None
        self.stop = threading.Event()
        self.groups = self._groups(selections)
        # taken before the producers start: only the main thread changes state.owed afterwards
        state.owed.keep_only({s.stream.name for s in selections})
        self.owed_at_start = state.owed.of({s.stream.name for s in selections})
        self.rejected = []  # records that fit their schema in no way (any producer appends)
        self.plans = reconcile.plan_streams([s.stream for s in selections], state, config, time.time())

    def _groups(self, selections):
        """Selected streams grouped by source, the interrupted one (currently_syncing) first."""
        groups = collections.OrderedDict()
        for selection in selections:
            groups.setdefault(selection.stream.source.name, []).append(selection)
        resumed = self.state.currently_syncing
        return sorted(groups.values(), key=lambda group: all(s.stream.name != resumed for s in group))

    def _waves(self):
        """The interrupted source runs alone first, so repeated interruptions cannot starve it; then the
        others run together."""
        resumed = self.state.currently_syncing
        if resumed and any(s.stream.name == resumed for s in self.groups[0]):
            LOGGER.info("resuming %s first: the last run was interrupted while syncing it", resumed)
            return [self.groups[:1], self.groups[1:]]
        return [self.groups]

    # ---- the main thread: the only writer ------------------------------------------------------------

    def run(self):
        """Sync every selected source. A failing source is reported at the end, after the others finished
        (a 401 stops everything at once); a forbidden one (403, or "not available") is skipped with a warning."""
        batches = queue.Queue(maxsize=4 * len(self.groups) + 4)
        running = [group[0].stream.name for group in self.groups]
        progress = Progress()
        signals = StopSignals().install()
        self.pool = ThreadPoolExecutor(self.config.max_workers, thread_name_prefix="fetch",
                                       initializer=self.client.per_record_thread)
        waves, wave, failed = self._waves(), [], []
        try:
            while running:
                if waves and not any(name in running for name in wave):
                    wave = [group[0].stream.name for group in waves[0]]
                    for group in waves.pop(0):
                        threading.Thread(target=self._produce, args=(group, batches), daemon=True,
                                         name=f"source-{group[0].stream.source.name}").start()
                try:
                    item = batches.get(timeout=0.2)
                except queue.Empty:
                    item = None
                if signals.received:  # the last line written is whole and the last STATE is safe: stop here
                    self.writer.write([state_message(self.state.value())])
                    raise Stopped(signals.received)
                if item is None:
                    continue
                if isinstance(item, Failure):
                    self._report(item, failed)
                    item = Batch([], done=item.group)
                self.writer.write(item.lines)
                progress.count(item.counts)
                for stream_name, record_id, reason in item.owed:
                    if reason is None:
                        self.state.owed.settled(stream_name, record_id)
                    else:
                        self.state.owed.failed(stream_name, record_id, reason)
                for stream_name, value in item.advances:
                    self.state.advance(stream_name, value)
                for stream_name in item.activated:
                    reconcile.completed(self.state, stream_name)
                if item.done:
                    running.remove(item.done)
                    progress.done([s.stream.name for group in self.groups if group[0].stream.name == item.done
                                   for s in group])
                if item.advances or item.done or item.owed or item.activated:
                    self.state.currently_syncing = running[0] if running else None
                    self.writer.write([state_message(self.state.value())])
                    self.writer.flush()
        finally:
            self.stop.set()
            self.pool.shutdown(wait=False, cancel_futures=True)
            progress.finish()
            self.writer.flush()
        problems = failed + ([f"{len(self.rejected)} record(s) skipped: they fit their schema in no way"]
                             if self.rejected else []) + \
            ([f"{len(self.state.owed)} per-record fetch(es) owed to the next run"] if len(self.state.owed) else [])
        if problems:
            raise TapError("; ".join(problems))

    def _report(self, failure, failed):
        error, names = failure.error, ", ".join(s.stream.name for group in self.groups
                                                if group[0].stream.name == failure.group for s in group)
        if not isinstance(error, Exception) or getattr(error, "status", None) == 401:
            raise error  # a bad token fails every stream: stop now
        if _forbidden(error):
            LOGGER.warning("skipping %s: %s", names, error)
            return
        detail = str(error) if isinstance(error, TapError) else f"internal error: {type(error).__name__}: {error}"
        LOGGER.error("%s failed: %s; the other streams go on", names, detail)
        failed.append(f"{names} failed: {detail}")

    def _produce(self, group, batches):
        try:
            for batch in self._read_source(group):
                if self.stop.is_set():
                    return
                batches.put(batch)
            batches.put(Batch([], done=group[0].stream.name))
        except BaseException as exc:  # handed to the main thread, which reports it
            batches.put(Failure(exc, group[0].stream.name))

    # ---- producers: one per source -------------------------------------------------------------------

    def _read_source(self, group):
        source = group[0].stream.source
        names = [s.stream.name for s in group]
        transforms = {s.stream.name: RecordTransform(s.stream.name, s.schema, s.fields, s.metadata) for s in group}
        plans = {name: self.plans[name] for name in names}
        encoders = {name: RecordLines(name, plans[name].version) for name in names}
        yield Batch([schema_message(s.stream.name, s.schema, s.stream.key,
                                    [s.stream.replication_key] if s.stream.replication_key else None)
                     for s in group])

        since = {s.stream.name: self._since(s.stream) for s in group}
        start = min(since.values()) if source.incremental else None
        roles = {s.stream.role for s in group}
        role = roles.pop() if len(roles) == 1 else None
        started = time.time()  # bookmarks are capped by this moment in Intercom's clock (see cap below)
        if source.incremental:
            LOGGER.info("%s: reading %s from %s", ", ".join(names), source.path, epoch_to_rfc3339(start))
        redo, owed = self._refetch_owed(source, names)
        # A time-bounded listing (activity logs) reads up to the moment the run began, never past it.
        pages = source.pages(self.client, start, self.config.page_size, role, until=int(started))
        if source.style == "scroll":
            pages = spooled(pages)
        elif source.style == "search":
            pages = windows.partitioned(self.client, source, start, self.config.page_size, role, int(started),
                                        self.config.search_window_pages)
        elif source.style != "listing":  # a listing is one call: nothing to fetch ahead
            pages = prefetched(pages)
        if redo:  # owed records first; they neither pass the since filter nor move bookmarks
            pages = itertools.chain([redo], pages)
        redone = {id(record) for record in redo}

        def cap(value):
            # Intercom's clock, learnt from its answers by now: a machine clock running ahead must not let a
            # bookmark pass changes made during the read.
            return min(value, int(self.client.clock.to_server(started)))

        members = [(s, s.stream.role, since[s.stream.name] if start is not None else None) for s in group]
        fetching = [s for s in group if s.stream.fetches]

        def plan(record):
            cursor = cursor_epoch(record.get(source.cursor))
            again = redone and id(record) in redone
            takers = [s for s, role, after in members if (role is None or record.get("role") == role)
                      and (after is None or cursor is None or cursor >= after or again)]
            if not fetching:
                return takers, _NOTHING
            return takers, {(s.stream.name, name): fetch for s in takers if s.stream.fetches
                            for name, fetch in s.stream.fetches(record, s.fields).items()}

        lines, counts, incomplete = [], collections.Counter(), set()
        extracted = epoch_to_rfc3339(int(time.time())).encode()
        high = None
        for record, takers, fetched, failures in self._in_order(pages, plan):
            if record is PAGE_END:  # `takers` holds the page: a search's page carries the bookmark it makes safe
                safe = getattr(takers, "safe", None)
                advances = [(name, cap(safe)) for name in names] if safe is not None else []
                yield Batch(lines, dict(counts), advances, owed=owed)
                lines, counts, owed = [], collections.Counter(), []
                extracted = epoch_to_rfc3339(int(time.time())).encode()
                continue
            incomplete.update(failures)
            for stream_name, reason in failures.items():
                if not self.state.owed.reserve():
                    raise ApiError(f"more than {MAX_OWED} per-record fetches failed; {stream_name} stops here, "
                                   f"its bookmark behind the records it could not complete (last: {reason})")
                owed.append((stream_name, str(record.get("id")), reason))
            if id(record) in redone:
                record_id = str(record.get("id"))
                owed += [(stream_name, record_id, None) for stream_name, _ in self.owed_at_start.get(record_id, ())
                         if stream_name in names and stream_name not in failures]
                cursor = None
            else:
                cursor = cursor_epoch(record.get(source.cursor))
            if cursor is not None:
                high = cursor if high is None else max(high, cursor)
            for selection in takers:
                stream = selection.stream
                rows = stream.rows(record, fetched.get(stream.name)) if stream.rows else (record,)
                transform, encoder = transforms[stream.name], encoders[stream.name]
                for row in rows:
                    try:
                        lines.append(encoder.line(transform(row), extracted))
                    except RecordMismatch as exc:  # no valid form (a key or cursor that fits no type): this
                        LOGGER.error("%s; the record is skipped", exc)  # record only, not its stream for good
                        self.rejected.append(str(exc))
                        incomplete.add(stream.name)
                counts[stream.name] += len(rows)
        if source.incremental and high is not None:
            # Other sources (the scroll, activity logs) move only now; never past the moment reading began,
            # so a record changed during the sync is read again next time rather than skipped.
            yield Batch(lines, dict(counts), [(name, cap(high)) for name in names], owed=owed)
        elif lines or owed:
            yield Batch(lines, dict(counts), owed=owed)
        # Read to the end: the new version is whole, unless a record of it was skipped or owes a fetch (then
        # activating would remove that record's rows; a pass resumes next run and activates then).
        activated = [name for name in names if plans[name].activates and name not in incomplete]
        for name in sorted(set(names) & incomplete):
            if plans[name].activates:
                LOGGER.warning("%s: not activating version %d: some of its records were skipped or owe a fetch",
                               name, plans[name].version)
        if activated:
            yield Batch([activate_version_message(name, plans[name].version) for name in activated],
                        activated=activated)

    def _refetch_owed(self, source, names):
        """The records of this source that owe a fetch (owed.py), read again by id; ([records], [owed events])."""
        records, events = [], []
        for record_id, owed in self.owed_at_start.items():
            streams = [stream for stream, _ in owed if stream in names]
            if not streams or not source.record_path:
                continue
            LOGGER.warning("%s: retrying the owed fetch for record %s (it failed in %d run(s) so far)",
                           ", ".join(streams), record_id, max(runs for _, runs in owed))
            try:
                records.append(self.client.get(source.record_path.format(id=record_id), endpoint=source.record_path))
            except ApiError as exc:
                if exc.status == 401:
                    raise
                if isinstance(exc, NotFound) and source.name == "conversations" and \
                        deleted_conversation(self.client, record_id):
                    LOGGER.warning("%s: Intercom confirms conversation %s was deleted; nothing is owed for it any "
                                   "more", ", ".join(streams), record_id)
                    events += [(stream, record_id, None) for stream in streams]
                    continue
                events += [(stream, record_id, str(exc)) for stream in streams]
        return records, events

    def _in_order(self, pages, plan):
        """(record, takers, {stream: {name: result}}, {stream: failure}) in the source's order, PAGE_END after
        each page.

        A record's fetches run in the pool while later records are read: up to `window` fetches and
        `backlog` records wait in line, so a slow fetch holds back neither the pages nor the other fetches,
        and memory stays bounded. Records needing no fetch skip the line when it is empty. The window is what
        should be in flight (concurrency.py): more would only queue in the pool, ahead of other sources' fetches."""
        pending, jobs = collections.deque(), 0
        for page in pages:
            window = self.client.limiter.in_flight_target()
            for record in page:
                takers, work = plan(record)
                if not work and not pending:
                    yield record, takers, _NOTHING, _NOTHING
                    continue
                futures = {key: self.pool.submit(fetch, self.client) for key, fetch in work.items()}
                jobs += len(futures)
                pending.append((record, takers, futures))
                while pending and (jobs > window or len(pending) > self.backlog or _ready(pending[0])):
                    entry = pending.popleft()
                    jobs -= len(entry[2])
                    yield _resolved(entry)
            if pending:
                pending.append((PAGE_END, page, {}))
            else:
                yield PAGE_END, page, _NOTHING, _NOTHING
        while pending:
            yield _resolved(pending.popleft())

    def _since(self, stream):
        if self.plans[stream.name].since is not None:  # a reconciliation pass: from its own progress
            return self.plans[stream.name].since
        bookmark = self.state.bookmark(stream.name)
        if bookmark is None:
            return self.config.start_date
        return bookmark - self.config.lookback_window


_NOTHING = {}


def _ready(entry):
    return all(future.done() for future in entry[2].values())


def _resolved(entry):
    """A record's fetch results; a failed fetch (after its retries, or a 404) gives None and a failure."""
    record, takers, futures = entry
    fetched, failures = {}, {}
    for (stream_name, name), future in futures.items():
        try:
            result = future.result()
        except ApiError as exc:
            if exc.status == 401:
                raise
            result, failures[stream_name] = None, f"{name}: {exc}"
        fetched.setdefault(stream_name, {})[name] = result
    return record, takers, fetched, failures


class Progress:
    """Record counts: singer's record_count METRIC lines plus a readable line per stream, every interval and
    when its source completes."""

    def __init__(self):
        self.started = self.last_log = time.monotonic()
        self.totals = collections.Counter()
        self.unlogged = collections.Counter()

    def count(self, counts):
        self.totals.update(counts)
        self.unlogged.update(counts)
        now = time.monotonic()
        if now - self.last_log >= PROGRESS_INTERVAL:
            self.last_log = now
            self._log("progress", sorted(self.totals), now)

    def done(self, names):
        self._log("done", names, time.monotonic())

    def finish(self):
        self._log("progress", [name for name in sorted(self.unlogged) if self.unlogged[name]], time.monotonic())

    def _log(self, what, names, now):
        elapsed = max(now - self.started, 1e-9)
        for name in names:
            if self.unlogged[name]:
                log_metric("counter", "record_count", self.unlogged[name], {"endpoint": name})
                self.unlogged[name] = 0
            LOGGER.info("%s %s: %d records in %.1f s (%.0f/s)", what, name, self.totals[name], elapsed,
                        self.totals[name] / elapsed)
