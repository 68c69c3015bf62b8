"""GET /conversations/deleted: conversations deleted in Intercom, newest first, so a run stops where its
bookmark lies. Intercom serves it from Intercom-Version 2.16 on: the tap asks this call alone in 2.16,
whatever `api_version` says, and skips the stream with one warning where it is refused (400 or 404)."""
import logging

from tap_intercom.errors import ApiError, NotFound

LOGGER = logging.getLogger("tap_intercom")

VERSION = "2.16"
PAGE_SIZE = 60  # Intercom's maximum for this list


def deleted_pages(client, path, envelope, since):
    """Pages of {id, deleted_at, metrics_retained}, newest first, until one reaches back past `since`."""
    page = 1
    while True:
        try:
            response = client.get(path, params={"page": page, "per_page": PAGE_SIZE, "order": "desc"},
                                  endpoint=path, version=VERSION)
        except ApiError as exc:
            if page == 1 and (isinstance(exc, NotFound) or exc.status == 400):
                LOGGER.warning("deleted_conversations: skipped, %s refused it (%s)", path, exc)
                return
            raise
        records = response.get(envelope) or []
        yield records
        pages = response.get("pages") or {}
        total = pages.get("total_pages") if isinstance(pages, dict) else None
        oldest = min((_int(r.get("deleted_at")) for r in records), default=None)
        if not records or not isinstance(total, int) or page >= total or (oldest is not None and oldest < since):
            return
        page += 1


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
