"""Per-record fetches (conversation and ticket parts, handling events, contacts' long tag/company/note lists): each
record handed back once its own are done, and each page's end once every record before it is; and what the run
learns of each per-record endpoint (Endpoints), one rule for every child.

They run in the engine's bounded worker pool while later records are read; the engine gets each record only with
its fetches finished, so a batch never holds a record whose children are missing.
"""
import collections

from tap_intercom.errors import ApiError, refusal

PAGE_END = object()  # yielded after each page's records, with the page in place of the takers
NOTHING = {}  # no fetches, no failures
BACKLOG = 1000  # records waiting behind the oldest unfinished fetch
LINE_PER_SLOT = 2  # fetches in line (sent, queued or done behind an earlier one) per request the target keeps in flight
SURE = 3  # the first fetches of an endpoint that tell, when none of them answered, whether Intercom serves it
HELD = ""  # a failure that owes nothing (yet): its endpoint is undecided, or closed for the run


class Endpoints:
    """What this run learnt of each per-record endpoint of one source, by the fetch's name ("detail",
    "handling_events", "tags", ...: one endpoint each within a source). Outcomes are judged in record order, by
    the source's own thread: the verdict is the same whatever order the pool's threads finish in.

    Until one of its fetches answers, an endpoint's failures are held: they owe nothing yet, and the streams they
    concern keep their bookmarks where they are (holding()). Then it is
    - served: a fetch answered. The held failures, and later ones, are each record's own: owed (owed.py), as a
      404 for a conversation deleted since the search is;
    - refused: a fetch answered 403 or 400 "not available", or its first SURE fetches (all of them, when the
      source ended before SURE) answered 404, the parent listed by this very run: Intercom does not serve it to
      this workspace, plan or API version. Nothing is owed; its child streams are skipped (their bookmarks stay),
      and streams whose own records it only completes (a contact's lists beyond the 10 embedded) keep what
      their records embed;
    - failed: its first SURE fetches failed (after their retries) with none answering, not all with a 404: its
      child streams stop for the run, owing nothing, their bookmarks where they were, so the next run reads
      their records again; completing streams owe what they miss, without more calls.
    The engine hears of each through take(): ("owe", stream, record id, reason), ("skip" | "fail" | "partial",
    [streams], detail)."""

    def __init__(self, completing=()):
        self.completing = set(completing)  # streams whose fetches complete their own records
        self.served = set()
        self.closed = {}  # name -> ("refused" | "failed", detail)
        self._held = {}  # name -> [(stream, record id, reason, error)]
        self._users = {}  # name -> streams that asked for it
        self._told = set()  # (stream, name) whose closing the engine has heard of
        self.news = []  # what the engine has not taken yet (take): it looks before asking, record by record

    def admit(self, work):
        """(the fetches still worth making, {stream: HELD or reason to owe}): a closed endpoint is not asked."""
        if not any(name in self.closed for _, name in work):
            return work, NOTHING
        kept, early = {}, {}
        for (stream, name), fetch in work.items():
            if name in self.closed:
                outcome = self.judge(stream, name, None, None)
                if outcome is not None:
                    early[stream] = outcome
            else:
                kept[stream, name] = fetch
        return kept, early

    def judge(self, stream, name, record_id, error):
        """One fetch's outcome, in record order (error None: it answered): None when there is nothing to owe or
        hold, HELD, or the reason the record owes it now."""
        if name in self.closed:
            kind, detail = self.closed[name]
            self._tell(name, [stream])
            if stream not in self.completing:
                return HELD  # a stream that stopped
            return None if kind == "refused" else detail  # the record as listed; owed when the endpoint failed
        self._users.setdefault(name, set()).add(stream)
        if error is None:
            if name not in self.served:
                self.served.add(name)
                self.news += [("owe", s, r, reason) for s, r, reason, _ in self._held.pop(name, ())]
            return None
        reason = f"{name}: {error}"
        if name in self.served:
            return reason
        held = self._held.setdefault(name, [])
        held.append((stream, record_id, reason, error))
        if refusal(error):
            self._close(name, "refused", str(error))
        elif len({entry[1] for entry in held}) >= SURE:  # records, not streams: one fetch may serve several
            self._decide(name)
        return HELD

    def holding(self):
        """The streams with failures held: their bookmarks must not move past those records yet."""
        return {entry[0] for held in self._held.values() for entry in held}

    def finish(self):
        """The source is read: an endpoint still undecided is decided on the failures it has."""
        for name in sorted(self._held):
            self._decide(name)

    def take(self):
        news, self.news = self.news, []
        return news

    def _decide(self, name):
        held = self._held.get(name) or []
        count = len({entry[1] for entry in held})
        last = held[-1][3]
        if all(getattr(entry[3], "status", None) == 404 for entry in held):
            asked = f"each of the first {count} records asked" if count > 1 else "the one record asked"
            self._close(name, "refused", f"Intercom answered 404 for {asked} and served none ({last}): it does not "
                                         "serve this endpoint to this workspace or API version")
        else:
            self._close(name, "failed", f"the first {count} fetches failed and none answered (last: {last})")

    def _close(self, name, kind, detail):
        self.closed[name] = (kind, detail)
        held = self._held.pop(name, [])
        if kind == "failed":  # completing streams owe what their records miss; child streams stop instead
            self.news += [("owe", s, r, reason) for s, r, reason, _ in held if s in self.completing]
        self._tell(name, sorted(self._users.get(name, ())))

    def _tell(self, name, streams):
        streams = [stream for stream in streams if (stream, name) not in self._told]
        if not streams:
            return
        self._told.update((stream, name) for stream in streams)
        kind, detail = self.closed[name]
        children = [stream for stream in streams if stream not in self.completing]
        if children:
            self.news.append(("skip" if kind == "refused" else "fail", children, detail))
        if kind == "refused" and any(stream in self.completing for stream in streams) and \
                ("partial", name) not in self._told:  # one warning for all of them
            self._told.add(("partial", name))
            self.news.append(("partial", sorted(self.completing), f"{detail}; their {name} keep the items their "
                                                                   "records embed (has_more stays true)"))


