"""How many requests to keep in flight: Little's law, in flight = rate x latency.

Intercom's budget is a rate (10,000 requests a minute per app) and every request is a round trip. To spend the
budget the tap must keep rate x latency requests in flight: at 166 a second and 300 ms, 50. Fewer leaves budget
unused however much work is waiting; more only queue behind the rate limiter. The latency is measured (the low
end of recent response times, see LOW), the rate is the budget's; the headroom lets a window's budget be spent
early rather than late, and `max_workers` is the ceiling.
The low end, not the mean: Little's law wants the time a call takes when nothing queues (the network's round trip,
as BBR takes the least round trip). A server that is itself the slower side (busy with a large workspace, or with
what the tap already sends) answers later the more it is sent; a mean follows that, and a larger target then only
queues more at the server while holding more pages and fetch results in memory: peak RSS grew with the workspace
(70 -> 150 MB from 10,000 to 100,000 contacts on the emulator).
"""
import collections
import math
import queue
import threading
from concurrent.futures import Future

HEADROOM = 1.5
FLOOR = 4  # in flight at least, whatever the sums say: a quick server still overlaps a few calls
SAMPLES = 64  # recent response times the latency is taken from
LOW = 0.1  # the latency: this quantile of them (the 7th fastest of 64)
EVERY = 8  # responses between two recomputations


class InFlightTarget:
    def __init__(self, ceiling):
        self.ceiling = ceiling
        self.latency = None  # seconds, the LOW quantile of the recent samples; None until the first response
        self.samples = collections.deque(maxlen=SAMPLES)
        self.observed = 0

    def observe(self, seconds):
        self.samples.append(seconds)
        self.observed += 1
        if self.latency is None or self.observed % EVERY == 0:
            ordered = sorted(self.samples)
            self.latency = ordered[int(len(ordered) * LOW)]

    def target(self, rate_per_second):
        """Requests to keep in flight at `rate_per_second`, between FLOOR and the ceiling."""
        floor = min(FLOOR, self.ceiling)
        if self.latency is None:
            return floor
        return max(floor, min(self.ceiling, math.ceil(rate_per_second * self.latency * HEADROOM) + 1))


class FetchPool:
    """The per-record fetches' worker threads (ThreadPoolExecutor's submit/shutdown), started only while every
    thread has a job: ThreadPoolExecutor also starts one when a worker has finished a job but not yet said so,
    and over a long run those races grow it to `max_workers` threads (each with its connection, stack and
    memory arena), so the tap's memory grew with the workspace. Here threads <= jobs ever outstanding at once."""

    def __init__(self, max_workers, thread_name_prefix="fetch", initializer=None):
        self.ceiling, self.prefix, self.initializer = max_workers, thread_name_prefix, initializer
        self.jobs = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.threads = []
        self.outstanding = 0  # submitted, not finished
        self.closed = False

    def submit(self, fn, *args):
        future = Future()
        with self.lock:
            if self.closed:
                raise RuntimeError("the fetch pool is shut down")
            self.outstanding += 1
            if self.outstanding > len(self.threads) and len(self.threads) < self.ceiling:
                thread = threading.Thread(target=self._work, name=f"{self.prefix}_{len(self.threads)}")
                self.threads.append(thread)
                thread.start()
            self.jobs.put((future, fn, args))
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        with self.lock:
            self.closed = True
            threads = list(self.threads)
        if cancel_futures:
            while True:
                try:
                    job = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[0].cancel()
        for _ in threads:
            self.jobs.put(None)
        if wait:
            for thread in threads:
                thread.join()

    def _work(self):
        if self.initializer is not None:
            self.initializer()
        while True:
            job = self.jobs.get()
            if job is None:
                return
            future, fn, args = job
            result = error = None
            running = future.set_running_or_notify_cancel()
            if running:
                try:
                    result = fn(*args)
                except BaseException as exc:  # the future carries it to whoever waits on it
                    error = exc
            with self.lock:  # free before the result shows: a submit it prompts finds this thread free
                self.outstanding -= 1
            if running and error is None:
                future.set_result(result)
            elif running:
                future.set_exception(error)
            del future, fn, args, job, result, error
