"""The 2.16 spec's own response examples of every operation the 2.14-2.16 streams call (tests/fixtures, extracted
by scripts/spec_examples_newer.py), served over HTTP to the installed tap: each sync exits 0 and every record is
valid against its stream's schema. Example k of each operation is served in run k (the last one where an
operation has fewer); a page asked for after an example (its `next` cursor) is empty, so examples whose `next`
points further still end."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import pytest

from conftest import ROOT, run_tap, select_streams, tap_config
from tap_intercom.catalog import load_schema
from tap_intercom.streams import STREAMS_BY_NAME

EXAMPLES = json.loads((ROOT / "tests" / "fixtures" / "openapi-2.16-newer-examples.json").read_text())["examples"]
STREAMS = ["calls", "call_transcripts", "internal_articles", "away_status_reasons", "office_hours_schedules",
           "conversation_attributes", "macros", "contact_merges", "conversation_handling_events",
           "custom_object_instances"]
ROUTES = [(method, re.compile("^" + re.sub(r"\{[a-z_]+\}", "[^/]+", path) + "$"), f"{method} {path}")
          for method, path in (key.split(" ", 1) for key in EXAMPLES)]
EMPTY = {"type": "list", "data": [], "pages": {"type": "pages", "next": None}}
RUNS = max(len(bodies) for bodies in EXAMPLES.values())
SYNCED = set()  # streams that wrote records in some run


def serve(run):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, method):
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            following = query.get("starting_after") or int(query.get("page", 1)) > 1 or \
                (body.get("pagination") or {}).get("starting_after")
            name = next((key for m, pattern, key in ROUTES if m == method and pattern.match(url.path)), None)
            if name is None:
                status, payload = 404, {"type": "error.list", "errors": [{"code": "not_found", "message": "no"}]}
            else:
                bodies = EXAMPLES[name]
                status, payload = 200, EMPTY if following else bodies[min(run, len(bodies) - 1)]
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.answer("GET")

        def do_POST(self):
            self.answer("POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("run", range(RUNS))
def test_the_specs_examples_sync_valid(tmp_path, run):
    server = serve(run)
    try:
        url = "http://127.0.0.1:%d" % server.server_address[1]
        catalog = select_streams(json.loads((ROOT / "catalog.json").read_text()), STREAMS)
        result = run_tap(tmp_path, tap_config(url, api_version="2.16", custom_object_types=["Order"]),
                         catalog=catalog)
    finally:
        server.shutdown()
    for stream in STREAMS:
        schema = load_schema(STREAMS_BY_NAME[stream].schema)
        for record in result.records(stream):
            jsonschema.validate(record, schema)
    assert "skipping" not in result.stderr and "failed" not in result.stderr.replace('"status": "failed"', "")
    macros = EXAMPLES["GET /macros"][min(run, len(EXAMPLES["GET /macros"]) - 1)]["data"]
    assert len(result.records("macros")) == len(macros)
    SYNCED.update(stream for stream in STREAMS if result.records(stream))
    if result.records("conversation_handling_events"):
        assert [e["type"] for e in result.records("conversation_handling_events")] == ["paused", "resumed"]
    if result.records("contact_merges"):
        assert result.records("contact_merges")[0]["id"] == "5ba682d23d7cf92bef87bfd3"


def test_every_stream_synced_some_example():
    assert SYNCED == set(STREAMS)
