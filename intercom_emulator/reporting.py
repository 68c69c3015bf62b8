"""The Reporting Data Export (2.14+): GET /export/reporting_data/get_datasets, POST .../enqueue, GET
.../{job_identifier}, GET /download/reporting_data/{job_identifier}.

Datasets conversation, conversation_state, admin_status_change and conversation_tag (no id column), their rows
drawn from their own RNG. Jobs stay pending for `polls` status calls (then complete, or failed when a failure was
queued); at most 5 are pending per workspace (the 6th enqueue gets Intercom's 429); downloads come as plain CSV,
gzip or tar.gz of two CSVs (`format`), or garbage when asked. Files are written as Intercom does: columns named
by attribute id, custom attributes by display name, a repeated name twice, `*_raw_id` beside team and teammate
columns, times as "YYYY-MM-DD HH:MM[:SS]" in the workspace's timezone, empty cells for nothing.
Control: POST /_emulator/reporting {format, polls, seconds, timezone, fail_next: {dataset: n (-1: every job)},
garbage_next: n, external_jobs: {count, seconds}, blank_keys: bool, reopen: n, add: n}; GET /_emulator/reporting (settings, jobs,
windows enqueued); truth: GET /_emulator/truth?stream=report_<dataset> (by name only: the whole truth is the
streams every run syncs).
"""
import csv
import datetime
import gzip
import io
import random
import tarfile
import threading
import time
import uuid
import zoneinfo

from .answers import ApiError, since_2_16
from .generate import DAY

MAX_PENDING = 5
FORMATS = ("csv", "gzip", "tgz")
# dataset id: (name, description, default time attribute, attributes); an attribute is (id, qualified prefix,
# display name, kind), kind one of time | number | text | name (a team or teammate name: a `<id>_raw_id` column
# goes beside it) | custom (a custom attribute: the file names it by its display name)
DATASETS = {
    "conversation": ("Conversation", "Conversation-level details: status, channel, assignee.",
                     "conversation_started_at", [
        ("conversation_id", "standard", "Conversation ID", "text"),
        ("conversation_started_at", "timestamp", "Conversation started at", "time"),
        ("conversation_first_closed_at", "timestamp", "First closed at", "time"),
        ("conversation_state", "standard", "State", "text"),
        ("channel", "standard", "Channel", "text"),
        ("teammate_assigned", "standard", "Teammate assigned", "name"),
        ("team_assigned", "standard", "Team assigned", "name"),
        ("time_to_first_close", "standard", "Time to first close", "number"),
        ("count_reopens", "standard", "Reopens", "number"),
        ("conversation_rating", "standard", "Conversation rating", "number"),
        ("Brand", "people", "Brand", "text"),
        ("Brand", "conversation", "Brand", "text"),
        ("custom_issue_type", "conversation", "Issue type", "custom"),
    ]),
    "conversation_state": ("Conversation state", "Each state a conversation was in, and for how long.",
                           "state_started_at", [
        ("conversation_id", "standard", "Conversation ID", "text"),
        ("state", "standard", "State", "text"),
        ("state_started_at", "timestamp", "State started at", "time"),
        ("state_ended_at", "timestamp", "State ended at", "time"),
        ("duration_in_state", "standard", "Seconds in state", "number"),
        ("teammate_assigned", "standard", "Teammate assigned", "name"),
    ]),
    "admin_status_change": ("Teammate status", "Teammates' away and active periods.", "status_started_at", [
        ("teammate_id", "standard", "Teammate ID", "text"),
        ("teammate", "standard", "Teammate", "name"),
        ("status", "standard", "Status", "text"),
        ("away_reason", "standard", "Away reason", "text"),
        ("status_started_at", "timestamp", "Started at", "time"),
        ("status_ended_at", "timestamp", "Ended at", "time"),
        ("status_duration_seconds", "standard", "Duration", "number"),
    ]),
    "conversation_tag": ("Conversation tags", "Tags applied to conversations.", "tagged_at", [
        ("conversation_id", "standard", "Conversation ID", "text"),
        ("tag_name", "standard", "Tag", "text"),
        ("tagged_at", "timestamp", "Tagged at", "time"),
        ("tagged_by", "standard", "Tagged by", "name"),
    ]),
}
MINUTE_TIMES = {"admin_status_change"}  # this dataset's times come as "YYYY-MM-DD HH:MM" (no seconds)
TEAMMATES = [("991001", "Ada Lovelace"), ("991002", "Grace Hopper"), ("991003", "Ken Thompson")]
TEAMS = [("881001", "Support"), ("881002", "Billing")]


