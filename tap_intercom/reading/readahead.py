"""Pages read ahead of the engine in a thread of their own, so the API and the engine work at the same time."""
import json
import os
import queue
import tempfile
import threading

from tap_intercom.records.output import dumps, loads

_END = object()


def prefetched(pages):
    """Fetch the next page while the current one is processed: cursor paging is sequential, the work is not."""
    handoff = queue.Queue(maxsize=1)

    def fetch_ahead():
        try:
            for page in pages:
                handoff.put((page, None))
            handoff.put((_END, None))
        except BaseException as exc:  # re-raised in the consuming thread
            handoff.put((None, exc))

    threading.Thread(target=fetch_ahead, daemon=True, name="pages").start()
    while True:
        page, error = handoff.get()
        if error is not None:
            raise error
        if page is _END:
            return
        yield page


def spooled(pages):
    """Read every page as fast as the API answers, into a temporary file, while the caller takes them at its
    own pace. A company scroll left idle for a minute expires, and a slow target must not make it idle."""
    spool = tempfile.TemporaryFile()
    ready = threading.Condition()
    progress = {"written": 0, "done": False, "error": None}

    def fill():
        try:
            for page in pages:
                try:
                    line = dumps(page) + b"\n"
                except UnicodeEncodeError:  # a lone surrogate: escaped as ASCII here, replaced when written
                    line = json.dumps(page).encode() + b"\n"
                with ready:
                    spool.seek(0, os.SEEK_END)
                    spool.write(line)
                    progress["written"] += 1
                    ready.notify()
        except BaseException as exc:  # re-raised in the consuming thread, after the pages before it
            progress["error"] = exc
        finally:
            with ready:
                progress["done"] = True
                ready.notify()

    threading.Thread(target=fill, daemon=True, name="spool").start()
    taken, offset = 0, 0
    try:
        while True:
            with ready:
                while taken >= progress["written"] and not progress["done"]:
                    ready.wait()
                if taken >= progress["written"]:
                    if progress["error"] is not None:
                        raise progress["error"]
                    return
                spool.seek(offset)
                line = spool.readline()
                offset = spool.tell()
            taken += 1
            yield loads(line)
    finally:
        spool.close()
