"""Partitioned searches: a search's range of updated_at read as windows, several at once, each with its own cursor.

A search cursor is sequential (each page needs the previous page's cursor), so one search walks one page per
round trip however large the rate budget. Windows of updated_at are independent searches, read concurrently:
- The first window is the whole range, [since, open). Its first page tells how many records match
  (`total_count`). Little to read: it stays the only window, and the run makes no extra call. More: the rest of
  its range is split, evenly in time, into windows; the first window reads on until its records pass the first
  split point, and hands over only those before it (the next window's query starts there). Each new window's
  first page may split it again.
- How many windows: Little's law. A window is a chain of round trips, so spending the budget on a search takes
  rate x latency windows in flight (50 at 166 a second and 300 ms), not a fixed few: the remaining pages are
  split into about as many windows as the in-flight target (concurrency.py) wants, of at most `window_pages`
  pages and, unless that is smaller, at least MIN_WINDOW_PAGES (each window's last page is partial: smaller
  windows cost more calls). Later splits keep that size: records are not spread evenly in time (more recent
  ones are more), and one window left much longer than the others would be a chain read alone at the end.
- Contact search matches dates by whole day in the workspace's timezone (API-NOTES 3.7). A window starting at T
  and ending at T' asks for `> T - 1 day AND < T'`: [T's day, T''s day), whatever the timezone, so consecutive
  windows tile without a gap. Such windows split only at whole days.
- Windows start oldest first, as many at once as the in-flight target (shared with the per-record fetches under
  the one rate limiter, which sends page chains first); each is sorted ascending, and its thread hands its
  pages over in order. A window reads its next page only while fewer than WAITING pages wait for the engine:
  the windows in flight follow the budget, the pages held follow what the engine takes, so memory stays flat
  (a server slowed by a large workspace raises the measured latency, and with it the windows, not the pages held).
- Bookmarks: every page handed to the engine carries `safe`, the end of the longest run of completed windows
  from the start (and of the first unfinished window's records read so far, when sorted): every matching record
  before it is on that page or an earlier one. A window of unsorted results moves nothing until it completes.
"""
import logging
import math
import queue
import threading
from dataclasses import dataclass
from typing import Optional

from tap_intercom.http.concurrency import FetchPool
from tap_intercom.records.timestamps import cursor_epoch, epoch_to_rfc3339

LOGGER = logging.getLogger("tap_intercom")

DAY = 86400
# A window asking from T's day starts at that day's midnight in the workspace's timezone: no earlier than 25 hours
# (a day with a daylight-saving change) before T.
DAY_SLACK = DAY + 3600
MIN_ACTIVE = 2  # windows read at once, at least (before any latency is measured, the target is its floor)
MIN_WINDOW_PAGES = 2  # smaller windows (below `window_pages`) waste more on partial last pages than they save
WAITING = 4  # pages read and waiting for the engine, at most, beyond those still in flight
_DONE = object()


class Page(list):
    """Records of one window's page, and the bookmark that is safe once they (and earlier pages) are written."""

    def __init__(self, records, safe):
        super().__init__(records)
        self.safe = safe


@dataclass(eq=False)
class Window:
    start: int  # the query's lower bound (T above)
    end: Optional[int]  # the next window's start, the query's upper bound; None: open
    floor: int  # every matching record before it is in an earlier window
    stop_at: Optional[int] = None  # split off later: reading may stop once a record at or past it is read
    reached: Optional[int] = None  # the newest updated_at handed over, while the window is sorted
    sorted: bool = True
    started: bool = False
    done: bool = False


def partitioned(client, source, since, page_size, role, now, window_pages):
    """The search's pages from `since` on, windows read concurrently; each page a `Page` carrying `safe`."""
    return _Partition(client, source, since, page_size, role, now, window_pages).pages()


