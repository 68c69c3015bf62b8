"""Helpers of scripts/demo.sh: watch the Singer stream, change the emulator's workspace, print the tables.

    demo_report.py capture RUN.json                     # stdin -> stdout unchanged; RUN.json gets records per
                                                        # stream, key properties and the tap's last STATE value
    demo_report.py loaded  URL DB RUN.json              # rows per table in DuckDB next to the emulator's truth
    demo_report.py mutate  URL DB CHANGES.json          # changes the workspace, keeps the values before
    demo_report.py changed URL DB RUN.json CHANGES.json # after the incremental sync: counts and changed values
    demo_report.py query   DB NAME                      # the answer of one docs/QUERIES.md query
    demo_report.py select_messages CATALOG.json         # the catalog with only the message streams selected
    demo_report.py messages URL DB                      # docs/MESSAGES.md's email rates, checked against the truth

`capture` needs only the standard library (it runs in the tap's venv); the others need the duckdb package
(they run in the target's venv). Exit status 1 when DuckDB and the emulator disagree.
"""
import json
import os
import sys
import urllib.request

OK, BAD = "ok", "MISMATCH"
# Streams a sync without a catalog leaves out (README, Streams): one more call per conversation.
NOT_SELECTED_BY_DEFAULT = {"conversation_handling_events"}

# What the demo changes (step 5 of demo.sh).
UPDATES = {"users": 25, "contacts": 10, "companies": 10, "conversations": 10}
CREATED_USERS = 5
PART_CONVERSATIONS, PARTS_EACH = 5, 3


def _get(url):
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.load(resp)


def _post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)


def _truth(url):
    return _get(url.rstrip("/") + "/_emulator/truth")


def _connect(db):
    import duckdb  # only in the target's venv
    return duckdb.connect(db, read_only=True)


def _tables(con):
    return {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}


def _rows(con, table, keys):
    """(rows, distinct keys) of one table; (None, None) when the table does not exist."""
    if table not in _tables(con):
        return None, None
    cols = ", ".join(f'"{k.lower()}"' for k in keys) or "*"
    rows, distinct = con.execute(
        f'SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT {cols} FROM "{table}")) FROM "{table}"').fetchone()
    return rows, distinct


def _n(value):
    return "-" if value is None else f"{value:,}"


def _print_table(header, rows, indent="      "):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for j, row in enumerate([header] + rows):
        cells = [str(c).ljust(w) if i == 0 or i == len(row) - 1 else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        print(indent + "  ".join(cells).rstrip())
        if j == 0:
            print(indent + "  ".join("-" * w for w in widths))


def capture(out_path):
    """Pass the tap's output through untouched, counting records and keeping the last STATE."""
    records, keys, last_state, messages = {}, {}, None, 0
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    for line in stdin:
        try:
            stdout.write(line)
        except BrokenPipeError:  # the target stopped; its own log says why
            sys.stderr.write("capture: the target closed its input\n")
            sys.stderr.close()
            os._exit(1)
        if not line.strip():
            continue
        messages += 1
        msg = json.loads(line)
        kind = msg.get("type")
        if kind == "RECORD":
            records[msg["stream"]] = records.get(msg["stream"], 0) + 1
        elif kind == "SCHEMA":
            keys[msg["stream"]] = msg.get("key_properties", [])
            records.setdefault(msg["stream"], 0)
        elif kind == "STATE":
            last_state = msg.get("value")
    try:
        stdout.flush()
    except BrokenPipeError:
        sys.stderr.write("capture: the target closed its input\n")
        os._exit(1)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"records": records, "keys": keys, "last_state": last_state, "messages": messages}, f)


def _compare(url, db, run):
    """Rows per stream: sent by the tap, in DuckDB, in the truth. Returns (table rows, number of problems)."""
    truth = _truth(url)
    con = _connect(db)
    out, problems = [], 0
    # The truth's order (the tap's --about order); a stream the tap sent but the truth lacks comes last.
    streams = [s for s in truth if not s.startswith("cut_") and s not in NOT_SELECTED_BY_DEFAULT] + \
        [s for s in run["keys"] if s not in truth]
    for stream in streams:
        rows, distinct = _rows(con, stream, run["keys"].get(stream, []))
        expected = len(truth.get(stream, []))
        status = OK
        if rows != expected:
            status = BAD
        elif distinct != rows:
            status = f"{BAD}: {rows - distinct} duplicate keys"
        problems += status != OK
        out.append([stream, _n(run["records"].get(stream, 0)), _n(rows), _n(expected), status])
    con.close()
    return out, problems


