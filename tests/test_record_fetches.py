"""record_fetches.in_order: a record waits only for its own fetches (and an earlier copy of itself); a page's end
comes out only after every record before it, so the bookmark a page carries never passes a record not yet out."""
import threading
import time
from concurrent.futures import Future

from tap_intercom.reading.record_fetches import PAGE_END, in_order


class Limiter:
    def in_flight_target(self):
        return 10


class Client:
    limiter = Limiter()


class HeldPool:
    """Futures the test completes itself, as slow fetches finish."""

    def __init__(self):
        self.futures = []

    def submit(self, fetch, client):
        future = Future()
        self.futures.append(future)
        return future


def plan(record):
    return ["stream"], ({("stream", "list"): lambda client: None} if record.get("slow") else {})


def test_records_pass_a_slow_fetch_but_a_page_end_and_a_later_copy_wait_for_it():
    slow, copy = {"id": "1", "slow": True}, {"id": "1", "v": 2}
    page1, page2 = [slow, {"id": "2"}, {"id": "3"}], [{"id": "4"}, copy, {"id": "5"}]
    pool = HeldPool()
    out = in_order(iter([page1, page2]), plan, pool, Client())
    early = [next(out)[0]["id"] for _ in range(4)]
    assert early == ["2", "3", "4", "5"]  # not held behind record 1's fetch, nor is page 1's end passed
    pool.futures[0].set_result(["tag"])
    rest = list(out)
    assert [item[0] if item[0] is PAGE_END else item[0]["id"] for item in rest] == ["1", PAGE_END, "1", PAGE_END]
    assert rest[0][2] == {"stream": {"list": ["tag"]}} and rest[1][1] is page1 and rest[2][0] is copy
    assert rest[3][1] is page2


def test_without_fetches_everything_comes_in_order_with_each_page_end():
    pages = [[{"id": str(i)} for i in range(3)], [{"id": "3"}]]
    items = list(in_order(iter(pages), plan, HeldPool(), Client()))
    assert [item[0] if item[0] is PAGE_END else item[0]["id"] for item in items] == ["0", "1", "2", PAGE_END, "3",
                                                                                      PAGE_END]


class OneSlowPool:
    """The first fetch is slow (the test finishes it); every later one answers at once."""

    def __init__(self):
        self.futures = []

    def submit(self, fetch, client):
        future = Future()
        if self.futures:
            future.set_result(["tag"])
        self.futures.append(future)
        return future


def test_the_line_holds_twice_the_in_flight_target_so_fetches_done_behind_a_slow_one_do_not_starve_the_pool():
    # Fetches leave the line in record order: those done behind a slow one still count in it. With only the
    # in-flight target (10) in line, the reader stopped at 11 fetches and the pool ran dry behind the slow one.
    pages = [[{"id": str(i), "slow": True} for i in range(30)]]
    pool, items = OneSlowPool(), []
    reader = threading.Thread(target=lambda: items.extend(in_order(iter(pages), plan, pool, Client())), daemon=True)
    reader.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(pool.futures) < 21:
        time.sleep(0.01)
    time.sleep(0.2)  # had it not stopped to wait for the slow fetch, it would have sent more by now
    assert len(pool.futures) == 21 and not items  # waits for the first record only past twice the target
    pool.futures[0].set_result(["slow tag"])
    reader.join(10)
    assert [item[0]["id"] for item in items[:-1]] == [str(i) for i in range(30)] and items[-1][0] is PAGE_END
    assert items[0][2] == {"stream": {"list": ["slow tag"]}}
