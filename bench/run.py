#!/usr/bin/env python3
"""Side-by-side benchmark: this tap against the published peer (tap-intercom 2.2.5), same emulator data, one run.

    python bench/run.py                      # the README's table (peer venv created under .bench/ if missing)
    python bench/run.py --contacts 2000 --latencies 0 --no-rss --bound-limits ''   # a quick look
    python bench/run.py --latencies '' --no-rss      # only the rate-limit bound table (large workspace, 300 ms)

For each latency it starts the emulator (a separate process), then runs a full sync of ours and of the peer,
each as its own process, reading its stdout and counting records. It measures wall time, the tap process's
CPU seconds (user + system, from wait4), peak RSS, and the requests the emulator served. Then a no-change
incremental sync of each from its final state, and our peak RSS at two workspace sizes.
Then, for the rate-limit bound: a full sync of each on a large workspace at 300 ms per request under each budget
(1,667 and 167 requests per 10 s), compared with the least time the budget allows for the requests made; and the
same for a contact-heavy workspace (60,000 contacts, 50 conversations, 50 companies), whose calls are mostly
search pages and contacts' long lists.
CPU per contact record: our full sync of the contact search's streams (users, contacts) on a contact-only
workspace at 0 ms, its CPU over the contacts read, beside a floor measured in the same run on the same pages (the
search's pages fetched once, then orjson.loads of each page and one orjson RECORD line per record), and the
tap's own transform and encoder on those pages, in process, to show where the rest goes.
Marginal CPU per contact: full syncs of a contact-only workspace (10 companies, 10 conversations) of N and 2N
contacts at 0 ms, no rate limit, (CPU at 2N - CPU at N) / N, so start-up and the small streams cancel out; with
the tap's default selection (its own --discover, as given) and with every stream selected; best of --repeat each.
Ours syncs the streams the peer has (all but social_profiles and deleted_conversations; users + contacts = the
peer's contacts), so both
emit the same records. The peer leaves contacts' notes lists cut at 10 items; this tap completes them, which
costs one request per contact with more than 10 notes: the table shows requests with and without those.
"""
import argparse
import itertools
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".bench"
PEER_RUNNER = ROOT.parent / "shared" / "peer" / "run_peer.py"
TOKEN = "bench-token"


def emulator(args, latency_ms, contacts=None, companies=None, conversations=None, rate_limit=None):
    ready = WORK / f"emulator-{os.getpid()}.url"
    ready.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "intercom_emulator", "--port", "0", "--token", TOKEN, "--ready-file", str(ready),
           "--seed", str(args.seed), "--contacts", str(contacts or args.contacts),
           "--companies", str(companies or args.companies), "--conversations", str(conversations or args.conversations),
           "--latency-ms", str(latency_ms), "--rate-limit", str(rate_limit or args.rate_limit), "--rate-window", "10"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not ready.exists():
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit("the emulator did not start")
        time.sleep(0.1)
    return proc, ready.read_text().strip()


def control(url, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}/_emulator/{path}", data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def measure(cmd, url, env=None):
    """Run one tap process; return its figures and its last STATE."""
    control(url, "reset_stats", {})
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})},
                            cwd=WORK)
    records, state = 0, None
    for line in proc.stdout:
        if line.startswith(b'{"type":"RECORD"') or line.startswith(b'{"type": "RECORD"'):
            records += 1
        elif b'"STATE"' in line[:20]:
            state = json.loads(line)["value"]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"{cmd[0]} failed (status {status})")
    stats = control(url, "stats")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "records": records, "requests": stats["requests"],
            "notes_requests": stats["by_endpoint"].get("GET /contacts/{id}/notes", 0),
            "rss_mb": usage.ru_maxrss / 1024}, state


def search_pages(url, path="/contacts/search", page_size=150):
    """Every page of a search, as the raw bytes the API sent, in the tap's order (updated_at ascending)."""
    pages, body = [], {"query": {"field": "updated_at", "operator": ">", "value": 0},
                       "sort": {"field": "updated_at", "order": "ascending"}, "pagination": {"per_page": page_size}}
    while True:
        request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json",
                                                  "Content-Type": "application/json", "Intercom-Version": "2.14"})
        with urllib.request.urlopen(request, timeout=60) as response:
            pages.append(response.read())
        following = (json.loads(pages[-1]).get("pages") or {}).get("next")
        if not following:
            return pages
        body["pagination"]["starting_after"] = following["starting_after"]