def loaded(url, db, run_path):
    run = json.load(open(run_path, encoding="utf-8"))
    table, problems = _compare(url, db, run)
    _print_table(["table", "records sent", "rows in DuckDB", "emulator truth", ""], table)
    if problems:
        print(f"      {problems} table(s) disagree with the emulator (see above)")
    return 1 if problems else 0


def _value_field(stream):
    return "title" if stream == "conversations" else "name"


def _snapshot(con, changes):
    """The values in DuckDB of everything the mutations touched."""
    snap = {}
    for stream, ids in changes["updated"].items():
        field = _value_field(stream)
        marks = ",".join("?" * len(ids))
        snap[stream] = dict(con.execute(f'SELECT id, "{field}" FROM "{stream}" WHERE id IN ({marks})', ids).fetchall())
    ids = changes["parts_added"]
    marks = ",".join("?" * len(ids))
    snap["parts"] = dict(con.execute(
        f"SELECT conversation_id, count(*) FROM conversation_parts WHERE conversation_id IN ({marks}) "
        f"GROUP BY conversation_id", ids).fetchall())
    marks = ",".join("?" * len(changes["created_users"]))
    snap["created"] = con.execute(f"SELECT count(*) FROM users WHERE id IN ({marks})",
                                  changes["created_users"]).fetchone()[0]
    return snap