def in_order(pages, plan, pool, client, endpoints=None):
    """(record, takers, {stream: {name: result}}, {stream: failure}), each record once its fetches are done,
    PAGE_END after each page once every record before it is out.

    A record's fetches run in the pool while later records are read: up to `window` fetches and BACKLOG
    records wait in line, so a slow fetch holds back neither the pages nor the other fetches, and memory stays
    bounded. A record needing no fetch does not wait in line (it only would for the 300 ms of the fetch ahead
    of it, and a line of every record read meanwhile caps the records a second at BACKLOG / latency), unless a
    record with its id is in line: two copies of one record (a search repeats a record updated while it is
    read) come out in the order read, the newer last. The window is twice what should be in flight
    (concurrency.py): fetches leave the line in record order, so those done behind a slower one still count in
    it, and a line of only the in-flight target kept fewer than that in flight (the contact-heavy benchmark at
    300 ms waited on it: 1.36x its rate-limit bound, 1.16x with twice; docs/PERFORMANCE.md). Much more would only
    queue in the pool, ahead of other sources' fetches.

    Each outcome is judged by `endpoints` as its record comes out (in record order): a failure is owed, held or
    dropped there, and a closed endpoint is no longer asked (its fetches still in line are cancelled)."""
    endpoints = Endpoints() if endpoints is None else endpoints
    line, jobs, waiting = collections.deque(), 0, collections.Counter()  # waiting: ids of the records in line
    closed = 0
    for page in pages:
        window = LINE_PER_SLOT * client.limiter.in_flight_target()
        for record in page:
            takers, work = plan(record)
            early = NOTHING
            if work:
                work, early = endpoints.admit(work)
            key = record.get("id")
            if not work and (not line or key not in waiting):
                yield record, takers, NOTHING, early
                continue
            futures = _submit(work, pool, client) if work else NOTHING
            jobs += len(futures)
            line.append((record, takers, futures, early))
            waiting[key] += 1
            while line and (jobs > window or len(line) > BACKLOG or _ready(line[0], endpoints.closed)):
                entry = line.popleft()
                jobs -= len(entry[2])
                _leaves(waiting, entry[0])
                yield _resolved(entry, endpoints)
                if len(endpoints.closed) != closed:
                    closed = len(endpoints.closed)
                    _cancel(line, endpoints.closed)
        if line:
            line.append((PAGE_END, page, NOTHING, NOTHING))
        else:
            yield PAGE_END, page, NOTHING, NOTHING
    while line:
        entry = line.popleft()
        _leaves(waiting, entry[0])
        yield _resolved(entry, endpoints)
        if len(endpoints.closed) != closed:
            closed = len(endpoints.closed)
            _cancel(line, endpoints.closed)


def _leaves(waiting, record):
    if record is not PAGE_END:
        key = record.get("id")
        waiting[key] -= 1
        if not waiting[key]:
            del waiting[key]


def _submit(work, pool, client):
    """{key: future}; equal fetches (one contact's tag list wanted by users and by contact_tags) share one call."""
    futures, shared = {}, {}
    for key, fetch in work.items():
        if fetch not in shared:
            shared[fetch] = pool.submit(fetch, client)
        futures[key] = shared[fetch]
    return futures


def _ready(entry, closed):
    """Whether a record's fetches are done; one of a closed endpoint is not waited for."""
    return all(future.done() or name in closed for (_, name), future in entry[2].items())


def _cancel(line, closed):
    """The fetches in line of endpoints just closed: those not started are never made."""
    for entry in line:
        for (_, name), future in entry[2].items():
            if name in closed:
                future.cancel()


def _resolved(entry, endpoints):
    """A record's fetch results and failures, each judged by `endpoints`: a failed fetch (after its retries, or
    a 404) gives None, and a failure owed now (its reason) or not (HELD)."""
    record, takers, futures, early = entry
    fetched, failures = {}, dict(early)
    record_id = None if record is PAGE_END else str(record.get("id"))
    for (stream_name, name), future in futures.items():
        result = error = None
        if name not in endpoints.closed:
            try:
                result = future.result()
            except ApiError as exc:
                if exc.status == 401:
                    raise
                error = exc
        outcome = endpoints.judge(stream_name, name, record_id, error)
        if outcome is not None:
            result, failures[stream_name] = None, outcome
        fetched.setdefault(stream_name, {})[name] = result
    return record, takers, fetched, failures
