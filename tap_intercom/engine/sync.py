"""The engine: reads each source once, feeds its streams, writes Singer messages and moves bookmarks.

It is where the pieces are composed; a record goes
  source (streams.py) -> pages (pagers.py; read ahead: readahead.py, or as search windows: windows.py)
  -> records, with their per-record fetches in order (record_fetches.py; owed ones retried first: owed.py)
  -> a page's records, stream by stream (Engine._read_source's flush) -> transform (transform.py) -> RECORD
  lines (output.py; id-only link rows written straight from their parent: links.py; a table and its history
  stream encode a row once: widening.share_bodies) -> batches -> stdout, then
  bookmarks and STATE (state.py), table versions and reconciliation passes (versions.py, reconcile.py),
  progress (progress.py).

Concurrency, and why it keeps bookmarks safe:
- every source (contact search, conversation search, company scroll, each listing) runs in its own producer
  thread and hands the main thread batches of finished RECORD lines together with the bookmarks those lines
  make safe; a search is read as windows of updated_at, several at once, each page carrying the bookmark it
  makes safe (windows.py), and the company scroll is read ahead into a temporary file, so a slow target
  cannot let it expire;
- per-record fetches (conversation parts, contacts' long tag/company/note lists) run in one bounded worker
  pool; a record comes to the engine once its own are done, a page's end once every record before it has
  (record_fetches.py), so a batch never holds a record whose children are missing;
- what each per-record endpoint turns out to be (answering, refused, failing) is judged in record order by the
  source's thread (record_fetches.Endpoints): a refused or failing one stops its child streams alone, whose
  bookmarks then stay where they were while the parent's and the siblings' move (owed.py says why that loses
  nothing); the main thread reports them (`_skip`: one warning, exit 0; `_fail`: exit 1);
- the main thread is the only writer of stdout: it writes a batch, then moves the batch's bookmarks forward,
  then writes STATE. A STATE therefore never covers a record that is not already on stdout.
"""
import collections
import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from tap_intercom.engine import reconcile
from tap_intercom.reading import content_export, newer, readahead, record_fetches, reporting, windows
from tap_intercom.http.client import IntercomClient
from tap_intercom.http.concurrency import FetchPool
from tap_intercom.errors import TapError, refusal
from tap_intercom.reading.owed import MAX_OWED, refetch
from tap_intercom.engine.progress import Progress
from tap_intercom.reading.record_fetches import NOTHING, PAGE_END
from tap_intercom.records.output import RecordLines, Writer, state_message
from tap_intercom.engine.stopping import StopSignals, Stopped
from tap_intercom.records.transform import RecordTransform
from tap_intercom.records.timestamps import cursor_epoch, epoch_to_rfc3339
from tap_intercom.records.versions import activate_version_message
from tap_intercom.records.widening import StreamShape, share_bodies

LOGGER = logging.getLogger("tap_intercom")
_MIXED = object()  # the streams of a source read from different cursors


def _writer(selection, encoder):
    """A stream's writer of RECORD lines straight from its parent record (links.Link.lines), or None."""
    lines = getattr(selection.stream.rows, "lines", None)
    return lines(selection.schema, frozenset(selection.fields), encoder) if lines is not None else None


@dataclass
class Batch:
    lines: list
    counts: dict = field(default_factory=dict)  # stream -> records in lines
    advances: list = field(default_factory=list)  # (stream, epoch seconds) safe once lines are written
    done: str = None  # the first stream of the source group that finished (the group's name)
    owed: list = field(default_factory=list)  # (stream, record id, reason or None when settled), for owed.py
    activated: list = field(default_factory=list)  # streams whose ACTIVATE_VERSION is in lines
    marks: list = field(default_factory=list)  # (stream, {key: epoch} or None): a report's run under way (reporting.py)
    dropped: list = field(default_factory=list)  # ("skip" | "fail" | "partial", [streams], detail): streams of
    # the source stopped for the run (a refused or failing per-record endpoint, owed fetches overflowing)


@dataclass
class Failure:
    error: BaseException
    group: str  # the group's name