def mutate(url, db, out_path):
    base = url.rstrip("/") + "/_emulator/mutate"
    truth = _truth(url)
    changes = {"updated": {}, "created_users": [], "parts_added": []}
    for stream, count in UPDATES.items():
        changes["updated"][stream] = _post(base, {"action": "update", "stream": stream, "count": count})["ids"]
    changes["created_users"] = _post(base, {"action": "create", "stream": "users", "count": CREATED_USERS})["ids"]
    # Parts go to conversations well below Intercom's 500-part cut, so every part stays listable.
    parts = {}
    for part in truth["conversation_parts"]:
        parts[part["conversation_id"]] = parts.get(part["conversation_id"], 0) + 1
    cut = set(truth.get("cut_conversations", []))
    candidates = [c["id"] for c in truth["conversations"] if c["id"] not in cut and parts.get(c["id"], 0) < 400]
    chosen = candidates[:: max(1, len(candidates) // PART_CONVERSATIONS)][:PART_CONVERSATIONS]
    answer = _post(base, {"action": "add_parts", "ids": chosen, "count": PARTS_EACH})
    changes["parts_added"] = answer["ids"]
    changes["new_part_ids"] = answer.get("part_ids", [])
    con = _connect(db)
    changes["before"] = _snapshot(con, changes)
    con.close()
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(changes, f, indent=1)
    upd = changes["updated"]
    print(f"      updated {len(upd['users'])} users, {len(upd['contacts'])} leads, {len(upd['companies'])} companies "
          f"and {len(upd['conversations'])} conversations (names, titles, a custom attribute);")
    print(f"      created {len(changes['created_users'])} users; added {PARTS_EACH} parts to each of "
          f"{len(changes['parts_added'])} conversations ({len(changes['new_part_ids'])} parts)")
    return 0


def changed(url, db, run_path, changes_path):
    run = json.load(open(run_path, encoding="utf-8"))
    changes = json.load(open(changes_path, encoding="utf-8"))
    table, problems = _compare(url, db, run)
    _print_table(["table", "records sent", "rows in DuckDB", "emulator truth", ""], table)
    truth = _truth(url)
    con = _connect(db)
    after = _snapshot(con, changes)
    con.close()
    before = changes["before"]
    print()
    labels = {"users": "user", "contacts": "lead", "companies": "company", "conversations": "conversation"}
    for stream, ids in changes["updated"].items():
        field = _value_field(stream)
        want = {r["id"]: r.get(field) for r in truth[stream] if r["id"] in set(ids)}
        good = sum(after[stream].get(i) == want.get(i) for i in ids)
        first = ids[0]
        status = OK if good == len(ids) else BAD
        problems += status != OK
        print(f"      {labels[stream]} {first}: {field} {before[stream].get(first)!r} -> {after[stream].get(first)!r}")
        print(f"          {good}/{len(ids)} updated {stream} hold the emulator's new {field} in DuckDB  {status}")
    want_parts = {}
    for part in truth["conversation_parts"]:
        if part["conversation_id"] in set(changes["parts_added"]):
            want_parts[part["conversation_id"]] = want_parts.get(part["conversation_id"], 0) + 1
    conv = changes["parts_added"][0]
    good = sum(after["parts"].get(c) == want_parts.get(c) for c in changes["parts_added"])
    status = OK if good == len(changes["parts_added"]) else BAD
    problems += status != OK
    print(f"      conversation {conv}: {before['parts'].get(conv, 0)} -> {after['parts'].get(conv, 0)} parts")
    print(f"          {good}/{len(changes['parts_added'])} conversations with new parts hold every part  {status}")
    status = OK if after["created"] == len(changes["created_users"]) else BAD
    problems += status != OK
    print(f"      new users in DuckDB: {before['created']} -> {after['created']} of "
          f"{len(changes['created_users'])} created  {status}")
    if problems:
        print(f"      {problems} check(s) failed (see above)")
    return 1 if problems else 0


def documented_query(name, doc="QUERIES.md"):
    """A query of docs/QUERIES.md (or another docs/ file), its DuckDB variant when it has one."""
    import re
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", doc)
    found = {}
    for block in re.findall(r"```sql\n(.*?)```", open(path, encoding="utf-8").read(), re.S):
        match = re.match(r"-- query: (\w+)( \(duckdb\))?\n", block)
        if match and match.group(1) == name:
            found[bool(match.group(2))] = block[match.end():]
    return found.get(True) or found[False]


def query(db, name):
    """Print the answer of one docs/QUERIES.md query from DuckDB."""
    con = _connect(db)
    result = con.execute(documented_query(name))
    header = [d[0] for d in result.description]
    rows = [[_n(v) if isinstance(v, int) else ("-" if v is None else v) for v in row] for row in result.fetchall()]
    con.close()
    _print_table(header, rows)
    return 0 if rows else 1


MESSAGE_STREAMS = ("message_receipts", "message_events")


def select_messages(catalog_path):
    """Print the catalog with the message streams (docs/MESSAGES.md) selected, and only them."""
    catalog = json.load(open(catalog_path))
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in MESSAGE_STREAMS
    json.dump(catalog, sys.stdout)
    return 0


def messages(url, db):
    """docs/MESSAGES.md's open and click rate per email in the last 30 days, from DuckDB, checked against the
    emulator's files (one row per receipt and per event; the same counts per email)."""
    import time
    con = _connect(db)
    problems = 0
    for stream in MESSAGE_STREAMS:
        truth = _get(url.rstrip("/") + f"/_emulator/truth?stream={stream}")
        rows, distinct = _rows(con, stream, ["receipt_id"] if stream == "message_receipts" else
                               ["receipt_id", "event", "occurred_at", "detail"])
        status = OK if rows == distinct == len(truth) else BAD
        problems += status != OK
        print(f"      {stream}: {_n(rows or 0)} rows in DuckDB, {_n(len(truth))} in the emulator's files  {status}")
    result = con.execute(documented_query("email_rates", "MESSAGES.md"))
    header = [d[0] for d in result.description]
    answer = result.fetchall()
    con.close()
    print("      open and click rate per email in the last 30 days (docs/MESSAGES.md: email_rates):")
    _print_table(header, [[_n(v) if isinstance(v, int) else v for v in row] for row in answer])
    want = {}
    for receipt in _get(url.rstrip("/") + "/_emulator/truth?stream=message_receipts"):
        if receipt["content_type"] == "Email" and receipt["received_at"] >= time.time() - 30 * 86400:
            counts = want.setdefault((receipt["ruleset_id"], receipt["content_title"]), [0, 0, 0])
            counts[0] += 1
            counts[1] += receipt["first_open"] is not None
            counts[2] += receipt["first_click"] is not None
    got = {(row[0], row[1]): list(row[2:5]) for row in answer}
    status = OK if got == want and got else BAD
    print(f"      the same counts from the emulator's files: {status}")
    return 1 if problems or status != OK else 0


def main(argv):
    commands = {"capture": (capture, 1), "loaded": (loaded, 3), "mutate": (mutate, 3), "changed": (changed, 4),
                "query": (query, 2), "select_messages": (select_messages, 1), "messages": (messages, 2)}
    if not argv or argv[0] not in commands or len(argv) - 1 != commands[argv[0]][1]:
        sys.stderr.write(__doc__)
        return 2
    func, _ = commands[argv[0]]
    try:
        return func(*argv[1:]) or 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