def _column(attribute):
    ident, prefix, name, kind = attribute
    return {"id": ident, "qualified_id": "%s.%s" % (prefix, name if kind == "custom" else ident), "name": name}


class Reporting:
    def __init__(self, ws):
        self.ws, self.rng = ws, random.Random(ws.seed * 7919 + 5)
        self.lock = threading.Lock()
        self.format, self.polls, self.timezone = "csv", 2, "UTC"
        self.seconds = 5.0  # a job unpolled (its client killed) completes on its own after this long
        self.fail_next, self.garbage_next = {}, 0
        self.blank_keys = False  # each file's first row without its first column (a key): a row no tap can key
        self.external = []  # monotonic deadlines of other apps' pending jobs
        self.jobs = {}
        self.enqueued = []  # (dataset, start_time, end_time) in order, for tests
        self.rows = {name: [] for name in DATASETS}
        for _ in range(60):  # every time in [clock - 10 days, clock - 10 minutes], as the rest of the workspace
            self._conversation(ws.clock - 10 * DAY + int(self.rng.random() * (10 * DAY - 600)), ws.clock - 600)

    # ---- rows -------------------------------------------------------------------------------------------
    def _conversation(self, started, limit):
        """A conversation's rows in every dataset; no time after `limit`."""
        r = self.rng
        cid = str(7000000 + len(self.rows["conversation"]))
        closed = min(started + int(r.random() * 3 * DAY), limit) if r.random() < 0.7 else None
        mate, team = r.choice(TEAMMATES), r.choice(TEAMS)
        self.rows["conversation"].append({
            "conversation_id": cid, "conversation_started_at": started, "conversation_first_closed_at": closed,
            "conversation_state": "closed" if closed else r.choice(["open", "snoozed"]),
            "channel": r.choice(["Chat", "Email", "Phone, SMS"]), "teammate_assigned": mate,
            "team_assigned": team if r.random() < 0.8 else None,
            "time_to_first_close": closed - started if closed else None, "count_reopens": int(r.random() * 3),
            # one rating the "number" guess cannot hold: the tap writes that column as text
            "conversation_rating": "Amazing" if cid == "7000007"
            else (str(1 + int(r.random() * 5)) if r.random() < 0.5 else None),
            "people.Brand": r.choice(["Acme", "Globex", None]), "conversation.Brand": r.choice(["Acme EU", "Acme US"]),
            "custom_issue_type": r.choice(["Billing", "Bug \"quoted\"", "Multi\nline", None])})
        at = started
        for state in ["open", "snoozed", "open", "closed"][:1 + int(r.random() * 4)]:
            length = min(60 + int(r.random() * 20000), limit - at)
            if length <= 0:
                break
            self.rows["conversation_state"].append({
                "conversation_id": cid, "state": state, "state_started_at": at, "state_ended_at": at + length,
                "duration_in_state": length, "teammate_assigned": mate})
            at += length
        if r.random() < 0.6:
            tag = r.choice(["vip", "bug", "refund"])
            row = {"conversation_id": cid, "tag_name": tag, "tagged_at": min(started + 120, limit), "tagged_by": mate}
            self.rows["conversation_tag"].append(row)
        if len(self.rows["conversation"]) % 2 == 0:
            mate_id, name = r.choice(TEAMMATES)
            begin = started - started % 60
            length = min(60 * (1 + int(r.random() * 120)), (limit - begin) // 60 * 60)
            self.rows["admin_status_change"].append({
                "teammate_id": mate_id, "teammate": (mate_id, name), "status": r.choice(["Away", "Active"]),
                "away_reason": r.choice(["Lunch", "", None, "In a meeting, back soon"]) or None,
                "status_started_at": begin, "status_ended_at": begin + length, "status_duration_seconds": length})

    def truth(self):
        """{report_<dataset>: rows keyed by column (the tap's names: attribute id, a repeated id by its
        qualified id); times as epoch seconds, `*_raw_id` columns beside names}."""
        out = {}
        for name, (_, _, _, attributes) in DATASETS.items():
            rows = []
            for row in self.rows[name]:
                record, seen = {}, set()
                for attribute in attributes:
                    ident, kind = attribute[0], attribute[3]
                    column = ident if ident not in seen else _column(attribute)["qualified_id"]
                    seen.add(ident)
                    value = row.get(ident if ident in row else _column(attribute)["qualified_id"])
                    if kind == "name":
                        record[column] = value[1] if value else None
                        record[ident + "_raw_id"] = value[0] if value else None
                    elif kind == "number" and value is not None and not isinstance(value, str):
                        record[column] = value
                    else:
                        record[column] = value
                rows.append(record)
            out["report_" + name] = rows
        return out

    def mutate(self, reopen=0, add=0):
        """Reopen the newest conversations (their rows change) and start new ones now."""
        with self.lock:
            newest = sorted(self.rows["conversation"], key=lambda row: -row["conversation_started_at"])
            for row in newest[:int(reopen)]:
                row.update(conversation_state="open", count_reopens=row["count_reopens"] + 1)
            for _ in range(int(add)):
                self._conversation(self.ws.now() - 60, self.ws.now())

    # ---- control ----------------------------------------------------------------------------------------
    def configure(self, body):
        with self.lock:
            if body.get("format") is not None:
                if body["format"] not in FORMATS:
                    raise ValueError("format must be one of %s" % ", ".join(FORMATS))
                self.format = body["format"]
            if body.get("polls") is not None:
                self.polls = int(body["polls"])
            if body.get("seconds") is not None:
                self.seconds = float(body["seconds"])
            if body.get("timezone") is not None:
                zoneinfo.ZoneInfo(body["timezone"])
                self.timezone = body["timezone"]
            for dataset, count in (body.get("fail_next") or {}).items():
                self.fail_next[dataset] = int(count)  # -1: every job of the dataset fails
            if body.get("blank_keys") is not None:
                self.blank_keys = bool(body["blank_keys"])
            if body.get("garbage_next") is not None:
                self.garbage_next = int(body["garbage_next"])
            external = body.get("external_jobs")
            if external:
                deadline = time.monotonic() + float(external.get("seconds", 3))
                self.external += [deadline] * int(external.get("count", MAX_PENDING))
        if body.get("reopen") or body.get("add"):
            self.mutate(body.get("reopen") or 0, body.get("add") or 0)
        return self.state()

    def state(self):
        return {"format": self.format, "polls": self.polls, "timezone": self.timezone,
                "fail_next": dict(self.fail_next), "garbage_next": self.garbage_next,
                "enqueued": list(self.enqueued),
                "jobs": {j: {k: v for k, v in job.items() if k != "columns"} for j, job in self.jobs.items()}}

    # ---- endpoints --------------------------------------------------------------------------------------
    def datasets(self, req, qualified):
        data = []
        for ident, (name, description, time_attribute, attributes) in DATASETS.items():
            listed = []
            for attribute in attributes:
                column = _column(attribute)
                if not qualified:
                    del column["qualified_id"]
                listed.append(column)
            data.append({"id": ident, "name": name, "description": description,
                         "default_time_attribute_id": time_attribute, "attributes": listed})
        return {"type": "list", "data": data}

    def pending(self):
        now = time.monotonic()
        self.external = [t for t in self.external if t > now]
        for job in self.jobs.values():
            self._settle(job)
        return len(self.external) + sum(1 for job in self.jobs.values() if job["status"] == "pending")

    def _settle(self, job):
        """Pending until polled `polls` times or `seconds` old; then complete, or failed when queued to."""
        if job["status"] == "pending" and (job["polls"] >= self.polls or
                                           time.monotonic() - job["enqueued"] >= self.seconds):
            job["status"] = "failed" if job["fail"] else "complete"

    def enqueue(self, body, error):
        if not isinstance(body, dict) or body.get("dataset_id") is None:
            raise error(400, "bad_request", "'dataset_id' is a required parameter")
        dataset = body["dataset_id"]
        if dataset not in DATASETS:
            raise error(400, "bad_request", "%s is not a valid dataset_id" % dataset)
        ids = body.get("attribute_ids")
        if not isinstance(ids, list):
            raise error(400, "bad_request", "'attribute_ids' is a required parameter")
        if not ids:
            raise error(400, "bad_request", "attribute_ids must contain at least one attribute_id")
        attributes = DATASETS[dataset][3]
        columns = []
        for wanted in ids:
            match = [a for a in attributes if _column(a)["qualified_id"] == wanted] or \
                [a for a in attributes if a[0] == wanted][:1]
            if not match:
                raise error(400, "bad_request", "attribute_ids invalid for %s dataset: %s" % (dataset, wanted))
            columns.append(match[0])
        try:
            start, end = int(body["start_time"]), int(body["end_time"])
        except (KeyError, TypeError, ValueError):
            raise error(400, "bad_request", "start_time and end_time are required epoch seconds")
        with self.lock:
            if self.pending() >= MAX_PENDING:
                raise error(429, "rate_limit_exceeded",
                            "Exceeded rate limit of %d pending reporting dataset export jobs" % MAX_PENDING)
            fail = self.fail_next.get(dataset, 0) != 0
            if self.fail_next.get(dataset, 0) > 0:
                self.fail_next[dataset] -= 1
            ident = uuid.uuid4().hex[:20]
            self.jobs[ident] = {"dataset": dataset, "columns": columns, "start": start, "end": end, "polls": 0,
                                "status": "pending", "fail": fail, "enqueued": time.monotonic()}
            self.enqueued.append((dataset, start, end))
        return self._job_view(ident)

    def _job_view(self, ident):
        job = self.jobs[ident]
        return {"job_identifier": ident, "status": job["status"],
                "download_url": "https://api.intercom.io/download/reporting_data/%s" % ident if job["status"] ==
                "complete" else "", "download_expires_at": ""}

    def status(self, ident, error):
        with self.lock:
            job = self.jobs.get(ident)
            if job is None:
                raise error(404, "not_found", "Export job not found for identifier: %s" % ident)
            job["polls"] += 1
            self._settle(job)
            return self._job_view(ident)

    def download(self, ident, accept, error):
        with self.lock:
            job = self.jobs.get(ident)
            if job is None or job["status"] != "complete":
                raise error(404, "not_found", "Export job not found for identifier: %s" % ident)
            if "application/octet-stream" not in (accept or ""):
                raise error(406, "not_acceptable", "Accept: application/octet-stream is required")
            garbage = self.garbage_next > 0
            if garbage:
                self.garbage_next -= 1
            fmt = self.format
        if garbage:
            return b"\x89PNG\r\n\x1a\n\x00" + bytes(random.Random(ident).getrandbits(8) for _ in range(600))
        header, rows = self._table(job)
        parts = [rows] if fmt != "tgz" else [rows[:len(rows) // 2], rows[len(rows) // 2:]]
        files = []
        for part in parts:
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(part)
            files.append(text.getvalue().encode())
        if fmt == "csv":
            return files[0]
        if fmt == "gzip":
            return gzip.compress(files[0])
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w:gz") as archive:
            for i, data in enumerate(files):
                info = tarfile.TarInfo("export/%s_%d.csv" % (job["dataset"], i + 1))
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        return out.getvalue()

    def _table(self, job):
        dataset = job["dataset"]
        time_attribute = DATASETS[dataset][2]
        zone = zoneinfo.ZoneInfo(self.timezone)
        pattern = "%Y-%m-%d %H:%M" if dataset in MINUTE_TIMES else "%Y-%m-%d %H:%M:%S"
        header = []
        for attribute in job["columns"]:
            header.append(attribute[2] if attribute[3] == "custom" else attribute[0])
            if attribute[3] == "name":
                header.append(attribute[0] + "_raw_id")

        def cell(attribute, value):
            if value is None:
                return [""] + ([""] if attribute[3] == "name" else [])
            if attribute[3] == "time":
                return [datetime.datetime.fromtimestamp(value, zone).strftime(pattern)]
            if attribute[3] == "name":
                return [value[1], value[0]]
            return [str(value)]

        rows = []
        with self.lock:
            for row in self.rows[dataset]:
                if job["start"] <= row[time_attribute] <= job["end"]:  # both ends: the tap must not mind
                    out = []
                    for attribute in job["columns"]:
                        key = attribute[0] if attribute[0] in row else _column(attribute)["qualified_id"]
                        out += cell(attribute, row.get(key))
                    rows.append(out)
        if self.blank_keys and rows:
            rows[0][0] = ""
        return header, rows


def routes(api):
    """(method, template, scope, handler) for these endpoints; the datasets live on `api.reporting`."""
    reporting = api.reporting = Reporting(api.ws)
    scope = "export_reporting_data"

    def download(req):
        return 200, reporting.download(req.params["id"], req.headers.get("Accept"), ApiError)

    return [("GET", "/export/reporting_data/get_datasets", scope,
             lambda req: (200, reporting.datasets(req, since_2_16(req.version)))),
            ("POST", "/export/reporting_data/enqueue", scope,
             lambda req: (200, reporting.enqueue(req.body, ApiError))),
            ("GET", "/export/reporting_data/{id}", scope,
             lambda req: (200, reporting.status(req.params["id"], ApiError))),
            ("GET", "/download/reporting_data/{id}", scope, download)]
