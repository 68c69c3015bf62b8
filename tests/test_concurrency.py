"""The fetch pool (concurrency.FetchPool): threads only as many as jobs outstanding at once, whatever the run's
length (its memory must not grow with the workspace); results, errors and cancelling as with ThreadPoolExecutor."""
import threading

import pytest

from tap_intercom.http.concurrency import FetchPool


def test_one_job_at_a_time_keeps_one_thread():
    pool = FetchPool(100)
    try:
        assert [pool.submit(lambda n: n * 2, n).result(timeout=5) for n in range(500)] == [n * 2 for n in range(500)]
        assert len(pool.threads) == 1
    finally:
        pool.shutdown()


def test_threads_follow_outstanding_jobs_up_to_the_ceiling():
    release = threading.Event()
    started = []
    pool = FetchPool(3, initializer=lambda: started.append(threading.current_thread().name))
    try:
        futures = [pool.submit(release.wait, 5) for _ in range(5)]
        assert len(pool.threads) == 3
        release.set()
        assert all(f.result(timeout=5) for f in futures)
        assert len(started) == 3  # the initializer ran once per thread
        failing = pool.submit(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            failing.result(timeout=5)
        assert len(pool.threads) == 3
    finally:
        pool.shutdown()
    assert not any(thread.is_alive() for thread in pool.threads)


def test_shutdown_cancels_queued_jobs_and_lets_running_ones_finish():
    release, running = threading.Event(), threading.Event()
    pool = FetchPool(1)

    def first():
        running.set()
        return release.wait(5)

    busy = pool.submit(first)
    queued = [pool.submit(lambda: "never") for _ in range(3)]
    assert running.wait(5)
    pool.shutdown(wait=False, cancel_futures=True)
    assert all(f.cancelled() for f in queued)
    release.set()
    assert busy.result(timeout=5) is True
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)
    pool.threads[0].join(5)
    assert not pool.threads[0].is_alive()