class _Partition:
    def __init__(self, client, source, since, page_size, role, now, window_pages):
        self.client, self.source, self.page_size, self.role, self.now = client, source, page_size, role, now
        self.window_pages = window_pages
        self.windows = [Window(since, None, since)]
        self.lock = threading.Lock()
        self.handoff = queue.Queue()  # bounded by the page slots
        self.room = threading.Condition()  # page slots: `held` pages fetched or waiting, of `allowed` + WAITING
        self.held, self.allowed = 0, MIN_ACTIVE
        self.size = None  # pages per window (_window_pages)
        # long-lived reader threads, started only as windows need them (FetchPool): each keeps its own keep-alive
        # connection (transport.py) across windows
        self.readers = FetchPool(client.limiter.in_flight_ceiling(), thread_name_prefix="window")
        self.closed = threading.Event()
        self.high = None  # the newest updated_at handed over

    def pages(self):
        active, safe = 0, None
        try:
            while True:
                active += self._start_more(active)
                if active == 0:
                    return
                window, page, error = self.handoff.get()
                if error is not None:
                    raise error
                self._free(0 if page is _DONE else 1)  # either way the handoff is shorter: a window may read on
                with self.lock:
                    if page is _DONE:
                        window.done, page = True, ()
                        active -= 1
                    else:
                        self._handed_over(window, page)
                    moved = self._safe()
                if page or (moved is not None and moved != safe):
                    safe = moved
                    yield Page(page, safe)
        finally:
            self.closed.set()
            self.readers.shutdown(wait=False)

    def _wanted(self):
        """Windows to keep in flight: the in-flight target, rate x latency (concurrency.py)."""
        return max(MIN_ACTIVE, self.client.limiter.in_flight_target())

    def _start_more(self, active):
        allowed = self._wanted()
        if allowed > self.allowed:  # more room for pages: wake the windows waiting for it
            with self.room:
                self.allowed = allowed
                self.room.notify_all()
        elif allowed < self.allowed:
            self.allowed = allowed
        started = 0
        with self.lock:
            for window in self.windows:
                if active + started >= allowed:
                    break
                if not window.started:
                    window.started = True
                    started += 1
                    self.readers.submit(self._read, window)
        return started

    def _read(self, window):
        """One window's pages, in order, into the handoff; the first page may split the window."""
        try:
            first, ordered, newest = True, True, None
            pages = iter(self.source.pages(self.client, window.start, self.page_size, self.role, window.end))
            while self._slot():
                page = next(pages, None)
                if page is None:
                    self._free()
                    break
                low, high, ascending = page.span = _span(page, self.source.cursor)  # kept for _handed_over
                ordered = ordered and page.sorted and ascending and (newest is None or low is None or low >= newest)
                newest = high if high is not None else newest
                if first and ordered and high is not None:
                    self._split(window, page.total_count, len(page), high)
                first = False
                if not ordered:
                    window.stop_at = None  # unsorted: only the end of its results completes the window
                past = window.stop_at is not None and high is not None and high >= window.stop_at
                if past:  # the records from stop_at on are the next window's, whose query starts there: handed
                    # over here too they would be written twice and their conversation parts fetched twice
                    page[:] = [record for record in page if not _at_or_past(record, self.source.cursor,
                                                                              window.stop_at)]
                    page.span = _span(page, self.source.cursor)
                self.handoff.put((window, page, None))
                if past:
                    break  # sorted ascending: every record before stop_at is read; the next window has the rest
            self.handoff.put((window, _DONE, None))
        except BaseException as exc:  # re-raised in the consuming thread
            self.handoff.put((window, None, exc))

    def _slot(self):
        """Wait for a page slot (False: the reading was abandoned)."""
        with self.room:
            while not self.closed.is_set():
                # Pages wait for the engine only a few at a time: when it is the slower side (one core, a server
                # answering fast), more windows would only pile parsed pages up in memory.
                if self.held < self.allowed + WAITING and self.handoff.qsize() < WAITING:
                    self.held += 1
                    return True
                self.room.wait(1.0)
        return False

    def _free(self, pages=1):
        with self.room:
            self.held -= pages
            self.room.notify()

    def _window_pages(self, pages_left):
        """Pages per window, set by the first split: the search's remaining pages over the windows the budget wants
        in flight. Later splits keep it, so that no window becomes a chain much longer than the others."""
        with self.lock:
            if self.size is None:
                self.size = min(self.window_pages, max(MIN_WINDOW_PAGES, math.ceil(pages_left / self._wanted())))
            return self.size

    def _split(self, window, total, read, newest):
        """Split what is left of the window into windows of its share of pages (`_window_pages`), evenly in time."""
        if not isinstance(total, int) or total - read <= 0:
            return
        window_records = self._window_pages(math.ceil((total - read) / self.page_size)) * self.page_size
        if total <= 2 * window_records:
            return
        end = window.end if window.end is not None else max(self.now, newest + 1)
        pieces = math.ceil((total - read) / window_records)
        step = (end - newest) / pieces
        granule = DAY if self.source.day_granular else 1
        points, previous = [], max(window.start, newest)
        for i in range(1, pieces):
            point = int(newest + step * i) // granule * granule
            if point - previous >= granule and end - point >= granule:
                points.append(point)
                previous = point
        if not points:
            return
        with self.lock:
            at = self.windows.index(window) + 1
            bounds = points + [window.end]
            self.windows[at:at] = [Window(start, following, self._floor(start))
                                   for start, following in zip(points, bounds[1:])]
            window.stop_at = points[0]
        LOGGER.info("%s: %d records from %s on; reading them as %d windows of updated_at", self.source.path,
                    total, epoch_to_rfc3339(window.start), len(points) + 1)

    def _floor(self, start):
        return start - DAY_SLACK if self.source.day_granular else start

    def _handed_over(self, window, page):
        low, high, ascending = page.span
        if high is None:
            return
        self.high = high if self.high is None else max(self.high, high)
        if not (page.sorted and ascending) or (window.reached is not None and low < window.reached):
            window.sorted = False
        if window.sorted:
            window.reached = high

    def _safe(self):
        """The bookmark every record handed over so far makes safe (None: nothing yet)."""
        for i, window in enumerate(self.windows):
            if window.done:
                continue
            value = window.floor if i > 0 else None
            if window.sorted and window.reached is not None:
                value = window.reached if value is None else max(value, window.reached)
            if value is not None and i + 1 < len(self.windows):  # never into the next window, whatever `<` does
                value = min(value, self.windows[i + 1].floor)
            return value
        return self.high


def _at_or_past(record, field, moment):
    cursor = cursor_epoch(record.get(field))
    return cursor is not None and cursor >= moment


def _span(page, field):
    """(oldest, newest, ascending) of a page's records' cursor field (updated_at)."""
    cursors = [value for value in (cursor_epoch(record.get(field)) for record in page) if value is not None]
    if not cursors:
        return None, None, True
    return cursors[0], max(cursors), all(a <= b for a, b in zip(cursors, cursors[1:]))
