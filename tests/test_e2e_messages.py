"""End to end: the message streams (the content data export) loaded by meltanolabs-target-postgres (its own venv,
from scripts/e2e_setup.sh), a full run then one after later opens and clicks; one row per receipt and per event,
and docs/MESSAGES.md's "open and click rate per email in the last 30 days" equal to the emulator's files."""
import datetime
import os
import re
import time

from conftest import ROOT, discover, select_streams, tap_config
from test_e2e_postgres import TARGET_POSTGRES, pg_drop_schema, pg_query, pg_target_config, require_e2e_setup
from test_e2e_reporting import pipeline

MESSAGES = ["message_receipts", "message_events"]
KEYS = {"message_receipts": ["receipt_id"],
        "message_events": ["receipt_id", "event", "occurred_at", "detail"]}


def documented_query(name):
    text = (ROOT / "docs" / "MESSAGES.md").read_text()
    block = next(b for b in re.findall(r"```sql\n(.*?)```", text, re.S) if b.startswith(f"-- query: {name}\n"))
    return block.split("\n", 1)[1]


def expected_rates(receipts, now):
    by_message = {}
    for receipt in receipts:
        if receipt["content_type"] == "Email" and receipt["received_at"] >= now - 30 * 86400:
            row = by_message.setdefault((receipt["ruleset_id"], receipt["content_title"]), [0, 0, 0])
            row[0] += 1
            row[1] += receipt["first_open"] is not None
            row[2] += receipt["first_click"] is not None
    return {key: tuple(counts) for key, counts in by_message.items()}


def test_message_tables_in_postgres(make_emulator, tmp_path):
    require_e2e_setup()
    emulator = make_emulator(seed=31, contacts=20, companies=3, conversations=3, tickets=2, activity_logs=5)
    emulator._call("POST", "content_export", {"polls": 1})
    clock = emulator.configure()["clock"]
    start = datetime.datetime.fromtimestamp(clock - 31 * 86400, datetime.timezone.utc).isoformat()
    config = tap_config(emulator.url, start_date=start)
    catalog = select_streams(discover(tmp_path, config), set(MESSAGES))
    schema = f"i27_messages_{os.getpid()}"
    pg_drop_schema(schema)
    target_config = pg_target_config(schema)
    try:
        state = pipeline(tmp_path, TARGET_POSTGRES, config, catalog, None, target_config, 1)
        # opens and clicks now of emails sent in the last 5 days (inside the 7-day lookback: the emulator's clock is a
        # day behind the tap's), and new emails
        emulator._call("POST", "content_export", {"engage": 8, "engage_days": 5, "send": 4})
        state = pipeline(tmp_path, TARGET_POSTGRES, config, catalog, state, target_config, 2)
        assert set(state["bookmarks"]) == set(MESSAGES)

        for stream in MESSAGES:
            truth = emulator._call("GET", f"truth?stream={stream}")
            columns = ", ".join(f'"{k}"::text' for k in KEYS[stream])
            rows, duplicates = pg_query(f'SELECT {columns} FROM "{schema}"."{stream}"',
                                        f'SELECT {columns}, count(*) FROM "{schema}"."{stream}" GROUP BY {columns} '
                                        f'HAVING count(*) > 1')
            assert not duplicates, stream
            assert len(rows) == len(truth), f"{stream}: {len(rows)} rows, the emulator's files {len(truth)}"
        (types,) = pg_query((f"SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                             f"AND table_name = 'message_receipts'", [schema]))
        types = dict(map(tuple, types))
        assert types["received_at"].startswith("timestamp") and types["first_open"].startswith("timestamp")
        assert types["company_id"] in ("text", "character varying")
        (minus_one,) = pg_query(f"SELECT count(*) FROM \"{schema}\".message_receipts WHERE company_id = '-1'")
        assert minus_one[0][0] > 0

        receipts = emulator._call("GET", "truth?stream=message_receipts")
        _, answer = pg_query(f'SET search_path TO "{schema}"', documented_query("email_rates"))
        now = time.time()
        got = {(row[0], row[1]): (row[2], row[3], row[4]) for row in answer}
        assert got == expected_rates(receipts, now) and got
        assert any(opened for _, opened, _ in got.values()) and any(clicked for _, _, clicked in got.values())
    finally:
        pg_drop_schema(schema)