class Engine:
    def __init__(self, config, selections, state, out=None):
        self.config = config
        self.state = state
        self.client = IntercomClient(config)
        self.writer = Writer(out)
        self.pool = None
        self.stop = threading.Event()
        self.groups = self._groups(selections)
        # taken before the producers start: only the main thread changes state.owed afterwards
        selected = {s.stream.name for s in selections}
        state.owed.keep_only(selected)
        self.owed_at_start = state.owed.of(selected)
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
        self.pool = FetchPool(self.config.max_workers, thread_name_prefix="fetch",
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
                self.state.owed.apply(item.owed)
                for stream_name, value in item.advances:
                    self.state.advance(stream_name, value)
                for stream_name in item.activated:
                    reconcile.completed(self.state, stream_name)
                for kind, streams, detail in item.dropped:
                    self._dropped(kind, streams, detail, failed)
                for stream_name, run in item.marks:  # a report's run under way, or finished (None)
                    info = self.state.passes.setdefault(stream_name, {})
                    for key in reporting.RUN_KEYS:
                        info.pop(key, None)
                    info.update(run or {})
                if item.done:
                    running.remove(item.done)
                    progress.done(self._streams_of(item.done))
                if item.advances or item.done or item.owed or item.activated or item.marks or item.dropped:
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
            ([f"{len(self.state.owed)} per-record fetch(es) owed to the next run"] if len(self.state.owed) else []) + \
            ([f"skipped (fail_on_skipped_streams): {', '.join(sorted(self.client.skipped))}"]
             if self.config.fail_on_skipped_streams and self.client.skipped else [])
        if problems:
            raise TapError("; ".join(problems))

    def _report(self, failure, failed):
        error, names = failure.error, self._streams_of(failure.group)
        if not isinstance(error, Exception) or getattr(error, "status", None) == 401:
            raise error  # a bad token fails every stream: stop now
        if refusal(error) or (getattr(error, "status", None) == 404 and self._newer(failure.group)):
            self._skip(names, str(error))
            return
        detail = str(error) if isinstance(error, TapError) else f"internal error: {type(error).__name__}: {error}"
        self._fail(names, detail, failed)

    def _dropped(self, kind, streams, detail, failed):
        """Streams a source stopped alone (record_fetches.Endpoints, owed fetches overflowing): the rest of the
        source went on."""
        if kind == "skip":
            self._skip(streams, detail)
            for name in streams:  # as for a stream not selected: no run of this kind would settle them
                self.state.owed.drop(name)
        elif kind == "fail":
            self._fail(streams, detail, failed)
        else:  # "partial": streams whose records go on without what a refused endpoint would have completed
            LOGGER.warning("%s: %s", ", ".join(streams), detail)

    def _skip(self, streams, detail):
        """The one place a stream is skipped for the run (Intercom refuses it): one warning, its bookmark where it
        was, the exit code as if it were not selected."""
        meltano = "; ".join(f"meltano select tap-intercom --exclude {name} '*'" for name in streams)
        LOGGER.warning("skipping %s: %s. To skip it quietly, deselect it (catalog: \"selected\": false; Meltano: "
                       "%s)", ", ".join(streams), detail.rstrip("."), meltano)
        self.client.skipped.update(streams)  # what fail_on_skipped_streams reads (readers that skip note it there too)

    def _fail(self, streams, detail, failed):
        names = ", ".join(streams)
        LOGGER.error("%s failed: %s; the other streams go on", names, detail)
        failed.append(f"{names} failed: {detail}")

    def _newer(self, group_name):
        """Whether the group's source is one of the API's newer endpoints (it declares its version): a 404 there
        means the API version or the workspace lacks it (newer.py), not a failure."""
        group = next((g for g in self.groups if g[0].stream.name == group_name), [])
        return bool(group) and group[0].stream.source.version is not None

    def _streams_of(self, group_name):
        return [s.stream.name for group in self.groups if group[0].stream.name == group_name for s in group]

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
        if source.style in (reporting.STYLE, content_export.STYLE):  # export jobs per window, not pages
            yield from self._read_export(group)
            return
        names = [s.stream.name for s in group]
        # each stream's schema and transform, widened when records carry new top-level fields (widening.py)
        shapes = {s.stream.name: StreamShape(s, RecordTransform(s.stream.name, s.schema, s.fields, s.metadata))
                  for s in group}
        encoders = {name: RecordLines(name, self.plans[name].version) for name in names}
        shared = share_bodies(shapes.values())  # a table and its history stream encode a row once
        yield Batch([shape.message() for shape in shapes.values()])

        since = {s.stream.name: self._since(s.stream) for s in group}
        start = min(since.values()) if source.incremental else None
        roles = {s.stream.role for s in group}
        role = roles.pop() if len(roles) == 1 else None
        started = time.time()  # bookmarks are capped by this moment in Intercom's clock (see cap below)
        if source.incremental:
            LOGGER.info("%s: reading %s from %s", ", ".join(names), source.path, epoch_to_rfc3339(start))
        redo, owed = refetch(self.client, source, names, self.owed_at_start)
        client = newer.source_client(self.client, self.config, source, [s.stream for s in group])
        if source.style == "search":
            pages = windows.partitioned(client, source, start, self.config.page_size, role, int(started),
                                        self.config.search_window_pages)
        else:
            # A time-bounded listing (activity logs) reads up to the moment the run began, never past it.
            pages = source.pages(client, start, self.config.page_size, role, until=int(started))
            if source.style == "scroll":
                pages = readahead.spooled(pages)
            elif source.style != "listing":  # a listing is one call: nothing to fetch ahead
                pages = readahead.prefetched(pages)
        if redo:  # owed records first; they neither pass the since filter nor move bookmarks
            pages = itertools.chain([redo], pages)
        redone = {id(record) for record in redo}

        def cap(value):
            # Intercom's clock, learnt from its answers by now: a machine clock running ahead must not let a
            # bookmark pass changes made during the read.
            return min(value, int(self.client.clock.to_server(started)))

        # Each stream fed by this source, with what its records go through: (selection, role it takes or None,
        # cursor it takes from or None, rows hook, shape, encoder, name, what writes its lines straight from the
        # record when it can (links.Link.lines) or None).
        members = [(s, s.stream.role, since[s.stream.name] if start is not None else None, s.stream.rows,
                    shapes[s.stream.name], encoders[s.stream.name], s.stream.name, _writer(s, encoders[s.stream.name]))
                   for s in group]
        fetching = [s for s in group if s.stream.fetches]
        afters = {member[2] for member in members}
        after = afters.pop() if len(afters) == 1 else _MIXED  # usually one cursor for all: filtered once
        by_role = {}  # the streams taking a record of a role (None: its role is no stream's)
        for role_name in {record_role for _, record_role, *_ in members} | {None}:
            by_role[role_name] = [m for m in members if m[1] is None or m[1] == role_name]

        def facts(takers):
            """(the names of the streams among takers, (name, fetches hook, fields) of those that fetch)."""
            return (frozenset(m[6] for m in takers),
                    tuple((m[6], m[0].stream.fetches, m[0].fields) for m in takers if m[0].stream.fetches))

        # worked out once a role; takers filtered record by record (a source of mixed cursors) are not in it
        known = {id(takers): facts(takers) for takers in by_role.values()}
        cursor_field = source.cursor

        def plan(record):
            again = redone and id(record) in redone
            if after is _MIXED:
                cursor = cursor_epoch(record.get(cursor_field))
                takers = [m for m in members if (m[1] is None or record.get("role") == m[1])
                          and (m[2] is None or cursor is None or cursor >= m[2] or again)]
            else:
                takers = by_role.get(record.get("role")) or by_role[None]
                if after is not None and not again:
                    cursor = record.get(cursor_field)
                    if type(cursor) is not int:
                        cursor = cursor_epoch(cursor)
                    if cursor is not None and cursor < after:
                        takers = []
            if not fetching:
                return takers, NOTHING
            work = NOTHING
            for name, fetches, fields in (known.get(id(takers)) or facts(takers))[1]:
                if name not in dead:
                    wanted = fetches(record, fields)
                    if wanted:
                        work = {} if work is NOTHING else work
                        for fetch_name, fetch in wanted.items():
                            work[name, fetch_name] = fetch
            return takers, work

        lines, counts, incomplete = [], collections.Counter(), set()
        extracted = epoch_to_rfc3339(int(time.time())).encode()
        high = None
        # What the source's per-record endpoints turn out to be (record_fetches.Endpoints), and the streams of
        # this source stopped for the run because of them: no more rows, no bookmark moved from then on.
        endpoints = record_fetches.Endpoints(s.stream.name for s in group if s.stream.completes)
        dead, dropped = set(), []

        def stop(kind, streams, detail):
            if kind != "partial":
                flush()  # the records read before it are written as they would have been
                streams = [name for name in streams if name not in dead]
                dead.update(streams)
                incomplete.update(streams)
            if streams:
                dropped.append((kind, streams, detail))

        def owe(stream_name, record_id, reason):
            if stream_name in dead:
                return
            if not self.state.owed.reserve():  # the list is full: this stream stops, the others go on
                stop("fail", [stream_name], f"more than {MAX_OWED} per-record fetches failed; it stops here, its "
                                            f"bookmark behind the records it could not complete (last: {reason})")
                return
            owed.append((stream_name, record_id, reason))
            incomplete.add(stream_name)

        def hear():
            for kind, *news in endpoints.take():
                if kind == "owe":
                    owe(*news)
                else:
                    stop(kind, *news)

        # The records read since the last flush: (record, its fetches, the names of the streams taking it).
        pending = []

        def flush():
            """The pending records' lines, stream by stream, each stream's in record order: at a page's end, and
            before a stream stops. One pass of a stream's rows through its transform and encoder a page, rather than
            one per record and stream."""
            for _, _, _, rows_of, shape, encoder, name, write in members:
                if dead and name in dead:
                    continue
                rows, written = [], 0
                for record, fetched, names in pending:
                    if name not in names:
                        continue
                    if write is not None:
                        count = write(record, fetched.get(name), lines, extracted)
                        if count is not None:
                            written += count
                            continue
                        emit(shape, rows_of(record, fetched.get(name)), encoder, name)  # in its place
                    elif rows_of is None:
                        rows.append(record)
                    else:
                        rows += rows_of(record, fetched.get(name))
                if rows:
                    emit(shape, rows, encoder, name)
                if written:
                    counts[name] += written
            pending.clear()
            for bodies in shared:
                bodies.clear()

        def emit(shape, rows, encoder, name):
            for exc in shape.emit(rows, lines, encoder, extracted):  # after the widened SCHEMA, if one widens it
                # no valid form (a key or cursor that fits no type): this record only, not its stream for good
                LOGGER.error("%s; the record is skipped", exc)
                self.rejected.append(str(exc))
                incomplete.add(name)
            counts[name] += len(rows)

        for record, takers, fetched, failures in record_fetches.in_order(pages, plan, self.pool, self.client,
                                                                         endpoints):
            if endpoints.news:
                hear()
            if record is PAGE_END:  # `takers` holds the page: a search's page carries the bookmark it makes safe
                flush()
                safe = getattr(takers, "safe", None)
                moving = [name for name in names if name not in dead and name not in endpoints.holding()]
                advances = [(name, cap(safe)) for name in moving] if safe is not None else []
                yield Batch(lines, dict(counts), advances, owed=owed, dropped=dropped)
                lines, counts, owed, dropped = [], collections.Counter(), [], []
                extracted = epoch_to_rfc3339(int(time.time())).encode()
                continue
            for stream_name, reason in failures.items():  # owed now, or held (HELD: owed or dropped once the
                if reason:  # endpoint is known)
                    owe(stream_name, str(record.get("id")), reason)
            if redone and id(record) in redone:
                record_id = str(record.get("id"))
                owed += [(stream_name, record_id, None) for stream_name, _ in self.owed_at_start.get(record_id, ())
                         if stream_name in names and stream_name not in failures and stream_name not in dead]
            else:
                cursor = record.get(source.cursor)
                cursor = cursor if type(cursor) is int else cursor_epoch(cursor)
                if cursor is not None and (high is None or cursor > high):
                    high = cursor
            if takers:
                pending.append((record, fetched, (known.get(id(takers)) or facts(takers))[0]))
        flush()
        endpoints.finish()  # an endpoint still undecided is decided now: its streams' fate before any bookmark
        hear()
        if source.incremental and high is not None:
            # Other sources (the scroll, activity logs) move only now; never past the moment reading began,
            # so a record changed during the sync is read again next time rather than skipped.
            yield Batch(lines, dict(counts), [(name, cap(high)) for name in names if name not in dead], owed=owed,
                        dropped=dropped)
        elif lines or owed or dropped:
            yield Batch(lines, dict(counts), owed=owed, dropped=dropped)
        # Read to the end: the new version is whole, unless a record of it was skipped or owes a fetch (then
        # activating would remove that record's rows; a pass resumes next run and activates then).
        activated = [name for name in names if self.plans[name].activates and name not in incomplete]
        for name in sorted(set(names) & incomplete - dead):
            if self.plans[name].activates:
                LOGGER.warning("%s: not activating version %d: some of its records were skipped or owe a fetch",
                               name, self.plans[name].version)
        if activated:
            yield Batch([activate_version_message(name, self.plans[name].version) for name in activated],
                        activated=activated)

    def _read_export(self, group):
        """A report stream (reporting.py), or the message streams, all from one job (content_export.py)."""
        names = [s.stream.name for s in group]
        if group[0].stream.source.style == reporting.STYLE:
            steps = reporting.read(self.client, self.config, group[0], self.state, self.stop, time.time())
        else:
            steps = content_export.read(self.client, self.config, group, self.state, self.stop, time.time())
        for step in steps:
            self.rejected += [f"{', '.join(names)}: a row without its key"] * step.skipped
            marks = [(name, step.run) for name in names] if step.run is not None else \
                [(name, None) for name in names] if step.finished else []
            counts = step.records if isinstance(step.records, dict) else {names[0]: step.records}
            yield Batch(step.lines, counts, [(name, step.through) for name in names] if step.through else [],
                        marks=marks)

    def _since(self, stream):
        if self.plans[stream.name].since is not None:  # a reconciliation pass: from its own progress
            return self.plans[stream.name].since
        bookmark = self.state.bookmark(stream.name)
        if bookmark is None:
            return self.config.start_date
        return bookmark - self.config.lookback_window
