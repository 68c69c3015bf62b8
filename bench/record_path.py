#!/usr/bin/env python3
"""The contact search's record path alone, in process: the real engine (Engine._read_source) over pages read once
from the emulator and replayed from their bytes (the parse included), the per-record fetches (long lists) made
against the emulator as in a sync. Without the HTTP of the search pages, the writer or start-up, so what it
measures is the part that grows with the contacts.

    .venv/bin/python bench/record_path.py --contacts 20000            # CPU per contact, best of --runs
    .venv/bin/python bench/record_path.py --ablate t                   # ... with the transform taken out
    .venv/bin/python bench/record_path.py --pages-file .bench/pages.json   # the same pages every time (written once)
    PYTHONPATH=. .venv/bin/python bench/record_path.py ...                  # the working tree, not the installed tap
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/record_path.py --pages 10 --runs 1
    valgrind ... --runs 4    # (instructions of runs 4 - runs 1) / 3 / contacts: instructions per contact, stable
                             # on a busy machine where CPU time is not (with --pages-file: the same pages)

--ablate takes out parts (in process, the rest unchanged): t the transform (records pass as they are), e the encoding
(a constant line), f the per-record fetches (contacts' long lists are not completed); p keeps only the parse of the
pages. bench/parts.py counts each part's instructions. The catalog is the tap's own
--discover (its default selection), or --catalog.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from run import TOKEN, emulator  # noqa: E402 - the benchmark's emulator start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--pages", type=int, default=0, help="replay only the first PAGES pages (0: all)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ablate", default="", help="parts taken out: t, e, f; p: the parse alone (see above)")
    parser.add_argument("--catalog", help="a catalog file (default: the tap's --discover)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--preparsed", action="store_true", help="parse the pages before each timed run: the "
                                                                      "record path without the parse")
    parser.add_argument("--pages-file", help="replay these pages (a JSON list of the search's pages of records), "
                                              "written first when missing: the same pages for every measurement")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="record-path-"))
    args.rate_limit = 10 ** 7
    proc, url = emulator(args, 0, args.contacts, 10, 10, 10 ** 7)
    try:
        config_path = work / "config.json"
        config_path.write_text(json.dumps({"access_token": TOKEN, "start_date": "2000-01-01T00:00:00Z",
                                           "base_url": url}))
        catalog = json.loads(Path(args.catalog).read_text()) if args.catalog else json.loads(subprocess.run(
            [str(Path(sys.executable).with_name("tap-intercom")), "--config", str(config_path), "--discover"],
            capture_output=True, check=True).stdout)
        measure(args, config_path, catalog)
    finally:
        proc.terminate()
        proc.wait()


def measure(args, config_path, catalog):
    from tap_intercom.catalog import select
    from tap_intercom.cli import tune_collector
    from tap_intercom.config import load_config
    from tap_intercom.engine import sync
    from tap_intercom.http.concurrency import FetchPool
    from tap_intercom.reading import windows
    from tap_intercom.records.output import RecordLines, dumps, loads
    from tap_intercom.records.transform import RecordTransform
    from tap_intercom.state import State
    from tap_intercom.streams import STREAMS

    config = load_config(str(config_path))
    selections = [s for s in select(catalog) if s.stream.source.name == "contacts"]
    partitioned, saved = windows.partitioned, []

    def recording(*a, **k):
        for page in partitioned(*a, **k):
            saved.append((dumps(list(page)), page.safe))
            yield page

    def replay(*_a, **_k):
        if args.preparsed:
            yield from prepared
            return
        for raw, safe in saved:
            yield windows.Page(loads(raw), safe)

    def once():
        state = State.parse(None, {s.name for s in STREAMS if s.replication_key}, {s.name for s in STREAMS})
        engine = sync.Engine(config, selections, state)
        engine.pool = FetchPool(config.max_workers, thread_name_prefix="fetch",
                                initializer=engine.client.per_record_thread)
        try:
            return sum(len(batch.lines) for batch in engine._read_source(engine.groups[0]))
        finally:
            engine.pool.shutdown()

    windows.partitioned = recording
    if args.pages_file and Path(args.pages_file).exists():
        saved[:] = [(dumps(page), None) for page in json.loads(Path(args.pages_file).read_text())]
    else:
        once()
        if args.pages_file:
            Path(args.pages_file).write_bytes(b"[" + b",".join(raw for raw, _ in saved) + b"]")
    if args.pages:
        del saved[args.pages:]
    if "t" in args.ablate:
        def passed(row, whole=None):
            return row
        RecordTransform.for_keys = lambda self, keys: passed
        RecordTransform.fast = property(lambda self: passed)
        RecordTransform.__call__ = lambda self, row, whole=None: row
    if "e" in args.ablate:
        RecordLines.line = lambda self, record, _time: b"-\n"
    if "f" in args.ablate:
        for selection in selections:
            object.__setattr__(selection.stream, "fetches", None)
    windows.partitioned = replay
    run = once
    if "p" in args.ablate:  # the parse alone: what every other part works on
        def run():
            for raw, _ in saved:
                loads(raw)
            return 0
    contacts = sum(len(loads(raw)) for raw, _ in saved)
    tune_collector()  # as a sync does
    best = None
    prepared = []
    for _ in range(args.runs):
        if args.preparsed:
            prepared[:] = [windows.Page(loads(raw), safe) for raw, safe in saved]
        started = time.process_time()
        lines = run()
        spent = time.process_time() - started
        best = spent if best is None else min(best, spent)
    print(f"{contacts:,} contacts ({len(saved)} pages), {lines:,} lines, streams "
          f"{', '.join(s.stream.name for s in selections)}; best of {args.runs}: {best:.3f} s CPU, "
          f"{best / contacts * 1e6:.1f} us a contact")


if __name__ == "__main__":
    main()