def cpu_seconds(fn, repeat=3):
    """The least process CPU time of `repeat` calls (a shared machine only ever adds time)."""
    best = None
    for _ in range(repeat):
        started = time.process_time()
        fn()
        spent = time.process_time() - started
        best = spent if best is None else min(best, spent)
    return best


def floor_and_parts(pages, catalog):
    """CPU seconds for the pages: the parse+encode floor, and the tap's parse, transform and encode alone."""
    import orjson

    from tap_intercom.catalog import select
    from tap_intercom.records.output import RecordLines, loads
    from tap_intercom.records.transform import RecordTransform

    stamp = b"2026-01-01T00:00:00.000000Z"

    def floor():
        for raw in pages:
            for record in orjson.loads(raw)["data"]:
                orjson.dumps({"type": "RECORD", "stream": "contacts", "record": record,
                              "time_extracted": "2026-01-01T00:00:00.000000Z"}) + b"\n"

    selections = {s.stream.name: s for s in select(catalog)}
    transforms = {name: RecordTransform(name, s.schema, s.fields, s.metadata) for name, s in selections.items()}
    encoders = {name: RecordLines(name, 1) for name in selections}
    parsed = [loads(raw)["data"] for raw in pages]
    stream = {"user": "users", "lead": "contacts"}
    transformed = [[(stream[r["role"]], transforms[stream[r["role"]]](r)) for r in records] for records in parsed]

    def transform():
        for records in parsed:
            for record in records:
                name = stream[record["role"]]
                transforms[name](record)

    def encode():
        for name, record in itertools.chain.from_iterable(transformed):
            encoders[name].line(record, stamp)

    return {"floor": cpu_seconds(floor), "parse": cpu_seconds(lambda: [loads(raw) and None for raw in pages]),
            "transform": cpu_seconds(transform), "encode": cpu_seconds(encode)}


def cpu_per_record(args):
    """Our CPU per contact record on a contact-only workspace, beside the floor on the same pages."""
    proc, url = emulator(args, 0, args.cpu_contacts, 10, 10, 10 ** 7)
    try:
        pages = search_pages(url)
        contacts = sum(len(json.loads(raw)["data"]) for raw in pages)
        runs = [ours(url, streams={"users", "contacts"})[0] for _ in range(args.repeat)]
        parts = floor_and_parts(pages, json.loads((WORK / "ours-catalog.json").read_text()))
    finally:
        proc.terminate()
        proc.wait()
    cpu = min(run["cpu"] for run in runs)
    per = lambda seconds: seconds / contacts * 1e6  # noqa: E731  microseconds per contact record
    return [("tap-intercom (this), full sync of users + contacts: process CPU", f"{per(cpu):.1f}",
             ratio(cpu, parts["floor"])),
            ("floor: orjson.loads of each page + one orjson RECORD line per record", f"{per(parts['floor']):.1f}",
             "1.00"),
            ("the tap's parse alone (output.loads)", f"{per(parts['parse']):.1f}",
             ratio(parts["parse"], parts["floor"])),
            ("the tap's transform alone (transform.RecordTransform)", f"{per(parts['transform']):.1f}",
             ratio(parts["transform"], parts["floor"])),
            ("the tap's encode alone (output.RecordLines)", f"{per(parts['encode']):.1f}",
             ratio(parts["encode"], parts["floor"]))], contacts, len(pages), runs[0]["requests"]


