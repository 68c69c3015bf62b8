"""GET /conversations/deleted: conversations deleted in Intercom, newest first, so a run stops where its
bookmark lies. Intercom serves it from Intercom-Version 2.16 on: the tap asks this call alone in 2.16,
whatever `api_version` says, and skips the stream with one warning where it is refused (400 or 404). An owed
fetch (owed.py) asks it too, whether a conversation that answers 404 was deleted."""
import logging

from tap_intercom.errors import ApiError, NotFound
from tap_intercom.records.timestamps import cursor_epoch

LOGGER = logging.getLogger("tap_intercom")

VERSION = "2.16"
PAGE_SIZE = 60  # Intercom's maximum for this list
DELETED_PAGES = 5  # pages (newest deletions first) searched for one id


def deleted_pages(client, path, envelope, since):
    """Pages of {id, deleted_at, metrics_retained}, newest first, until one reaches back past `since`."""
    page = 1
    while True:
        try:
            response = _page(client, path, page)
        except ApiError as exc:
            if page == 1 and (isinstance(exc, NotFound) or exc.status == 400):
                LOGGER.warning("deleted_conversations: skipped, %s refused it (%s)", path, exc)
                client.skipped.add("deleted_conversations")
                return
            raise
        records = response.get(envelope) or []
        yield records
        # An item without a usable deleted_at says nothing about how far back the page reaches.
        oldest = min((when for when in (cursor_epoch(r.get("deleted_at")) for r in records if isinstance(r, dict))
                      if when is not None), default=None)
        if _last(response, records, page) or (oldest is not None and oldest < since):
            return
        page += 1


def deleted_conversation(client, conversation_id):
    """Whether Intercom lists the conversation as deleted (GET /conversations/deleted, newest deletions first),
    for an owed fetch (owed.py). An API or workspace without it (400, 404) cannot confirm: the fetch stays owed."""
    for page in range(1, DELETED_PAGES + 1):
        try:
            response = _page(client, "/conversations/deleted", page)
        except ApiError as exc:
            if exc.status == 401:
                raise
            return False
        items = response.get("conversations") or []
        if any(str(item.get("id")) == conversation_id for item in items if isinstance(item, dict)):
            return True
        if _last(response, items, page):
            return False
    return False


def _page(client, path, page):
    return client.get(path, params={"page": page, "per_page": PAGE_SIZE, "order": "desc"}, endpoint=path,
                      version=VERSION)


def _last(response, items, page):
    """Whether no page follows this one: it is empty, or `pages.total_pages` says it is the last."""
    pages = response.get("pages") or {}
    total = pages.get("total_pages") if isinstance(pages, dict) else None
    return not items or not isinstance(total, int) or page >= total

