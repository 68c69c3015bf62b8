"""The Reporting Data Export (2.14+): GET /export/reporting_data/get_datasets, POST .../enqueue, GET
.../{job_identifier}, GET /download/reporting_data/{job_identifier}.

Files are written as API-NOTES section 11 says real ones are: the real dataset ids (`conversation`,
`conversation_state`, `admin_status_change` with its exact five columns, `tickets`, `ticket_time_in_state`) and
column names; headers are plain attribute ids even when qualified ids were requested; custom attributes come under
their display names (two of them named `Brand`: a repeated header) and hold what a workspace stores (`077109`,
`AC-814`, `1e5`); `*_id` columns hold names ("Unassigned" included) with the ids in `*_raw_id` columns beside;
times are `YYYY-MM-DD HH:MM:SS` in the workspace's timezone; empty strings for nothing. A state or status period
still under way has an empty end; `advance` ends them (and moves open conversations to closed), `reopen` reopens
closed conversations: re-exported rows change, as at Intercom.
Jobs stay pending for `polls` status calls (then complete, or failed when a failure was queued); at most 5 are
pending per workspace (the 6th enqueue gets Intercom's 429); downloads come as plain CSV, gzip or tar.gz of two
CSVs (`format`), or garbage when asked.
Control: POST /_emulator/reporting {format, polls, seconds, timezone, fail_next: {dataset: n (-1: every job)},
garbage_next: n, external_jobs: {count, seconds | refusals}, blank_keys: bool, advance: n, reopen: n, add: n,
set_cell: {dataset, attribute (qualified id), value} (the newest row's cell)}; GET /_emulator/reporting (settings,
jobs, windows enqueued); truth: GET /_emulator/truth?stream=report_<dataset>: every row as the file would write
it, {qualified id (or the `*_raw_id` header): cell text} (by name only: the whole truth is the streams every run
syncs).
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
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# dataset id: (name, description, default time attribute, attributes); an attribute is (id, qualified prefix,
# display name, kind), kind one of time | number | text | name (an `*_id` holding a name: the id goes to a
# `*_raw_id` column beside it) | custom (a custom attribute: its id and the file's header are its display name)
_CUSTOM = [("Brand", "people", "Brand", "custom"), ("Brand", "conversation", "Brand", "custom"),
           ("Account Number", "conversation", "Account Number", "custom"),
           ("# bookkeeping clients", "people", "# bookkeeping clients", "custom"),
           # a custom attribute whose display name reads like Intercom's own count: its values decide
           ("number_of_seats", "conversation", "number_of_seats", "custom")]
DATASETS = {
    "conversation": ("Conversation", "Conversation-level details.", "conversation_started_at", [
        ("conversation_id", "standard", "Conversation ID", "text"),
        ("conversation_started_at", "timestamp", "Conversation started at", "time"),
        ("conversation_first_closed_at", "timestamp", "First closed at", "time"),
        ("conversation_last_closed_at", "timestamp", "Last closed at", "time"),
        ("conversation_first_teammate_reply_at", "timestamp", "First teammate reply at", "time"),
        ("conversation_state", "standard", "Conversation state", "text"),
        ("channel", "standard", "Channel", "text"),
        ("currently_assigned_teammate_id", "teammate", "Teammate currently assigned", "name"),
        ("currently_assigned_team_id", "team", "Team currently assigned", "name"),
        ("time_to_first_close", "duration", "Time to first close", "number"),
        ("time_to_first_teammate_reply", "duration", "Time to first teammate reply", "number"),
        ("time_to_first_close_in_office_hours", "duration", "Time to first close (office hours)", "number"),
        ("number_of_reopens", "standard", "Number of reopens", "number"),
        ("conversation_rating", "standard", "Conversation rating", "text"),
    ] + _CUSTOM),
    "conversation_state": ("Conversation state", "Each state a conversation was in.",
                           "conversation_state_started_at", [
        ("conversation_state", "standard", "Conversation state", "text"),
        ("previous_conversation_state", "standard", "Previous conversation state", "text"),
        ("conversation_state_started_at", "timestamp", "State started at", "time"),
        ("conversation_state_ended_at", "timestamp", "State ended at", "time"),
        ("conversation_id", "standard", "Conversation ID", "text"),
        ("currently_assigned_teammate_id", "teammate", "Teammate currently assigned", "name"),
        ("channel", "standard", "Channel", "text"),
        ("time_in_conversation_state", "duration", "Time in state", "number"),
        ("Account Number", "conversation", "Account Number", "custom"),
        ("Brand", "people", "Brand", "custom"),
    ]),
    "admin_status_change": ("Teammate status", "Teammates' away and active periods.",
                            "teammate_status_period_started_at", [
        ("teammate_status_period_started_at", "timestamp", "Status period started at", "time"),
        ("teammate_status_period_ended_at", "timestamp", "Status period ended at", "time"),
        ("teammate_away_reason", "standard", "Away reason", "text"),
        ("teammate_status_id", "standard", "Status ID", "text"),
        ("teammate_status", "standard", "Status", "text"),
    ]),
    "tickets": ("Tickets", "Ticket-level details.", "ticket_created_at", [
        ("ticket_id", "standard", "Ticket ID", "text"),
        ("ticket_created_at", "timestamp", "Ticket created at", "time"),
        ("ticket_last_resolved_at", "timestamp", "Last resolved at", "time"),
        ("ticket_time_to_resolve", "duration", "Time to resolve", "number"),
        ("ticket_state", "standard", "Ticket state", "text"),
        ("ticket_type", "standard", "Ticket type", "text"),
        ("currently_assigned_team_id", "team", "Team currently assigned", "name"),
        ("Account Number", "conversation", "Account Number", "custom"),
    ]),
    # durations per state, no start or end time: its window follows its ticket's creation
    "ticket_time_in_state": ("Ticket time in state", "Time each ticket spent in each state.", "ticket_created_at", [
        ("ticket_id", "standard", "Ticket ID", "text"),
        ("ticket_state_id", "standard", "Ticket state ID", "text"),
        ("ticket_state", "standard", "Ticket state", "text"),
        ("time_in_state", "duration", "Time in state", "number"),
        ("time_in_state_in_office_hours", "duration", "Time in state (office hours)", "number"),
    ]),
}
TEAMMATES = [("991001", "Ada Lovelace"), ("991002", "Grace Hopper"), ("991003", "Ken Thompson")]
TEAMS = [("881001", "Support"), ("881002", "Billing"), ("", "Unassigned")]
STATUSES = [("1", "Active"), ("2", "Away"), ("3", "Away and reassigning")]
TICKET_STATES = [("41", "Submitted"), ("42", "In progress"), ("43", "Waiting on customer"), ("44", "Resolved")]
ACCOUNT_NUMBERS = ["077109", "AC-814", "1e5", "12", "000", "4.50", "-7", ""]


def qualified(attribute):
    return "%s.%s" % (attribute[1], attribute[0])


def _listed(attribute):
    ident, prefix, name, kind = attribute
    return {"id": ident, "qualified_id": qualified(attribute), "name": name}


def raw_header(ident):
    """`currently_assigned_team_id` -> `currently_assigned_team_raw_id`."""
    return (ident[:-3] if ident.endswith("_id") else ident) + "_raw_id"


class Reporting:
    def __init__(self, ws):
        self.ws, self.rng = ws, random.Random(ws.seed * 7919 + 5)
        self.lock = threading.Lock()
        self.format, self.polls, self.timezone = "csv", 2, "UTC"
        self.seconds = 5.0  # a job unpolled (its client killed) completes on its own after this long
        self.fail_next, self.garbage_next = {}, 0
        self.blank_keys = False  # each file's first row without its first key cell: a row no tap can key
        self.external = []  # monotonic deadlines of other apps' pending jobs
        self.external_refusals = None  # or: other apps' jobs end once this many enqueues were refused for them
        self.jobs = {}
        self.enqueued = []  # (dataset, start_time, end_time) in order, for tests
        self.rows = {name: [] for name in DATASETS}  # {qualified id: value, "_time": the window's time}
        self.conversations = []  # (conversation row, its current state row)
        self.period_starts = set()  # admin_status_change's start times
        self.tickets = []  # (ticket row, {state id: time-in-state row}, current state id, since)
        for _ in range(60):  # every time in [clock - 10 days, clock - 10 minutes], as the rest of the workspace
            self._conversation(ws.clock - 10 * DAY + int(self.rng.random() * (10 * DAY - 600)), ws.clock - 600)
        for _ in range(30):
            self._status_period(ws.clock - 10 * DAY + int(self.rng.random() * (10 * DAY - 600)), ws.clock - 600)
        for _ in range(20):
            self._ticket(ws.clock - 10 * DAY + int(self.rng.random() * (10 * DAY - 600)), ws.clock - 600)

    # ---- rows -------------------------------------------------------------------------------------------
    def _conversation(self, started, limit):
        """A conversation's rows: its conversation row and its states; nothing after `limit`."""
        r = self.rng
        cid = str(7000000 + len(self.conversations))
        mate, team = r.choice(TEAMMATES), r.choice(TEAMS)
        channel = r.choice(["Chat", "Email", "Phone, SMS"])
        replied = started + 30 + int(r.random() * 3000) if r.random() < 0.8 else None
        seats = r.choice(["12", "07", "3", ""])
        row = {"standard.conversation_id": cid, "timestamp.conversation_started_at": started,
               "timestamp.conversation_first_closed_at": None, "timestamp.conversation_last_closed_at": None,
               "timestamp.conversation_first_teammate_reply_at": replied if replied and replied < limit else None,
               "standard.conversation_state": "open", "standard.channel": channel,
               "teammate.currently_assigned_teammate_id": mate, "team.currently_assigned_team_id": team,
               "duration.time_to_first_close": None, "duration.time_to_first_teammate_reply":
                   replied - started if replied and replied < limit else None,
               "duration.time_to_first_close_in_office_hours": None, "standard.number_of_reopens": 0,
               "standard.conversation_rating": r.choice(["1", "2", "3", "4", "5", "", ""]) or None,
               "people.Brand": r.choice(["Acme", "Globex", None]), "conversation.Brand": r.choice(["Acme EU", "Acme US"]),
               "conversation.Account Number": r.choice(ACCOUNT_NUMBERS) or None,
               "people.# bookkeeping clients": r.choice(["12", "007", "3", "many", None]),
               "conversation.number_of_seats": seats or None, "_time": started}
        self.rows["conversation"].append(row)
        state = self._state(row, "open", None, started)
        self.conversations.append([row, state])
        at = started
        for following in ["snoozed", "open", "closed"][:int(r.random() * 4)]:
            at += 60 + int(r.random() * 20000)
            if at >= limit:
                break
            self._next_state(self.conversations[-1], following, at)

    def _state(self, conversation, name, previous, at):
        state = {"standard.conversation_state": name, "standard.previous_conversation_state": previous,
                 "timestamp.conversation_state_started_at": at, "timestamp.conversation_state_ended_at": None,
                 "standard.conversation_id": conversation["standard.conversation_id"],
                 "teammate.currently_assigned_teammate_id": conversation["teammate.currently_assigned_teammate_id"],
                 "standard.channel": conversation["standard.channel"], "duration.time_in_conversation_state": None,
                 "conversation.Account Number": conversation["conversation.Account Number"],
                 "people.Brand": conversation["people.Brand"], "_time": at}
        self.rows["conversation_state"].append(state)
        return state

    def _next_state(self, pair, name, at):
        """The conversation's current state ends at `at`; `name` begins (its end empty: under way)."""
        conversation, current = pair
        current["timestamp.conversation_state_ended_at"] = at
        current["duration.time_in_conversation_state"] = at - current["timestamp.conversation_state_started_at"]
        pair[1] = self._state(conversation, name, current["standard.conversation_state"], at)
        conversation["standard.conversation_state"] = name
        started = conversation["timestamp.conversation_started_at"]
        if name == "closed":
            if conversation["timestamp.conversation_first_closed_at"] is None:
                conversation["timestamp.conversation_first_closed_at"] = at
                conversation["duration.time_to_first_close"] = at - started
                conversation["duration.time_to_first_close_in_office_hours"] = (at - started) // 3
            conversation["timestamp.conversation_last_closed_at"] = at
        elif current["standard.conversation_state"] == "closed":
            conversation["standard.number_of_reopens"] += 1

    def _status_period(self, begin, limit):
        r = self.rng
        mate = r.choice(TEAMMATES)[0]
        status_id, status = r.choice(STATUSES)
        while begin in self.period_starts:
            begin -= 1  # no teammate column: two periods starting in one second could not be told apart
        self.period_starts.add(begin)
        length = 60 + int(r.random() * 7200)
        row = {"timestamp.teammate_status_period_started_at": begin,
               "timestamp.teammate_status_period_ended_at": begin + length if begin + length < limit else None,
               "standard.teammate_away_reason": (r.choice(["Lunch", "In a meeting, back soon", None])
                                                 if status != "Active" else None),
               "standard.teammate_status_id": status_id, "standard.teammate_status": status, "_time": begin,
               "_mate": mate}
        self.rows["admin_status_change"].append(row)

    def _ticket(self, created, limit):
        r = self.rng
        tid = str(5100 + len(self.tickets))
        row = {"standard.ticket_id": tid, "timestamp.ticket_created_at": created,
               "timestamp.ticket_last_resolved_at": None, "duration.ticket_time_to_resolve": None,
               "standard.ticket_state": "Submitted", "standard.ticket_type": r.choice(["Bug", "Refund, partial"]),
               "team.currently_assigned_team_id": r.choice(TEAMS),
               "conversation.Account Number": r.choice(ACCOUNT_NUMBERS) or None, "_time": created}
        self.rows["tickets"].append(row)
        ticket = [row, {}, None, created]
        self.tickets.append(ticket)
        self._ticket_state(ticket, TICKET_STATES[0], created)
        at = created
        for state in TICKET_STATES[1:1 + int(r.random() * 4)]:
            at += 600 + int(r.random() * 40000)
            if at >= limit:
                break
            self._ticket_state(ticket, state, at)

    def _ticket_state(self, ticket, state, at):
        """The ticket's time in its current state grows until `at`; `state` begins."""
        row, by_state, current, since = ticket
        if current is not None:
            spent = by_state[current]
            spent["duration.time_in_state"] += at - since
            spent["duration.time_in_state_in_office_hours"] += (at - since) // 3
        state_id, name = state
        if state_id not in by_state:
            by_state[state_id] = {"standard.ticket_id": row["standard.ticket_id"],
                                  "standard.ticket_state_id": state_id, "standard.ticket_state": name,
                                  "duration.time_in_state": 0, "duration.time_in_state_in_office_hours": 0,
                                  "_time": row["timestamp.ticket_created_at"]}
            self.rows["ticket_time_in_state"].append(by_state[state_id])
        ticket[2], ticket[3] = state_id, at
        row["standard.ticket_state"] = name
        if name == "Resolved":
            row["timestamp.ticket_last_resolved_at"] = at
            row["duration.ticket_time_to_resolve"] = at - row["timestamp.ticket_created_at"]

    def mutate(self, advance=0, reopen=0, add=0):
        """Changes between two runs, each to rows of the last day (within a tap's lookback): `advance` ends
        the states and status periods under way (conversations move on, tickets too), `reopen` reopens closed
        conversations, `add` starts new conversations now."""
        with self.lock:
            now = self.ws.now()
            recent = [pair for pair in self.conversations
                      if pair[0]["timestamp.conversation_started_at"] >= now - DAY]
            recent.sort(key=lambda pair: -pair[0]["timestamp.conversation_started_at"])
            moving = [pair for pair in recent if pair[1]["standard.conversation_state"] != "closed"]
            for pair in moving[:int(advance)]:
                self._next_state(pair, "closed", now - 5)
            for row in self.rows["admin_status_change"][:]:
                if advance and row["timestamp.teammate_status_period_ended_at"] is None and row["_time"] >= now - DAY:
                    row["timestamp.teammate_status_period_ended_at"] = now - 5
            for ticket in self.tickets:
                if advance and ticket[0]["timestamp.ticket_created_at"] >= now - DAY and \
                        ticket[0]["standard.ticket_state"] != "Resolved":
                    self._ticket_state(ticket, TICKET_STATES[-1], now - 5)
            closed = [pair for pair in recent if pair[1]["standard.conversation_state"] == "closed"
                      and pair[1]["timestamp.conversation_state_started_at"] < now - 4]
            for pair in closed[:int(reopen)]:
                self._next_state(pair, "open", now - 3)
            for _ in range(int(add)):
                self._conversation(now - 60, now)
                self._status_period(now - 50 - len(self.rows["admin_status_change"]), now)

    def set_cell(self, dataset, attribute, value):
        """The newest row's cell (a value discovery's sample did not see)."""
        with self.lock:
            newest = max(self.rows[dataset], key=lambda row: row["_time"])
            newest[attribute] = value

    def truth(self):
        """{report_<dataset>: [{qualified id, or a `*_raw_id` header: the cell's text as the file writes it}]}."""
        out = {}
        zone = zoneinfo.ZoneInfo(self.timezone)
        with self.lock:
            for name, (_, _, _, attributes) in DATASETS.items():
                rows = []
                for row in self.rows[name]:
                    record = {}
                    for attribute in attributes:
                        cells = self._cells(attribute, row.get(qualified(attribute)), zone)
                        record[qualified(attribute)] = cells[0]
                        if attribute[3] == "name":
                            record[raw_header(attribute[0])] = cells[1]
                    rows.append(record)
                out["report_" + name] = rows
        return out

    @staticmethod
    def _cells(attribute, value, zone):
        """The file's cells of one attribute (two for a name: the name, then its id)."""
        kind = attribute[3]
        if value is None:
            return ["", ""] if kind == "name" else [""]
        if kind == "time":
            return [datetime.datetime.fromtimestamp(value, zone).strftime(TIME_FORMAT)]
        if kind == "name":
            return [value[1], value[0]]
        return [str(value)]

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
                # "refusals": held until that many enqueues were refused (a test then needs no clock)
                refusals = external.get("refusals")
                deadline = float("inf") if refusals else time.monotonic() + float(external.get("seconds", 3))
                self.external += [deadline] * int(external.get("count", MAX_PENDING))
                self.external_refusals = int(refusals) if refusals else None
        if body.get("advance") or body.get("reopen") or body.get("add"):
            self.mutate(body.get("advance") or 0, body.get("reopen") or 0, body.get("add") or 0)
        if body.get("set_cell"):
            cell = body["set_cell"]
            self.set_cell(cell["dataset"], cell["attribute"], cell["value"])
        return self.state()

    def state(self):
        return {"format": self.format, "polls": self.polls, "timezone": self.timezone,
                "fail_next": dict(self.fail_next), "garbage_next": self.garbage_next,
                "enqueued": list(self.enqueued),
                "jobs": {j: {k: v for k, v in job.items() if k != "columns"} for j, job in self.jobs.items()}}

    # ---- endpoints --------------------------------------------------------------------------------------
    def datasets(self, req, with_qualified):
        data = []
        for ident, (name, description, time_attribute, attributes) in DATASETS.items():
            listed = []
            for attribute in attributes:
                column = _listed(attribute)
                if not with_qualified:
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
            match = [a for a in attributes if qualified(a) == wanted] or [a for a in attributes if a[0] == wanted][:1]
            if not match:
                raise error(400, "bad_request", "attribute_ids invalid for %s dataset: %s" % (dataset, wanted))
            columns.append(match[0])
        try:
            start, end = int(body["start_time"]), int(body["end_time"])
        except (KeyError, TypeError, ValueError):
            raise error(400, "bad_request", "start_time and end_time are required epoch seconds")
        with self.lock:
            if self.pending() >= MAX_PENDING:
                if self.external and self.external_refusals is not None:
                    self.external_refusals -= 1
                    if self.external_refusals <= 0:
                        self.external, self.external_refusals = [], None
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
        """The file: plain attribute ids as headers (display names for custom attributes), `*_raw_id` after
        each name column, the rows whose window time lies in [start, end] (both ends: the tap must not mind)."""
        zone = zoneinfo.ZoneInfo(self.timezone)
        header = []
        for attribute in job["columns"]:
            header.append(attribute[2] if attribute[3] == "custom" else attribute[0])
            if attribute[3] == "name":
                header.append(raw_header(attribute[0]))
        rows = []
        with self.lock:
            for row in self.rows[job["dataset"]]:
                if job["start"] <= row["_time"] <= job["end"]:
                    out = []
                    for attribute in job["columns"]:
                        out += self._cells(attribute, row.get(qualified(attribute)), zone)
                    rows.append(out)
        if self.blank_keys and rows:  # the first row without its conversation or ticket id
            ids = [i for i, cell in enumerate(header) if cell in ("conversation_id", "ticket_id")]
            rows[0][ids[0] if ids else 0] = ""
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