def marginal_cpu(args):
    """Our CPU per additional contact: (CPU of a 2N-contact sync - CPU of an N-contact sync) / N, for each N and
    both selections, on a contact-only workspace at 0 ms without a rate limit (best of --repeat syncs each)."""
    halves = [int(n) for n in numbers(args.marginal_contacts)]
    sizes = sorted(set(halves) | {2 * n for n in halves})
    cpu = {}
    for contacts in sizes:
        proc, url = emulator(args, 0, contacts, 10, 10, 10 ** 7)
        try:
            for selection in ("default", "all"):
                runs = [ours(url, streams=selection)[0] for _ in range(args.repeat)]
                cpu[selection, contacts] = min(run["cpu"] for run in runs)
                print(f"marginal CPU: {selection} selection, {contacts:,} contacts: {cpu[selection, contacts]:.2f} s "
                      f"CPU, {runs[0]['records']:,} records, {runs[0]['requests']:,} requests", file=sys.stderr,
                      flush=True)
        finally:
            proc.terminate()
            proc.wait()
    rows = []
    for selection, label in (("default", "default selection"), ("all", "every stream selected")):
        for n in halves:
            rows.append((label, f"{n:,} -> {2 * n:,}", f"{cpu[selection, n]:.2f}", f"{cpu[selection, 2 * n]:.2f}",
                         f"{(cpu[selection, 2 * n] - cpu[selection, n]) / n * 1e6:.1f}"))
    return rows


def write(path, value):
    path.write_text(json.dumps(value))
    return str(path)


# The peer's streams, in our names (users + contacts = its contacts); tickets, help center etc. are ours alone.
PEER_STREAMS = {"users", "contacts", "companies", "conversations", "conversation_parts", "admins", "teams", "tags",
                "segments", "company_segments", "company_attributes", "contact_attributes"}


TAP = str(Path(sys.executable).with_name("tap-intercom"))  # --tap: another install of ours (before / after)


def ours(url, state=None, streams=PEER_STREAMS):
    """A sync of ours selecting `streams` in its own discovery ("default": as discovered; "all": every stream)."""
    tap = TAP
    config = write(WORK / "ours-config.json", {"access_token": TOKEN, "start_date": "2000-01-01T00:00:00Z",
                                               "base_url": url})
    catalog = json.loads(subprocess.run([tap, "--config", config, "--discover"], capture_output=True,
                                        check=True).stdout)
    if streams != "default":
        for entry in catalog["streams"]:
            entry["metadata"][0]["metadata"]["selected"] = streams == "all" or entry["tap_stream_id"] in streams
    cmd = [tap, "--config", config, "--catalog", write(WORK / "ours-catalog.json", catalog)]
    if state is not None:
        cmd += ["--state", write(WORK / "ours-state.json", state)]
    return measure(cmd, url)


