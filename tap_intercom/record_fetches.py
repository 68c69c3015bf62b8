"""Per-record fetches (conversation parts, contacts' long tag/company/note lists), handed back in the source's order.

They run in the engine's bounded worker pool while later records are read; the engine gets each record only with
its fetches finished, so a batch never holds a record whose children are missing.
"""
import collections

from tap_intercom.errors import ApiError

PAGE_END = object()  # yielded after each page's records, with the page in place of the takers
NOTHING = {}  # no fetches, no failures
BACKLOG = 1000  # records waiting behind the oldest unfinished fetch


def in_order(pages, plan, pool, client):
    """(record, takers, {stream: {name: result}}, {stream: failure}) in the source's order, PAGE_END after
    each page.

    A record's fetches run in the pool while later records are read: up to `window` fetches and
    BACKLOG records wait in line, so a slow fetch holds back neither the pages nor the other fetches,
    and memory stays bounded. Records needing no fetch skip the line when it is empty. The window is what
    should be in flight (concurrency.py): more would only queue in the pool, ahead of other sources' fetches."""
    pending, jobs = collections.deque(), 0
    for page in pages:
        window = client.limiter.in_flight_target()
        for record in page:
            takers, work = plan(record)
            if not work and not pending:
                yield record, takers, NOTHING, NOTHING
                continue
            futures = _submit(work, pool, client)
            jobs += len(futures)
            pending.append((record, takers, futures))
            while pending and (jobs > window or len(pending) > BACKLOG or _ready(pending[0])):
                entry = pending.popleft()
                jobs -= len(entry[2])
                yield _resolved(entry)
        if pending:
            pending.append((PAGE_END, page, {}))
        else:
            yield PAGE_END, page, NOTHING, NOTHING
    while pending:
        yield _resolved(pending.popleft())


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
