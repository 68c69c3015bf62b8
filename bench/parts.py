#!/usr/bin/env python3
"""Where the CPU goes per contact, counted in instructions (valgrind's callgrind), which a busy machine does not move
as it moves CPU time: for each source tree given, the marginal instructions per contact of

- the contact search's record path (bench/record_path.py: the engine over fixed pages replayed from their bytes,
  default selection), whole and with each part taken out: the transform, the encoding, the per-record fetches;
  the parse measured alone; the rest is what none of these is (rows hooks, link rows, the engine per record);
- with --whole, a whole sync of the tap (its CLI, default selection, the emulator at 0 ms, no rate limit) of N and
  2N contacts: (instructions at 2N - at N) / N, issue 29's metric in instructions rather than seconds.

Marginal: (instructions with 15 pages - with 5 pages) / (their contacts' difference), three runs each, so the
start-up, the compiling of transforms and the emulator's start cancel out.

    .venv/bin/python bench/parts.py                                   # this checkout (~6 min)
    .venv/bin/python bench/parts.py --src /path/to/old/checkout .     # before and after, side by side
    .venv/bin/python bench/parts.py --whole 3000 .                    # and the whole sync (~10 min more)
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(Path(sys.executable))
TAP = str(Path(sys.executable).with_name("tap-intercom"))
sys.path.insert(0, str(ROOT / "bench"))
from run import TOKEN  # noqa: E402

PARTS = [("the whole record path", ""), ("the transform (compiled per schema; contact rows and link rows)", "t"),
         ("the encoding (RECORD lines, orjson)", "e"), ("the per-record fetches (contacts' long lists)", "f"),
         ("the parse (orjson, the search's pages)", "p")]
SMALL, LARGE, RUNS = 5, 15, 3


def callgrind(cmd, env):
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                         capture_output=True, text=True, env={**os.environ, **env}, cwd=ROOT)
    refs = re.search(r"refs:\s+([\d,]+)", out.stderr)
    if refs is None:
        raise SystemExit(f"callgrind failed: {out.stderr[-2000:]}")
    return int(refs.group(1).replace(",", "")), out.stdout


def record_path(src, ablate, pages, pages_file):
    instructions, stdout = callgrind([PYTHON, "bench/record_path.py", "--contacts", "3000", "--pages", str(pages),
                                      "--pages-file", pages_file, "--runs", str(RUNS), "--ablate", ablate],
                                     {"PYTHONPATH": src})
    contacts = int(re.search(r"([\d,]+) contacts", stdout).group(1).replace(",", ""))
    return instructions, contacts


def marginal(src, ablate, pages_file, pool):
    small, large = pool.submit(record_path, src, ablate, SMALL, pages_file), \
        pool.submit(record_path, src, ablate, LARGE, pages_file)
    (i_small, n_small), (i_large, n_large) = small.result(), large.result()
    return (i_large - i_small) / RUNS / (n_large - n_small)


def whole(src, contacts):
    """Instructions per contact of whole syncs of `contacts` and twice as many."""
    figures = []
    for n in (contacts, 2 * contacts):
        work = Path(tempfile.mkdtemp(prefix="parts-"))
        ready = work / "url"
        emulator = subprocess.Popen([PYTHON, "-m", "intercom_emulator", "--port", "0", "--token", TOKEN, "--ready-file",
                                     str(ready), "--seed", "7", "--contacts", str(n), "--companies", "10",
                                     "--conversations", "10", "--latency-ms", "0", "--rate-limit", "10000000",
                                     "--rate-window", "10"], cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            while not ready.exists():
                time.sleep(0.1)
            config = work / "config.json"
            config.write_text(json.dumps({"access_token": TOKEN, "start_date": "2000-01-01T00:00:00Z",
                                          "base_url": ready.read_text().strip()}))
            catalog = work / "catalog.json"
            catalog.write_bytes(subprocess.run([TAP, "--config", str(config), "--discover"], capture_output=True,
                                               check=True, env={**os.environ, "PYTHONPATH": src}).stdout)
            figures.append(callgrind([TAP, "--config", str(config), "--catalog", str(catalog)], {"PYTHONPATH": src})[0])
        finally:
            emulator.terminate()
            emulator.wait()
    return (figures[1] - figures[0]) / contacts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trees", nargs="*", default=[str(ROOT)], help="source trees (PYTHONPATH), e.g. before after")
    parser.add_argument("--whole", type=int, default=0, help="also whole syncs of N and 2N contacts")
    parser.add_argument("--pages-file", default=str(ROOT / ".bench" / "pages.json"))
    args = parser.parse_args()
    Path(args.pages_file).parent.mkdir(exist_ok=True)
    trees = [str(Path(tree).resolve()) for tree in args.trees]
    if not Path(args.pages_file).exists():  # the same pages for every tree and part
        subprocess.run([PYTHON, "bench/record_path.py", "--contacts", "3000", "--pages-file", args.pages_file,
                        "--runs", "1"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    rows = {}
    with ThreadPoolExecutor(2) as pool:  # two callgrind runs at a time (one core each)
        for tree in trees:
            figures = {label: marginal(tree, ablate, args.pages_file, pool) for label, ablate in PARTS}
            total = figures[PARTS[0][0]]
            parts = {label: (total - figures[label] if ablate != "p" else figures[label])
                     for label, ablate in PARTS[1:]}
            parts["the rest: rows hooks, link rows, the engine per record"] = total - sum(parts.values())
            rows[tree] = {PARTS[0][0]: total, **parts}
            if args.whole:
                rows[tree][f"a whole sync, {args.whole:,} -> {2 * args.whole:,} contacts"] = whole(tree, args.whole)
    print("Marginal instructions per contact (thousands), default selection; each part is what goes away when it is "
          "taken out (the parse: measured alone)\n")
    print("| part | " + " | ".join(Path(tree).name for tree in trees) + (" | change |" if len(trees) == 2 else " |"))
    print("|---|" + "---|" * (len(trees) + (len(trees) == 2)))
    for label in rows[trees[0]]:
        values = [rows[tree][label] for tree in trees]
        change = f" | {values[1] / values[0] - 1:+.0%}" if len(trees) == 2 and values[0] else ""
        print(f"| {label} | " + " | ".join(f"{value / 1000:.0f}" for value in values) + change + " |")


if __name__ == "__main__":
    main()