def peer(args, url, state=None):
    python = args.peer_python
    env = {"INTERCOM_BASE_URL": url}
    config = write(WORK / "peer-config.json", {"access_token": TOKEN, "start_date": "2000-01-01T00:00:00Z",
                                               "user_agent": "bench"})
    catalog = json.loads(subprocess.run([python, str(PEER_RUNNER), "--config", config, "--discover"],
                                        capture_output=True, check=True, env={**os.environ, **env}).stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            item["metadata"]["selected"] = True
    cmd = [python, str(PEER_RUNNER), "--config", config, "--catalog", write(WORK / "peer-catalog.json", catalog)]
    if state is not None:
        cmd += ["--state", write(WORK / "peer-state.json", state)]
    return measure(cmd, url, env)


def ensure_peer(args):
    if args.peer_python or not (numbers(args.latencies) or numbers(args.bound_limits) and "peer" in
                                args.bound_taps.split(",")):
        return  # given, or not needed
    venv = WORK / "peer-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print("creating the peer's venv (tap-intercom==2.2.5) in", venv, file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "tap-intercom==2.2.5"], check=True)
    args.peer_python = str(python)


def best(results):
    """The fastest run's figures, with the lowest CPU seen (a shared machine only ever adds time)."""
    fastest = min(results, key=lambda r: r[0]["wall"])
    return {**fastest[0], "cpu": min(r[0]["cpu"] for r in results)}, fastest[1]


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def numbers(text):
    return [float(x) for x in text.split(",") if x.strip()]


SELECTIONS = {"peer": "", "default": ", default selection", "all": ", every stream selected"}  # --bound-selections
STREAMS_OF = {"peer": PEER_STREAMS, "default": "default", "all": "all"}


def rate_limit_bound(args):
    """Full syncs of a large workspace at a realistic latency under each budget: how close to the least time the
    budget allows (requests made / requests allowed per second) each tap runs. One row per workspace shape:
    balanced (the --bound-* sizes) and contact-heavy (the --heavy-* sizes; --heavy-contacts 0 leaves it out)."""
    shapes = [("balanced", args.bound_contacts, args.bound_companies, args.bound_conversations)]
    if args.heavy_contacts:
        shapes.append(("contact-heavy", args.heavy_contacts, args.heavy_companies, args.heavy_conversations))
    rows = []
    for shape, contacts, companies, conversations in shapes:
        for limit in [int(x) for x in numbers(args.bound_limits)]:
            proc, url = emulator(args, args.bound_latency, contacts, companies, conversations, limit)
            try:
                taps = {"this": [(f"tap-intercom (this){SELECTIONS[selection]}",
                                  lambda selection=selection: ours(url, streams=STREAMS_OF[selection]))
                                 for selection in args.bound_selections.split(",")],
                        "peer": [("peer 2.2.5", lambda: peer(args, url))]}
                for name, run in (run for tap in args.bound_taps.split(",") for run in taps[tap]):
                    m, _ = run()
                    bound = m["requests"] / (limit / 10)
                    rows.append((f"{shape}: {contacts:,} / {conversations:,} / {companies:,}", f"{limit:,} per 10 s",
                                 name, f"{m['wall']:.1f}", f"{m['cpu']:.1f}", f"{m['records']:,}",
                                 f"{m['requests']:,}", f"{bound:.1f}", f"{m['wall'] / bound:.2f}"))
                    print("| " + " | ".join(rows[-1]) + " |", file=sys.stderr, flush=True)
            finally:
                proc.terminate()
                proc.wait()
    return rows


def main():
    global TAP
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=10000)
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latencies", default="0,50", help="emulated latency per request, ms")
    parser.add_argument("--rate-limit", type=int, default=1667, help="per 10 s window (Intercom: 10,000/min)")
    parser.add_argument("--rss-sizes", default="10000,100000", help="contacts for the peak-RSS runs")
    parser.add_argument("--repeat", type=int, default=3, help="full syncs of each tap per latency (best counts)")
    parser.add_argument("--no-rss", action="store_true")
    parser.add_argument("--peer-python", help="a python with tap-intercom 2.2.5 installed")
    parser.add_argument("--bound-limits", default="1667,167", help="budgets (per 10 s) of the rate-limit bound runs")
    parser.add_argument("--bound-latency", type=float, default=300, help="ms per request in the bound runs")
    parser.add_argument("--bound-contacts", type=int, default=20000)
    parser.add_argument("--bound-companies", type=int, default=2000)
    parser.add_argument("--bound-conversations", type=int, default=2000)
    parser.add_argument("--bound-taps", default="this,peer", help="which taps the bound runs measure")
    parser.add_argument("--bound-selections", default="peer", help="our streams in the bound runs, one run each: "
                        "peer (the peer's streams), default (our discovery as it is), all (every stream)")
    parser.add_argument("--heavy-contacts", type=int, default=60000, help="contacts of the contact-heavy bound row "
                        "(0: leave the row out)")
    parser.add_argument("--heavy-companies", type=int, default=50)
    parser.add_argument("--heavy-conversations", type=int, default=50)
    parser.add_argument("--cpu-contacts", type=int, default=20000, help="contacts of the CPU-per-record run "
                        "(0: leave it out)")
    parser.add_argument("--marginal-contacts", default="20000,40000", help="N of the marginal-CPU rows: syncs of "
                        "N and 2N contacts ('': leave them out)")
    parser.add_argument("--tap", default=TAP, help="the tap-intercom executable of ours to measure (another "
                        "install, e.g. the code before a change)")
    args = parser.parse_args()
    TAP = args.tap
    WORK.mkdir(exist_ok=True)
    ensure_peer(args)
    rows = []
    for latency in numbers(args.latencies):
        proc, url = emulator(args, latency)
        try:
            runs = []
            for _ in range(args.repeat):  # interleaved, so both see the same machine; the best of each counts
                runs.append((ours(url), peer(args, url)))
            ours_full, ours_state = best([r[0] for r in runs])
            peer_full, peer_state = best([r[1] for r in runs])
            ours_inc, _ = ours(url, ours_state)
            peer_inc, _ = peer(args, url, peer_state)
        finally:
            proc.terminate()
            proc.wait()
        label = f"{latency:g} ms"
        per_k = lambda m: m["cpu"] / m["records"] * 1000  # noqa: E731
        rows += [
            (f"full sync wall time, s ({label})", f"{ours_full['wall']:.2f}", f"{peer_full['wall']:.2f}",
             ratio(ours_full["wall"], peer_full["wall"])),
            (f"CPU s per 1,000 records ({label})", f"{per_k(ours_full):.3f}", f"{per_k(peer_full):.3f}",
             ratio(per_k(ours_full), per_k(peer_full))),
            (f"records ({label})", ours_full["records"], peer_full["records"], ratio(ours_full["records"],
                                                                                    peer_full["records"])),
            (f"requests, full sync ({label})", ours_full["requests"], peer_full["requests"],
             ratio(ours_full["requests"], peer_full["requests"])),
            (f"requests, full sync, without completing notes lists ({label})",
             ours_full["requests"] - ours_full["notes_requests"], peer_full["requests"] - peer_full["notes_requests"],
             ratio(ours_full["requests"] - ours_full["notes_requests"],
                   peer_full["requests"] - peer_full["notes_requests"])),
            (f"requests, no-change incremental ({label})", ours_inc["requests"], peer_inc["requests"],
             ratio(ours_inc["requests"], peer_inc["requests"])),
            (f"peak RSS, MB ({label})", f"{ours_full['rss_mb']:.0f}", f"{peer_full['rss_mb']:.0f}",
             ratio(ours_full["rss_mb"], peer_full["rss_mb"])),
        ]
    rss = []
    if not args.no_rss:
        for contacts in [int(x) for x in numbers(args.rss_sizes)]:
            proc, url = emulator(args, 0, contacts)
            try:
                rss.append((contacts, ours(url)[0]))
            finally:
                proc.terminate()
                proc.wait()
    cpu = cpu_per_record(args) if args.cpu_contacts else None
    marginal = marginal_cpu(args) if args.marginal_contacts else None
    bound = rate_limit_bound(args)
    if bound:
        print(f"\nRate-limit bound: full sync of each workspace (contacts / conversations / companies) at "
              f"{args.bound_latency:g} ms per request, one run each; bound = requests / (budget / 10 s).\n")
        print("| workspace | budget | tap | wall time, s | CPU, s | records | requests | rate-limit bound, s | "
              "wall / bound |")
        print("|---|---|---|---|---|---|---|---|---|")
        for row in bound:
            print("| " + " | ".join(row) + " |")
    if cpu:
        cpu_rows, contacts, pages, requests = cpu
        print(f"\nCPU per contact record: {contacts:,} contacts ({pages} search pages; the tap made {requests:,} "
              f"requests, the rest completing long tag, company and note lists), 0 ms, best of {args.repeat}.\n")
        print("| CPU per contact record | us | / floor |")
        print("|---|---|---|")
        for row in cpu_rows:
            print("| " + " | ".join(row) + " |")
    if marginal:
        print(f"\nMarginal CPU per contact: full syncs of a contact-only workspace (10 companies, 10 conversations) "
              f"at 0 ms, no rate limit, best of {args.repeat} each; (CPU at 2N - CPU at N) / N.\n")
        print("| selection | contacts, N -> 2N | CPU at N, s | CPU at 2N, s | marginal CPU per contact, us |")
        print("|---|---|---|---|---|")
        for row in marginal:
            print("| " + " | ".join(row) + " |")
    if rows:
        print(f"\nWorkspace: {args.contacts} contacts, {args.companies} companies, {args.conversations} conversations "
              f"(seed {args.seed}); rate limit {args.rate_limit} per 10 s; best of {args.repeat} interleaved full "
              f"syncs each.\n")
        print("| measure | tap-intercom (this) | peer 2.2.5 | this / peer |")
        print("|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(str(cell) for cell in row) + " |")
    if rss:
        print("\n| our peak RSS | MB | records |")
        print("|---|---|---|")
        for contacts, m in rss:
            print(f"| {contacts:,} contacts | {m['rss_mb']:.0f} | {m['records']:,} |")
        print(f"\nRSS ratio {rss[-1][0]:,} / {rss[0][0]:,} contacts: {rss[-1][1]['rss_mb'] / rss[0][1]['rss_mb']:.2f}")


if __name__ == "__main__":
    main()
