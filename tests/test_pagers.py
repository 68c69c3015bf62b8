"""numbered_pages' rules, on canned responses: follow `pages.next` in each of its forms, fall back to
`total_pages` when `next` is missing, and refuse a `next` that repeats itself rather than loop forever."""
import pytest

from tap_intercom.reading import pagers
from tap_intercom.errors import ApiError


class CannedClient:
    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def get(self, path, params=None, endpoint=None):
        self.calls.append((path, dict(params or {})))
        return self.answer(path, params or {})


def test_pages_without_next_are_read_to_total_pages_even_past_an_empty_one():
    pages = {1: [1, 2], 2: [], 3: [3]}
    client = CannedClient(lambda path, q: {"data": pages[q["page"]],
                                           "pages": {"page": q["page"], "total_pages": 3}})
    assert [r for page in pagers.numbered_pages(client, "/news/news_items", "data", 2) for r in page] == [1, 2, 3]
    assert [q["page"] for _, q in client.calls] == [1, 2, 3]


def test_next_as_url_and_as_cursor_with_the_window_kept():
    def answer(path, q):
        if path == "/admins/activity_logs" and "starting_after" not in q:
            return {"logs": [1], "pages": {"next": {"page": 2, "starting_after": "c2"}}}
        if q.get("starting_after") == "c2":
            return {"logs": [2], "pages": {"next": "/admins/activity_logs?page=3&created_at_after=5"}}
        return {"logs": [3], "pages": {"next": None, "page": 3, "total_pages": 3}}
    client = CannedClient(answer)
    window = {"created_at_after": 5, "created_at_before": 9}
    pages = pagers.numbered_pages(client, "/admins/activity_logs", "logs", 50, params=window)
    got = [r for page in pages for r in page]
    assert got == [1, 2, 3]
    assert client.calls[1][1] == {**window, "per_page": 50, "starting_after": "c2"}
    assert client.calls[2] == ("/admins/activity_logs?page=3&created_at_after=5", {})


def test_a_next_that_repeats_itself_is_an_error_not_an_endless_loop():
    client = CannedClient(lambda path, q: {"data": [1], "pages": {"next": {"starting_after": "same"}}})
    with pytest.raises(ApiError, match="same page again"):
        list(pagers.numbered_pages(client, "/articles", "data", 50))


def test_deleted_conversations_read_on_past_items_without_a_deleted_at():
    """A page where some items lack `deleted_at` still says how far back it reaches by the others."""
    from tap_intercom.reading.deleted_conversations import deleted_pages

    class VersionedClient(CannedClient):
        def get(self, path, params=None, endpoint=None, version=None):
            return super().get(path, params, endpoint)

    pages = {1: [{"id": "3", "deleted_at": 300}, {"id": "2"}], 2: [{"id": "1", "deleted_at": 100}]}
    client = VersionedClient(lambda path, q: {"conversations": pages[q["page"]],
                                              "pages": {"page": q["page"], "total_pages": 2}})
    got = [r["id"] for page in deleted_pages(client, "/conversations/deleted", "conversations", since=200) for r in page]
    assert got == ["3", "2", "1"]  # page 1 reaches back only to 300: page 2 is read, and it ends the read
