"""Intercom's pagination styles, each once. A pager yields pages (lists of raw records) in API order."""
import logging
import time

from tap_intercom.errors import AnswerLost, ApiError, NotFound, ScrollExists

LOGGER = logging.getLogger("tap_intercom")

SCROLL_WAIT_SECONDS = 120  # Intercom closes an idle scroll after 1 minute; wait a little longer than that
SCROLL_RESTARTS = 5


def listing_pages(client, path, envelope, params=None, endpoint=None):
    """One GET (admins, teams, tags, segments, data attributes); follows `pages.next` should one appear,
    as a URL or as a cursor."""
    url, seen = path, set()
    while url:
        _check_new(seen, (url, repr(params)), path)
        response = client.get(url, params=params, endpoint=endpoint or path)
        yield response.get(envelope) or []
        pages = response.get("pages")
        following = pages.get("next") if isinstance(pages, dict) else None
        if isinstance(following, str) and following:
            url, params = following, None
        elif isinstance(following, dict) and following.get("starting_after"):
            params = {**(params or {}), "starting_after": following["starting_after"]}
        else:
            url = None


class SearchPage(list):
    """A page of search results, with what the search said of all its results."""
    total_count = None  # matching records, as Intercom counts them
    sorted = True  # False when the search refused the sort


def search_pages(client, path, envelope, query, sort, page_size):
    """POST search with the cursor in the body. Cursors are stateless: a record updated between two pages
    moves behind the cursor and comes again, which is why the engine sorts ascending by updated_at."""
    body = {"query": query, "sort": sort, "pagination": {"per_page": page_size}}
    seen = set()
    while True:
        try:
            response = client.post(path, body, endpoint=path)
        except ApiError as exc:
            # Sorting conversation search is not in Intercom's spec (it works in practice). Refused, the
            # search still works unsorted: its pages say so, and windows.py moves bookmarks only when it completes.
            if exc.status != 400 or "sort" not in body or "starting_after" in body["pagination"]:
                raise
            LOGGER.warning("%s refused the sort (%s); reading it unsorted", path, exc)
            body = {key: value for key, value in body.items() if key != "sort"}
            continue
        page = SearchPage(response.get(envelope) or [])
        page.total_count, page.sorted = response.get("total_count"), "sort" in body
        yield page
        following = (response.get("pages") or {}).get("next")
        cursor = following.get("starting_after") if isinstance(following, dict) else None
        if not cursor:
            return
        _check_new(seen, cursor, path)
        body = {**body, "pagination": {"per_page": page_size, "starting_after": cursor}}


def numbered_pages(client, path, envelope, page_size, endpoint=None, params=None):
    """GET ?page=N&per_page=M (contacts' company and note lists, articles, collections, news; activity logs
    with their time window in `params`). Follows `pages.next` (a URL or a cursor) where it appears, else asks
    for the next page while `pages.total_pages` says there is one: some lists show `pages` without `next`, and
    stopping at a missing `next` would lose their later pages."""
    page, url, seen = 1, path, set()
    query = {**(params or {}), "page": 1, "per_page": page_size}
    while True:
        response = client.get(url, params=query, endpoint=endpoint or path)
        yield response.get(envelope) or []
        pages = response.get("pages")
        pages = pages if isinstance(pages, dict) else {}
        following, total = pages.get("next"), pages.get("total_pages")
        if following:
            _check_new(seen, repr(following), path)
        if isinstance(following, str) and following:
            url, query = following, None
        elif isinstance(following, dict) and following.get("starting_after"):
            url = path
            query = {**(params or {}), "per_page": page_size, "starting_after": following["starting_after"]}
        elif isinstance(total, int) and page < total:
            url, query = path, {**(params or {}), "page": page + 1, "per_page": page_size}
        else:
            return
        page += 1


def scroll_pages(client, path, envelope):
    """GET /companies/scroll, following scroll_param until a page with no data.

    Intercom allows one open scroll per app: a scroll left open by a killed run answers 400 scroll_exists
    until it idles out (1 minute), so the tap waits and retries. A scroll cannot resume from a point: when
    it expires mid-way (404) or Intercom asks to restart it, it starts again from the first page, repeating
    records (targets upsert) rather than missing any. The client reports both as NotFound. A continuation
    whose answer was lost (timeout, dropped connection, 502/504) may have moved the scroll on Intercom's
    side: retrying it could skip a page, so the scroll restarts then too (AnswerLost).
    """
    restarts = 0
    while True:
        try:
            yield from _one_scroll(client, path, envelope)
            return
        except (NotFound, AnswerLost) as exc:
            restarts += 1
            if restarts > SCROLL_RESTARTS:
                raise ApiError(f"the company scroll broke {restarts} times before reaching its end ({exc})") from None
            LOGGER.warning("company scroll broke mid-way (%s); restarting it from the first page (%d of %d)",
                           exc, restarts, SCROLL_RESTARTS)


def _one_scroll(client, path, envelope):
    response = _open_scroll(client, path)
    seen = set()
    while True:
        records = response.get(envelope) or []
        if not records:
            return
        ids = {str(record.get("id")) for record in records}
        if ids <= seen:  # the scroll_param stays the same on every page: a loop shows as pages seen before
            raise ApiError(f"GET {path} returned a page of companies it had already returned (a loop); stopping")
        seen |= ids
        yield records
        scroll_param = response.get("scroll_param")
        if not scroll_param:
            raise ApiError(f"GET {path} returned companies but no scroll_param to continue with")
        response = client.get(path, params={"scroll_param": scroll_param}, endpoint=path, replayable=False)


def _open_scroll(client, path):
    deadline = time.monotonic() + SCROLL_WAIT_SECONDS
    delay = 1.0
    while True:
        try:
            return client.get(path, endpoint=path)
        except ScrollExists:
            if time.monotonic() + delay > deadline:
                raise ApiError(f"another company scroll of this Intercom app stayed open for over "
                               f"{SCROLL_WAIT_SECONDS} s (another tap or export running on the same app?)") from None
            LOGGER.info("a company scroll is already open (left by another run?); retrying in %.0f s", delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def _check_new(seen, cursor, path):
    """A cursor or next-page link seen before in the same read would loop forever: end the read instead."""
    if cursor in seen:
        raise ApiError(f"{path} returned the same next-page cursor twice (a loop); stopping rather than "
                       "reading the same page again")
    seen.add(cursor)
