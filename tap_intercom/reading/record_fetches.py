"""Per-record fetches (conversation parts, contacts' long tag/company/note lists): each record handed back once its
own are done, and each page's end once every record before it is.

They run in the engine's bounded worker pool while later records are read; the engine gets each record only with
its fetches finished, so a batch never holds a record whose children are missing.
"""
import collections

from tap_intercom.errors import ApiError

PAGE_END = object()  # yielded after each page's records, with the page in place of the takers
NOTHING = {}  # no fetches, no failures
BACKLOG = 1000  # records waiting behind the oldest unfinished fetch


def in_order(pages, plan, pool, client):
    """(record, takers, {stream: {name: result}}, {stream: failure}), each record once its fetches are done,
    PAGE_END after each page once every record before it is out.

    A record's fetches run in the pool while later records are read: up to `window` fetches and BACKLOG
    records wait in line, so a slow fetch holds back neither the pages nor the other fetches, and memory stays
    bounded. A record needing no fetch does not wait in line (it only would for the 300 ms of the fetch ahead
    of it, and a line of every record read meanwhile caps the records a second at BACKLOG / latency), unless a
    record with its id is in line: two copies of one record (a search repeats a record updated while it is
    read) come out in the order read, the newer last. The window is what should be in flight
    (concurrency.py): more would only queue in the pool, ahead of other sources' fetches."""
    line, jobs, waiting = collections.deque(), 0, collections.Counter()  # waiting: ids of the records in line
    for page in pages:
        window = client.limiter.in_flight_target()
        for record in page:
            takers, work = plan(record)
            key = record.get("id")
            if not work and (not line or key not in waiting):
                yield record, takers, NOTHING, NOTHING
                continue
            futures = _submit(work, pool, client) if work else NOTHING
            jobs += len(futures)
            line.append((record, takers, futures))
            waiting[key] += 1
            while line and (jobs > window or len(line) > BACKLOG or _ready(line[0])):
                entry = line.popleft()
                jobs -= len(entry[2])
                _leaves(waiting, entry[0])
                yield _resolved(entry)
        if line:
            line.append((PAGE_END, page, NOTHING))
        else:
            yield PAGE_END, page, NOTHING, NOTHING
    while line:
        entry = line.popleft()
        _leaves(waiting, entry[0])
        yield _resolved(entry)


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
