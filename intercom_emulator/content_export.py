"""The content data export (API-NOTES section 12): who received each outbound message and what they did with it.

  POST /export/content/data {created_at_after, created_at_before}  -> a job (one active per workspace)
  GET  /export/content/data/{job_identifier}                        -> its status
  POST /export/cancel/{job_identifier}                              -> canceled
  GET  /download/content/data/{job_identifier}                      -> an archive of one CSV per statistic

What it does as Intercom does (section 12): a second active job gets 429 "Exceeded rate limit of 1 pending message
data export jobs", also when another app holds the job; status words pending, in_progress, completed, no_data,
failed, canceled; messages are selected by send time over inclusive whole days (UTC days here: which timezone
Intercom's days are in is not documented); only events inside the requested range are exported or counted in
`first_<event>` (late engagement); at most `max_rows` rows (10 million at Intercom); a statistic without rows has
no file; file names carry a date suffix in two forms (`receipt_20251121.csv`, `receipts_20240625-101500.csv`);
titles hold commas, quotes and line breaks; `company_id` and `series_id` are -1 when absent; a download expires
(2 days after completion; `expire_next` makes the next ones expired now).
Control: POST /_emulator/content_export {format: zip|tgz|tar|gz, names: mixed|day|stamp, polls, seconds,
fail_next, cancel_next, expire_next, expired_status, max_rows, times: epoch|text, external_job: seconds,
send: n (new messages sent now), engage: n (receipts sent in the last `engage_days` days get an open and a click
now), engage_days, engage_old: n (the same for receipts sent before that)}; GET /_emulator/content_export
(settings, jobs, ranges enqueued); truth: GET /_emulator/truth?stream=message_receipts|message_events|
message_checkpoints[&after=&before=] (by name only): the rows of an export of [after, before] (default: everything
until now), in the tap's form (event name singular, `occurred_at`, times as epoch seconds).
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
import zipfile

from .answers import ApiError
from .generate import DAY

FORMATS = ("zip", "tgz", "tar", "gz")  # gz: one gzipped CSV (the receipt file), as the 2.16 spec words it
RECEIPT_COLUMNS = [
    "user_id", "user_external_id", "company_id", "company_external_id", "email", "name", "ruleset_id", "content_id",
    "content_type", "content_title", "created_via", "device", "ruleset_version_id", "receipt_id", "received_at",
    "conversation_id", "series_id", "series_title", "node_id"]
FIRSTS = ["reply", "completion", "series_completion", "series_disengagement", "series_exit", "goal_success",
          "tour_step_failure", "tour_step_view", "reaction", "open", "click", "dismissal", "collected_email",
          "unsubscribe", "hard_bounce", "soft_bounce", "spam_complaint", "permission_grant", "button_tap",
          "screen_view", "webhook_failure", "sms_failure", "whatsapp_failure", "push_failure", "answer",
          "keyword_reply", "people_reached_receipt", "checklist_step_receipt", "checklist_step_open",
          "checklist_step_click", "checklist_step_completion", "fin_helpful_answer", "fin_step_reached"]
RECEIPT_HEADER = RECEIPT_COLUMNS + ["first_" + name for name in FIRSTS]
# event file: its columns in order (receipt_id first: a guess) and its time column
EVENTS = {
    "click": (["receipt_id", "clicked_at", "link_type", "url"], "clicked_at"),
    "open": (["receipt_id", "opened_at"], "opened_at"),
    "reply": (["receipt_id", "replied_at"], "replied_at"),
    "completion": (["receipt_id", "completed_at"], "completed_at"),
    "dismissal": (["receipt_id", "dismissed_at"], "dismissed_at"),
    "unsubscribe": (["receipt_id", "unsubscribed_at"], "unsubscribed_at"),
    "hard_bounce": (["receipt_id", "hard_bounced_at"], "hard_bounced_at"),
    "soft_bounce": (["receipt_id", "soft_bounced_at"], "soft_bounced_at"),
    "goal_success": (["receipt_id", "goal_hit_at"], "goal_hit_at"),
    "reaction": (["receipt_id", "reacted_at", "reaction"], "reacted_at"),
    "answer": (["receipt_id", "answered_at", "question_id", "question", "response_type", "response"], "answered_at"),
    "series_completion": (["receipt_id", "completed_at", "completion_node_ruleset_id"], "completed_at"),
    "series_disengagement": (["receipt_id", "disengaged_at", "disengaged_node_ruleset_id"], "disengaged_at"),
    "tour_step_view": (["receipt_id", "step_id", "viewed_at"], "viewed_at"),
    "tour_step_failure": (["receipt_id", "step_id", "failed_selector", "failure_url", "failed_at"], "failed_at"),
    "fin_step_reached": (["receipt_id", "involved_at", "content_id", "content_type", "ruleset_id", "conversation_id"],
                         "involved_at"),
}
CHECKPOINT_HEADER = ["user_id", "company_id", "series_entry_record_id", "ruleset_id", "status_code", "status_name",
                     "created_at", "last_processed_at", "expires_at", "times_processed"]
CHECKPOINT_TIMES = {"created_at", "last_processed_at", "expires_at"}
PLURALS = {"reply": "replies", "goal_success": "goal_successes", "fin_step_reached": "fin_steps_reached",
           "answer_combined": "answers_combined"}
# (title, content type, series or None): titles with commas, quotes and a line break
MESSAGES = [
    ('Welcome, friend', "Email", None),
    ('Spring "sale": 20% off, today only', "Email", None),
    ("Product update\nMarch", "Post", None),
    ("Need help? Chat with us", "Chat", None),
    ('NPS survey, "quick" one', "Survey", None),
    ("Onboarding tour, step by step", "Tour", None),
    ("Trial nurture, day 1", "Email", ("Trial nurture, 14 days", "series")),
    ("Trial nurture, day 3", "Email", ("Trial nurture, 14 days", "series")),
    ("Your invoice, ready", "SMS", None),
    ("Maintenance tonight", "Banner", None),
]
ACTIVE = ("pending", "in_progress")


def _day_span(after, before):
    """Inclusive whole days (UTC): from the start of `after`'s day to the end of `before`'s."""
    return after - after % DAY, before - before % DAY + DAY - 1


def plural(name):
    if name in PLURALS:
        return PLURALS[name]
    return name + "es" if name.endswith(("s", "sh", "ch")) else name + "s"


class ContentExport:
    def __init__(self, ws):
        self.ws, self.rng = ws, random.Random(ws.seed * 104729 + 27)
        self.lock = threading.Lock()
        self.format, self.names, self.times = "zip", "mixed", "epoch"
        self.polls, self.seconds = 2, 5.0  # a job settles after `polls` status calls, or `seconds` unpolled
        self.fail_next = self.cancel_next = self.expire_next = 0
        self.expired_status, self.max_rows = 404, 10_000_000
        self.external_until = 0.0  # monotonic time another app's job ends
        self.jobs, self.enqueued = {}, []
        self.messages, self.receipts, self.events, self.checkpoints = [], [], [], []
        for n, (title, kind, series) in enumerate(MESSAGES):
            self.messages.append({"ruleset_id": str(3100 + n), "content_ids": [str(51000 + 2 * n), str(51001 + 2 * n)],
                                  "content_type": kind, "content_title": title, "ruleset_version_id": str(880 + n),
                                  "series_id": "4400" if series else "-1", "series_title": series[0] if series else "",
                                  "node_id": str(77000 + n) if series else ""})
        # sends over the 30 days before the clock, 2 days short of it; engagement up to 9 days later
        for _ in range(140):
            self._receipt(self.rng.choice(self.messages), ws.clock - 30 * DAY + int(self.rng.random() * 28 * DAY))

    # ---- the workspace's messages -------------------------------------------------------------------------
    def _receipt(self, message, sent):
        r, n = self.rng, len(self.receipts)
        user = "6%07d" % r.randrange(10 ** 7)
        receipt = {"user_id": user, "user_external_id": "ext-%d" % n if r.random() < 0.6 else "",
                   "company_id": str(9100 + r.randrange(5)) if r.random() < 0.5 else "-1",
                   "company_external_id": "", "email": "person%d@example.com" % n,
                   "name": r.choice(["Doe, Jane", 'Bob "Bobby" Tables', "Ana Lima", ""]),
                   "ruleset_id": message["ruleset_id"], "content_id": r.choice(message["content_ids"]),
                   "content_type": message["content_type"], "content_title": message["content_title"],
                   "created_via": r.choice(["outbound", "api", "workflow"]), "device": r.choice(["", "web", "ios"]),
                   "ruleset_version_id": message["ruleset_version_id"], "receipt_id": str(1_900_000 + n),
                   "received_at": sent, "conversation_id": str(8_800_000 + n) if r.random() < 0.1 else "",
                   "series_id": message["series_id"], "series_title": message["series_title"],
                   "node_id": message["node_id"]}
        self.receipts.append(receipt)
        self._engage(receipt, sent, min(self.ws.clock - 600, sent + 9 * DAY))
        if message["series_id"] != "-1":
            self.checkpoints.append({
                "user_id": user, "company_id": receipt["company_id"], "series_entry_record_id": str(600_000 + n),
                "ruleset_id": message["ruleset_id"], "status_code": "2", "status_name": "completed, exited",
                "created_at": sent, "last_processed_at": sent + 3600, "expires_at": sent + 30 * DAY,
                "times_processed": str(1 + r.randrange(4)), "_sent": sent})
        return receipt

    def _event(self, receipt, event, at, **columns):
        self.events.append({"receipt_id": receipt["receipt_id"], "event": event, "at": int(at), **columns})

    def _engage(self, receipt, sent, limit):
        """Engagement after the send, some of it days later (up to `limit`)."""
        r, kind = self.rng, receipt["content_type"]

        def later(max_days):
            return sent + 60 + int(r.random() * max_days * DAY)

        def add(event, at, **columns):
            if at <= limit:
                self._event(receipt, event, at, **columns)

        if kind in ("Email", "SMS"):
            if r.random() < 0.04:
                return add("hard_bounce", sent + 5)
            if r.random() < 0.03:
                add("soft_bounce", sent + 9)
            for _ in range(r.choice([0, 1, 1, 2, 3])):  # opens: the second may come days after the first
                add("open", later(9))
            if r.random() < 0.35:
                at = later(5)
                add("click", at, link_type="link", url="https://example.com/a?x=1,2")
                if r.random() < 0.4:  # two links clicked in the same second
                    add("click", at, link_type="button", url="https://example.com/pricing")
            if r.random() < 0.1:
                add("reply", later(2))
            if r.random() < 0.04:
                add("unsubscribe", later(3))
            if receipt["series_id"] != "-1" and r.random() < 0.3:
                if r.random() < 0.5:
                    add("series_completion", later(4), completion_node_ruleset_id=receipt["ruleset_id"])
                else:
                    add("series_disengagement", later(4), disengaged_node_ruleset_id=receipt["ruleset_id"])
                if r.random() < 0.5:
                    add("goal_success", later(4))
        elif kind in ("Post", "Chat", "Banner"):
            if r.random() < 0.6:
                add("open", later(2))
            if r.random() < 0.2:
                add("reaction", later(2), reaction=r.choice(["😍", "👍", "😐"]))
            if r.random() < 0.2:
                add("dismissal", later(1))
            if kind == "Chat" and r.random() < 0.3:
                add("reply", later(1))
                if r.random() < 0.5:
                    add("fin_step_reached", later(1), content_id=receipt["content_id"], content_type="fin",
                        ruleset_id=receipt["ruleset_id"], conversation_id=str(8_900_000 + int(receipt["receipt_id"])))
        elif kind == "Survey":
            if r.random() < 0.6:
                at = later(3)
                add("answer", at, question_id="q1", question="How likely, 0-10, are you to recommend us?",
                    response_type="nps", response=str(r.randrange(11)))
                add("answer", at, question_id="q2", question='What "one" thing, if any, would you change?',
                    response_type="text", response=r.choice(["Faster, please", "", 'The "export", obviously']))
                add("completion", at + 1)
            elif r.random() < 0.5:
                add("dismissal", later(1))
        elif kind == "Tour":
            at = later(2)
            for step in range(1 + r.randrange(3)):
                add("tour_step_view", at + step * 20, step_id=str(70 + step))
            if r.random() < 0.2:
                add("tour_step_failure", at + 90, step_id="73", failed_selector="#nav > .menu, .x",
                    failure_url="https://app.example.com/settings?a=b")
            elif r.random() < 0.6:
                add("completion", at + 120)

    def send(self, count):
        """`count` messages sent now (each to one new recipient)."""
        with self.lock:
            for _ in range(int(count)):
                self._receipt(self.rng.choice(self.messages), self.ws.now() - 1)

    def engage(self, count, days=7, old=False):
        """An open and a click now for `count` receipts sent in the last `days` days (or, old=True, before)."""
        with self.lock:
            now = self.ws.now()
            chosen = [rc for rc in self.receipts if (rc["received_at"] < now - days * DAY) == bool(old)
                      and rc["content_type"] == "Email"]
            for receipt in self.rng.sample(chosen, min(int(count), len(chosen))):
                self._event(receipt, "open", now - 1)
                self._event(receipt, "click", now - 1, link_type="link", url="https://example.com/later,%22q%22")
            return len(chosen)

    # ---- an export ------------------------------------------------------------------------------------------
    def export(self, after, before, until=None):
        """(receipts, events, checkpoints) of an export of [after, before] made at `until` (default now): the
        receipts sent in those whole days, their events in those days, `first_*` counted from those alone."""
        low, high = _day_span(after, before)
        high = min(high, self.ws.now() if until is None else until)
        receipts = [dict(rc) for rc in self.receipts if low <= rc["received_at"] <= high]
        ids = {rc["receipt_id"] for rc in receipts}
        events = [ev for ev in self.events if ev["receipt_id"] in ids and low <= ev["at"] <= high]
        first = {}
        for ev in events:
            key = (ev["receipt_id"], ev["event"])
            first[key] = min(first.get(key, ev["at"]), ev["at"])
        for rc in receipts:
            for name in FIRSTS:
                rc["first_" + name] = first.get((rc["receipt_id"], name))
        checkpoints = [dict(cp) for cp in self.checkpoints if low <= cp["_sent"] <= high]
        return receipts, events, checkpoints

    def truth(self, stream, after=None, before=None):
        """The rows of an export, in the tap's form (see the module's docstring)."""
        receipts, events, checkpoints = self.export(int(after or 0), int(before or self.ws.now()))
        if stream == "message_receipts":
            return receipts
        if stream == "message_checkpoints":
            return [{k: v for k, v in cp.items() if k != "_sent"} for cp in checkpoints]
        if stream == "message_events":
            out = []
            for ev in events:
                row = {k: v for k, v in ev.items() if k != "at"}
                row["occurred_at"] = ev["at"]
                out.append(row)
            return out
        return None

    # ---- control --------------------------------------------------------------------------------------------
    def configure(self, body):
        with self.lock:
            if body.get("format") is not None:
                if body["format"] not in FORMATS:
                    raise ValueError("format must be one of %s" % ", ".join(FORMATS))
                self.format = body["format"]
            if body.get("names") is not None:
                if body["names"] not in ("mixed", "day", "stamp"):
                    raise ValueError("names must be mixed, day or stamp")
                self.names = body["names"]
            if body.get("times") is not None:
                if body["times"] not in ("epoch", "text"):
                    raise ValueError("times must be epoch or text")
                self.times = body["times"]
            for name in ("polls", "fail_next", "cancel_next", "expire_next", "expired_status", "max_rows"):
                if body.get(name) is not None:
                    setattr(self, name, int(body[name]))
            if body.get("seconds") is not None:
                self.seconds = float(body["seconds"])
            if body.get("external_job") is not None:  # another app's job holds the workspace's one slot
                self.external_until = time.monotonic() + float(body["external_job"])
        if body.get("send"):
            self.send(body["send"])
        if body.get("engage"):
            self.engage(body["engage"], float(body.get("engage_days", 7)))
        if body.get("engage_old"):
            self.engage(body["engage_old"], float(body.get("engage_days", 7)), old=True)
        return self.state()

    def state(self):
        with self.lock:
            return {"format": self.format, "names": self.names, "times": self.times, "polls": self.polls,
                    "seconds": self.seconds, "fail_next": self.fail_next, "cancel_next": self.cancel_next,
                    "expire_next": self.expire_next, "max_rows": self.max_rows, "enqueued": list(self.enqueued),
                    "jobs": {j: {k: v for k, v in job.items()} for j, job in self.jobs.items()},
                    "receipts": len(self.receipts), "events": len(self.events)}

    # ---- endpoints ------------------------------------------------------------------------------------------
    def _settle(self, job):
        if job["status"] in ACTIVE and (job["polls"] >= self.polls or time.monotonic() - job["started"] >= self.seconds):
            job["status"] = job["outcome"]
            job["completed"] = self.ws.now()
        elif job["status"] == "pending" and job["polls"] >= 1:
            job["status"] = "in_progress"

    def _active(self):
        for job in self.jobs.values():
            self._settle(job)
        return time.monotonic() < self.external_until or any(job["status"] in ACTIVE for job in self.jobs.values())

    def create(self, body, error):
        try:
            after, before = int(body["created_at_after"]), int(body["created_at_before"])
        except (KeyError, TypeError, ValueError):
            raise error(400, "parameter_invalid", "created_at_after and created_at_before are required unix timestamps")
        if after > before:
            raise error(400, "parameter_invalid", "created_at_after must be before created_at_before")
        with self.lock:
            if self._active():
                raise error(429, "rate_limit_exceeded", "Exceeded rate limit of 1 pending message data export jobs")
            now = self.ws.now()
            receipts = self.export(after, before, now)[0]
            outcome = "completed" if receipts else "no_data"
            if self.fail_next:
                self.fail_next, outcome = self.fail_next - 1, "failed"
            elif self.cancel_next:
                self.cancel_next, outcome = self.cancel_next - 1, "canceled"  # canceled on Intercom's side
            ident = uuid.uuid4().hex[:16]
            self.jobs[ident] = {"after": after, "before": before, "created": now, "status": "pending", "polls": 0,
                                "outcome": outcome, "started": time.monotonic(), "completed": None}
            self.enqueued.append((after, before))
            return self._view(ident)

    def _view(self, ident):
        job = self.jobs[ident]
        done = job["status"] == "completed"
        return {"job_identifier": ident, "status": job["status"],
                "download_url": "https://api.intercom.io/download/content/data/%s" % ident if done else "",
                "download_expires_at": str(job["completed"] + 2 * DAY) if done else ""}

    def status(self, ident, error):
        with self.lock:
            job = self.jobs.get(ident)
            if job is None:
                raise error(404, "not_found", "Export job not found for identifier: %s" % ident)
            self._settle(job)
            job["polls"] += 1
            return self._view(ident)

    def cancel(self, ident, error):
        with self.lock:
            job = self.jobs.get(ident)
            if job is None:
                raise error(404, "not_found", "Export job not found for identifier: %s" % ident)
            if job["status"] in ACTIVE:
                job["status"] = "canceled"
            return self._view(ident)

    def download(self, ident, accept, error):
        with self.lock:
            job = self.jobs.get(ident)
            if job is None or job["status"] != "completed":
                raise error(404, "not_found", "The requested resource does not exist.")
            if "application/octet-stream" not in (accept or ""):
                raise error(406, "not_acceptable", "Accept: application/octet-stream is required")
            if self.expire_next or self.ws.now() > job["completed"] + 2 * DAY:
                self.expire_next = max(self.expire_next - 1, 0)
                job["completed"] = self.ws.now() - 3 * DAY  # expired for good
                raise error(self.expired_status, "not_found", "Object not found.")
            receipts, events, checkpoints = self.export(job["after"], job["before"], job["created"])
            fmt, names, stamp = self.format, self.names, job["created"]
        return self._archive(self._files(receipts, events, checkpoints, stamp, names), fmt)

    # ---- files ----------------------------------------------------------------------------------------------
    def _time(self, value):
        if value is None or value == "":
            return ""
        if self.times == "text":
            return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return str(value)

    def _files(self, receipts, events, checkpoints, stamp, names):
        """[(file name, CSV bytes)], rows cut at max_rows in all (receipts first), files without rows left out."""
        moment = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)
        budget = [self.max_rows]

        def name_of(stat, index):
            form = names if names != "mixed" else ("day", "stamp")[index % 2]
            if form == "day":
                return "%s_%s.csv" % (stat, moment.strftime("%Y%m%d"))
            return "%s_%s.csv" % (plural(stat), moment.strftime("%Y%m%d-%H%M%S"))

        def table(header, rows):
            rows = rows[:max(budget[0], 0)]
            budget[0] -= len(rows)
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(header)
            writer.writerows(rows)
            return text.getvalue().encode("utf-8"), len(rows)

        files = []
        data, count = table(RECEIPT_HEADER, [[self._time(rc[c]) if c == "received_at" or c.startswith("first_")
                                              else rc[c] for c in RECEIPT_HEADER] for rc in receipts])
        if count:
            files.append((name_of("receipt", 0), data))
        for index, (event, (header, time_column)) in enumerate(EVENTS.items(), start=1):
            rows = [[self._time(ev["at"]) if c == time_column else ev.get(c, "") for c in header]
                    for ev in events if ev["event"] == event]
            data, count = table(header, rows)
            if count:
                files.append((name_of(event, index), data))
        if checkpoints:
            data, count = table(CHECKPOINT_HEADER, [[self._time(cp[c]) if c in CHECKPOINT_TIMES else cp[c]
                                                     for c in CHECKPOINT_HEADER] for cp in checkpoints])
            if count:
                files.append((name_of("checkpoint", 1), data))
        # the per-message overview and the survey answers pivoted by question: no receipt_id (the tap leaves them out)
        overview = {}
        for rc in receipts:
            overview.setdefault((rc["ruleset_id"], rc["content_title"]), []).append(rc)
        rows = [[ruleset, title, len(rcs), sum(1 for rc in rcs if rc["first_open"]),
                 "%.2f" % (sum(1 for rc in rcs if rc["first_open"]) / len(rcs))]
                for (ruleset, title), rcs in sorted(overview.items())]
        files.append((name_of("overview", 0), table(["ruleset_id", "content_title", "receipt_total", "open_unique",
                                                     "open_rate"], rows)[0]))
        answers = [ev for ev in events if ev["event"] == "answer"]
        if answers:
            questions = sorted({ev["question"] for ev in answers})
            by_user = {}
            for ev in answers:
                by_user.setdefault(ev["receipt_id"], {})[ev["question"]] = ev["response"]
            files.append((name_of("answer_combined", 1),
                          table(["user_id"] + questions, [[rid] + [a.get(q, "") for q in questions]
                                                          for rid, a in sorted(by_user.items())])[0]))
        return files

    def _archive(self, files, fmt):
        out = io.BytesIO()
        if fmt == "zip":
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, data in files:
                    archive.writestr(name, data)
        elif fmt in ("tgz", "tar"):
            folder = "message_data_export_%s" % uuid.uuid4().hex[:6]
            with tarfile.open(fileobj=out, mode="w:gz" if fmt == "tgz" else "w") as archive:
                info = tarfile.TarInfo(folder)
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
                for name, data in files:
                    info = tarfile.TarInfo("%s/%s" % (folder, name))
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
        else:  # gz: the receipt file alone, its name in the gzip header
            name, data = next((f for f in files if f[0].startswith("receipt")), ("receipt.csv", b""))
            with gzip.GzipFile(filename=name, mode="wb", fileobj=out) as archive:
                archive.write(data)
        return out.getvalue()


def routes(api):
    """(method, template, scope, handler) of the export's endpoints; the export lives on `api.content_export`."""
    export = api.content_export = ContentExport(api.ws)
    scope = "export_content_data"  # the scope's name is a guess; the emulator's tokens usually hold every scope

    def download(req):
        return 200, export.download(req.params["id"], req.headers.get("Accept"), ApiError)

    return [("POST", "/export/content/data", scope, lambda req: (200, export.create(req.body or {}, ApiError))),
            ("GET", "/export/content/data/{id}", scope, lambda req: (200, export.status(req.params["id"], ApiError))),
            ("POST", "/export/cancel/{id}", scope, lambda req: (200, export.cancel(req.params["id"], ApiError))),
            ("GET", "/download/content/data/{id}", scope, download)]
