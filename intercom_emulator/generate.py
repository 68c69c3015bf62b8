"""Deterministic generation of a workspace: admins, teams, tags, segments, data attributes, companies,
contacts (with notes and social profiles) and conversations (with parts).

Record shapes follow the Intercom 2.14 OpenAPI component schemas. Everything is drawn from one
`random.Random(seed)` in a fixed order, so the same seed, sizes and clock give the same workspace.
Values are picked from small pools with `rng.random()` (fast, and stable across Python versions).

Beyond the spec, records carry what live workspaces send (API-NOTES section 10): conversation `teammates` as an
`admins` list, `ai_agent`, `topics`, `ticket`, ids as integers where the spec says strings, contacts' SMS consent,
UTM fields and subscription lists, custom attribute keys with colons. Those values are drawn from a second RNG
(`xr`), so the spec-shaped part of a seed's workspace is what it was before they were added.
"""
import random

DAY = 86400

FIRST = ["Ada", "Liam", "Zoë", "Noah", "Maya", "Łukasz", "Chloé", "Omar", "Aiko", "José", "Priya", "Søren",
         "Fatima", "Ivan", "Grace", "Mateo", "Nia", "Hugo", "Elif", "Kwame", "Sara", "Tomás", "Mei", "Ciaran"]
LAST = ["Lovelace", "Murphy", "Okafor", "García", "Nakamura", "Kowalski", "Dubois", "Haddad", "Schmidt",
        "Rossi", "Patel", "Lindqvist", "O'Brien", "Novak", "Silva", "Kim", "Müller", "Ncube", "Lee", "Byrne"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "acme.test", "globex.test", "initech.test"]
LOCATIONS = [
    ("Ireland", "Dublin", "Dublin", "IRL", "EU"), ("United States", "California", "San Francisco", "USA", "NA"),
    ("United States", "New York", "New York", "USA", "NA"), ("Germany", "Bavaria", "München", "DEU", "EU"),
    ("Brazil", "São Paulo", "São Paulo", "BRA", "SA"), ("Japan", "Tokyo", "東京", "JPN", "AS"),
    ("Poland", "Lesser Poland", "Kraków", "POL", "EU"), ("Switzerland", "Zürich", "Zürich", "CHE", "EU"),
    ("India", "Karnataka", "Bengaluru", "IND", "AS"), ("Nigeria", "Lagos", "Lagos", "NGA", "AF"),
    ("Australia", "New South Wales", "Sydney", "AUS", "OC"), ("Canada", "Québec", "Montréal", "CAN", "NA"),
    (None, None, None, None, None)]
BROWSERS = [("Chrome", "124.0.6367.91"), ("Firefox", "125.0"), ("Safari", "17.4"), ("Edge", "124.0.2478.67")]
OSES = ["Mac OS X", "Windows 10", "Linux", "iOS 17.4", "Android 14"]
LANGS = ["en", "en-US", "fr-FR", "de-DE", "pt-BR", "ja", "pl"]
SOCIAL = [("Twitter", "http://twitter.com/{h}"), ("Facebook", "https://www.facebook.com/{h}"),
          ("LinkedIn", "https://www.linkedin.com/in/{h}"), ("GitHub", "https://github.com/{h}")]
TAG_NAMES = ["VIP", "Beta tester", "Churn risk", "Enterprise", "Newsletter", "Onboarding", "Partner",
             "Trial", "Upsell", "Feedback", "Bug reporter", "Champion", "Do not contact", "Hot lead",
             "Cold lead", "Webinar 2024", "Conference", "Annual plan", "Monthly plan", "API user",
             "Mobile user", "Power user", "Support priority", "Renewal Q1", "Renewal Q2", "Renewal Q3",
             "Renewal Q4", "EMEA", "APAC", "AMER", "Légal", "café ☕", "tag with spaces", "tag.with.dots",
             "tag-with-dashes", "42 answers", "$pecial", "Survey", "Referral", "Event"]
INDUSTRIES = ["Software", "Retail", "Healthcare", "Finance", "Education", "Logistics", "Media", None]
CO_WORDS = ["Blue", "Sun", "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne",
            "Soylent", "Hooli", "Pied", "Piper", "Vandelay", "Nordic", "Atlas", "Zephyr"]
CO_SUFFIX = ["Ltd", "Inc.", "GmbH", "S.A.", "LLC", "Labs", "& Co", "Group"]
PLANS = [None, ("269315", "Free"), ("269316", "Pro"), ("269317", "Enterprise")]
PHRASES = ["I need help with <a href=\"https://example.com/billing\">billing</a>.",
           "How do I export my data?", "The app crashes when I open <b>settings</b>.",
           "Thanks, that fixed it!", "Can I upgrade to the <i>Pro</i> plan?", "Is there an API for this?",
           "Please reset my password.", "Our invoice looks wrong &amp; duplicated.",
           "Great product 🎉", "We would like a demo for our team."]

NOTE_BODIES = ["<p>%s</p>" % p for p in PHRASES]
# The assignment part types live conversations hold (a rule, a teammate's away mode, a reply-and-reopen)
ASSIGNMENT_KINDS = ["assignment", "assignment", "default_assignment", "away_mode_assignment", "assign_and_reopen"]
# The conversation's state after a part of each type; other parts leave it as it was
PART_STATES = {"close": "closed", "snoozed": "snoozed", "open": "open", "timer_unsnooze": "open",
               "assign_and_reopen": "open"}

# Custom attributes with awkward names and every value type; (name, data_type, archived).
CONTACT_CUSTOM = [("paid_subscriber", "boolean", False), ("monthly_spend", "float", False),
                  ("team_mates", "integer", False), ("plan tier", "string", False),
                  ("account.level", "string", False), ("seats-used", "integer", False),
                  ("café_rating", "float", False), ("2fa_enabled", "boolean", False), ("$ltv", "float", False),
                  ("nullable_note", "string", False), ("trial_ends_at", "date", False),
                  ("last_order_at", "date", False), ("legacy_score", "integer", True),
                  ("old plan", "string", True)]
COMPANY_CUSTOM = [("ARR (USD)", "float", False), ("region.code", "string", False),
                  ("is-enterprise", "boolean", False), ("Ünïcode name", "string", False),
                  ("1st_contract_at", "date", False), ("$churn_risk", "float", False),
                  ("nps", "integer", False), ("legacy_tier", "string", True)]
# Conversation custom attributes (values drawn in conversation(); the archived one has none).
CONVERSATION_CUSTOM = [("Issue type", "string", False), ("escalated", "boolean", False),
                       ("old queue", "string", True)]

CONTACT_STANDARD = [
    ("name", "Name", "string"), ("email", "Email", "string"), ("phone", "Phone", "string"),
    ("external_id", "User ID", "string"), ("role", "Role", "string"), ("email_domain", "Email domain", "string"),
    ("created_at", "Created at", "date"), ("signed_up_at", "Signed up", "date"),
    ("updated_at", "Updated at", "date"), ("last_seen_at", "Last seen", "date"),
    ("last_contacted_at", "Last contacted", "date"), ("last_replied_at", "Last heard from", "date"),
    ("last_email_opened_at", "Last opened email", "date"), ("last_email_clicked_at", "Last clicked on link in email", "date"),
    ("owner_id", "Owner", "integer"), ("unsubscribed_from_emails", "Unsubscribed from emails", "boolean"),
    ("marked_email_as_spam", "Marked email as spam", "boolean"), ("has_hard_bounced", "Has hard bounced", "boolean"),
    ("language_override", "Language override", "string"), ("browser", "Browser", "string"),
    ("browser_language", "Browser language", "string"), ("os", "OS", "string"),
    ("location.city", "City", "string"), ("location.region", "Region", "string"),
    ("location.country", "Country", "string")]
COMPANY_STANDARD = [
    ("name", "Company name", "string"), ("company_id", "Company ID", "string"),
    ("last_request_at", "Company last seen", "date"), ("remote_created_at", "Company created at", "date"),
    ("user_count", "People", "integer"), ("session_count", "Company web sessions", "integer"),
    ("plan.name", "Plan", "string"), ("monthly_spend", "Monthly Spend", "float"), ("size", "Company size", "integer"),
    ("industry", "Company industry", "string"), ("website", "Company website", "string"), ("id", "ID", "string"),
    ("created_at", "Created at", "date"), ("updated_at", "Updated at", "date"), ("plan.id", "Plan ID", "string"),
    ("app_id", "App ID", "string")]


# (display, lower-case ascii for emails) pairs, computed once instead of per contact.
FIRST_LOWER = [(f, f.lower().replace("ë", "e").replace("ł", "l").replace("é", "e").replace("ø", "o")) for f in FIRST]
LAST_LOWER = [(s, s.lower().replace("'", "").replace("í", "i").replace("ü", "u")) for s in LAST]
CONTACT_FIELDS = (
    "type id workspace_id external_id role email email_domain phone name owner_id has_hard_bounced "
    "marked_email_as_spam unsubscribed_from_emails created_at updated_at signed_up_at last_seen_at "
    "last_replied_at last_contacted_at last_email_opened_at last_email_clicked_at language_override browser "
    "browser_version browser_language os android_app_name android_app_version android_device "
    "android_os_version android_sdk_version android_last_seen_at ios_app_name ios_app_version ios_device "
    "ios_os_version ios_sdk_version ios_last_seen_at custom_attributes avatar location social_profiles").split()
# Shared by many contacts to save memory; safe because stored records are never changed in place.
# `postal_code_v2` stands for whatever Intercom adds next inside an object: no schema declares it, so the tap's
# keep-every-key path is exercised by every sync of contacts.
LOCATION_OBJECTS = [{"type": "location", "country": a, "region": b, "city": c, "country_code": d,
                     "continent_code": e, "postal_code_v2": None if a is None else "%s-%04d" % (d, 1000 + 37 * i)}
                    for i, (a, b, c, d, e) in enumerate(LOCATIONS)]
NO_PROFILES = {"type": "list", "data": []}
# Sent by live workspaces, not declared by the 2.14 contact (API-NOTES 10); `preferred_channel_v2` stands for
# whatever Intercom adds next at the top level (no schema declares it).
CONTACT_REAL_WORLD = ("sms_consent unsubscribed_from_sms utm_campaign utm_content utm_medium utm_source utm_term "
                      "referrer preferred_channel_v2").split()
CONTACT_TEMPLATE = dict.fromkeys(CONTACT_FIELDS + CONTACT_REAL_WORLD)
CONTACT_TEMPLATE["type"] = "contact"
CONTACT_TEMPLATE["sms_consent"] = CONTACT_TEMPLATE["unsubscribed_from_sms"] = False
UTM = [{"utm_campaign": "spring_launch", "utm_content": "hero_banner", "utm_medium": "cpc", "utm_source": "google",
        "utm_term": "support software", "referrer": "https://www.google.com/"},
       {"utm_campaign": "newsletter-2025-03", "utm_content": None, "utm_medium": "email", "utm_source": "newsletter",
        "utm_term": None, "referrer": "https://mail.example.com/"},
       {"utm_campaign": None, "utm_content": None, "utm_medium": "social", "utm_source": "linkedin",
        "utm_term": None, "referrer": "https://www.linkedin.com/"}]
CHANNELS = ["email", "sms", "chat", None]
TOPICS = ["Billing", "Login issues", "Data export", "Feature request", "Onboarding"]
AI_ANSWERS = ["ai_answer", "custom_answer"]
AI_RESOLUTIONS = ["assumed_resolution", "confirmed_resolution", "routed_to_team", "abandoned"]
DATE_ODDS = (("last_replied_at", 0.4), ("last_contacted_at", 0.5), ("last_email_opened_at", 0.3),
             ("last_email_clicked_at", 0.15))
ANDROID = {"android_app_name": "Example App", "android_app_version": "5.2.1", "android_device": "Pixel 8",
           "android_os_version": "14", "android_sdk_version": "34"}
IOS = {"ios_app_name": "Example App", "ios_app_version": "5.2.0", "ios_device": "iPhone 15",
       "ios_os_version": "17.4.1", "ios_sdk_version": "17.2.0"}


def pick(rng, seq):
    return seq[int(rng.random() * len(seq))]


def pick_x(r, seq):
    """pick() with a bare random() function."""
    return seq[int(r() * len(seq))]


def object_id(ts, salt, counter):
    """Mongo-style id: creation second, a per-kind salt, a counter; so ids sort by creation time."""
    return "%08x%010x%06x" % (ts, salt, counter & 0xFFFFFF)


class Generator:
    """Builds raw records. `lo`/`hi` bound every timestamp: [clock - 365 days, clock - 10 minutes]."""

    def __init__(self, seed, clock):
        self.rng = random.Random(seed)
        self.clock = clock
        self.lo, self.hi = clock - 365 * DAY, clock - 600
        self.xr = random.Random(seed * 104729 + 17).random  # fields beyond the spec (see the module docstring)
        r = random.Random(seed * 7919 + 1)
        self.app_id = "".join(pick(r, "abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
        self.salts = {k: int(r.random() * 2 ** 40) for k in ("contact", "company", "segment")}
        self.counters = {"contact": 0, "company": 0, "segment": 0, "note": 1000, "part": 10000000,
                         "conversation": 200000000, "tag": 7000000}
        self._note_authors = None

    def next_id(self, kind, ts=None):
        self.counters[kind] += 1
        n = self.counters[kind]
        return object_id(ts, self.salts[kind], n) if kind in self.salts else str(n)

    def ts(self, a=None, b=None):
        a = self.lo if a is None else a
        b = self.hi if b is None else b
        return a + int(self.rng.random() * max(0, b - a))

    # ---- small reference data -------------------------------------------------------------------------
    def admins(self, n=8):
        out = []
        for i in range(n):
            first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
            out.append({"type": "admin", "id": str(991267460 + i * 3), "name": "%s %s" % (first, last),
                        "email": "%s.%s@%s" % (first.lower(), i, "support.example.com"),
                        "job_title": pick(self.rng, ["Support Engineer", "Success Manager", "Sales", "Founder"]),
                        "away_mode_enabled": i == 3, "away_mode_reassign": i == 3,
                        "away_status_reason_id": 12345 if i == 3 else None, "has_inbox_seat": i != 5,
                        "team_ids": [], "avatar": None if i % 3 == 0 else "https://static.example.com/avatars/%d.png" % i,
                        "team_priority_level": {"primary_team_ids": None, "secondary_team_ids": None}})
        return out

    def teams(self, admins, n=3):
        names = ["Support", "Sales", "Success ✓", "Billing"]
        out = []
        for i in range(n):
            members = [int(a["id"]) for j, a in enumerate(admins) if j % n == i]
            tid = str(5017691 + i)
            for a in admins:
                if int(a["id"]) in members:
                    a["team_ids"].append(int(tid))
                    a["team_priority_level"]["primary_team_ids"] = [int(tid)]
            out.append({"type": "team", "id": tid, "name": names[i % len(names)], "admin_ids": members,
                        "admin_priority_level": {"primary_admin_ids": members[:1] or None,
                                                 "secondary_admin_ids": members[1:] or None},
                        "assignment_limit": 10 if i == 1 else None,
                        "distribution_method": "load_balanced" if i == 1 else "round_robin"})
        return out

    def tags(self):
        return [{"type": "tag", "id": self.next_id("tag"), "name": name} for name in TAG_NAMES]

    def data_attributes(self, admins):
        out, next_id = [], 12870
        for model, standard, custom in (("contact", CONTACT_STANDARD, CONTACT_CUSTOM),
                                        ("company", COMPANY_STANDARD, COMPANY_CUSTOM)):
            for full, label, dtype in standard:
                out.append({"type": "data_attribute", "name": full.split(".")[-1], "full_name": full,
                            "label": label, "description": "The %s of the %s" % (label.lower(), model),
                            "data_type": dtype, "api_writable": full not in ("id", "created_at", "app_id"),
                            "ui_writable": False, "messenger_writable": True, "custom": False,
                            "archived": False, "model": model})
            for name, dtype, archived in custom:
                next_id += 1
                made = self.ts()
                rec = {"type": "data_attribute", "id": next_id, "model": model, "name": name,
                       "full_name": "custom_attributes." + name, "label": name,
                       "description": "Custom %s attribute %s" % (dtype, name), "data_type": dtype,
                       "api_writable": True, "messenger_writable": False, "ui_writable": True, "custom": True,
                       "archived": archived, "created_at": made, "updated_at": self.ts(made),
                       "admin_id": pick(self.rng, admins)["id"]}
                if name == "plan tier":
                    rec["options"] = ["free", "pro", "enterprise"]
                out.append(rec)
        for name, dtype, archived in CONVERSATION_CUSTOM:  # fixed times: no draw, the rest of the data stays
            next_id += 1
            out.append({"type": "data_attribute", "id": next_id, "model": "conversation", "name": name,
                        "full_name": "custom_attributes." + name, "label": name,
                        "description": "Custom %s attribute %s" % (dtype, name), "data_type": dtype,
                        "api_writable": True, "messenger_writable": False, "ui_writable": True, "custom": True,
                        "archived": archived, "created_at": self.lo, "updated_at": self.lo,
                        "admin_id": admins[0]["id"]})
        return out

    def segment(self, name, person_type):
        made = self.ts()
        rec = {"type": "segment", "id": self.next_id("segment", made), "name": name, "created_at": made,
               "updated_at": self.ts(made)}
        if person_type:
            rec["person_type"] = person_type
        return rec

    # ---- companies ------------------------------------------------------------------------------------
    def company(self, tags, created=None):
        rng = self.rng
        made = created if created is not None else self.ts(self.lo, self.hi - DAY)
        cid = self.next_id("company", made)
        n = self.counters["company"]
        name = "%s %s %s" % (pick(rng, CO_WORDS), pick(rng, CO_WORDS), pick(rng, CO_SUFFIX))
        plan = pick(rng, PLANS)
        ctags = [t for t in tags if rng.random() < 0.06][:4]
        return {
            "type": "company", "id": cid, "name": name, "app_id": self.app_id,
            "plan": {"type": "plan", "id": plan[0], "name": plan[1]} if plan else {},
            "company_id": "cmp-%05d" % n, "remote_created_at": self.ts(self.lo, made), "created_at": made,
            "updated_at": made if created is not None else self.ts(made), "last_request_at": self.ts(made),
            "size": int(rng.random() * 2000), "website": "https://www.%s.example.com" % name.split()[0].lower(),
            "industry": pick(rng, INDUSTRIES), "monthly_spend": int(rng.random() * 5000),
            "session_count": int(rng.random() * 900), "user_count": 0,
            "custom_attributes": self.custom(COMPANY_CUSTOM, made),
            "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": t["id"], "name": t["name"]} for t in ctags]},
            "segments": {"type": "segment.list", "segments": []},
            # whatever Intercom adds next (no schema declares it)
            "health_score_v2": round(self.xr() * 100, 1) if self.xr() < 0.7 else None}

    def custom(self, spec, made):
        """Custom attribute values: one draw per attribute; dates fall between `made` and the upper bound."""
        r, out, span = self.rng.random, {}, self.hi - made
        for name, dtype, archived in spec:
            if archived:
                continue
            x = r()
            if dtype == "float":
                out[name] = round(x * 1000, 2)
            elif dtype == "boolean":
                out[name] = x < 0.4
            elif dtype == "integer":
                out[name] = None if name == "nps" and x < 0.6 else int(x * 50)
            elif dtype == "date":
                out[name] = None if x < 0.2 else made + int(x * span)
            elif name == "plan tier":
                out[name] = ("free", "pro", "enterprise")[int(x * 3)]
            else:
                out[name] = None if name == "nullable_note" and x < 0.6 else "value %d ✓" % int(x * 100)
        return out

    # ---- contacts -------------------------------------------------------------------------------------
    def contact(self, role, admins, created=None):
        """A contact dict without its tags/notes/companies lists (the workspace attaches those).
        Starts from a template of the always-null fields and uses local arithmetic instead of helper
        calls: it runs 100,000 times for a big workspace."""
        r = self.rng.random
        made = created if created is not None else self.lo + int(r() * (self.hi - DAY - self.lo))
        cid = self.next_id("contact", made)
        n = self.counters["contact"]
        updated = made if created is not None else made + int(r() * (self.hi - made))
        span = updated - made
        first, last = FIRST_LOWER[int(r() * len(FIRST))], LAST_LOWER[int(r() * len(LAST))]
        c = CONTACT_TEMPLATE.copy()
        c["id"], c["workspace_id"], c["role"] = cid, self.app_id, role
        c["created_at"], c["updated_at"] = made, updated
        domain = DOMAINS[int(r() * len(DOMAINS))]
        c["email"] = "%s.%s%d@%s" % (first[1], last[1], n, domain)
        c["email_domain"] = domain
        if role == "user":
            c["external_id"] = "u-%06d" % n
            c["signed_up_at"] = self.lo + int(r() * (made - self.lo))
            c["name"] = first[0] + " " + last[0]
        elif r() < 0.7:
            c["name"] = first[0] + " " + last[0]
        if r() < 0.5:
            c["phone"] = "+1555%07d" % n
        if r() < 0.3:
            c["owner_id"] = int(admins[int(r() * len(admins))]["id"])
        c["has_hard_bounced"], c["marked_email_as_spam"], c["unsubscribed_from_emails"] = \
            r() < 0.03, r() < 0.02, r() < 0.1
        seen = made + int(r() * span) if r() < 0.85 else None
        c["last_seen_at"] = seen
        for key, p in DATE_ODDS:
            if r() < p:
                c[key] = made + int(r() * span)
        if r() < 0.1:
            c["language_override"] = LANGS[int(r() * len(LANGS))]
        if r() < 0.8:
            c["browser"], c["browser_version"] = BROWSERS[int(r() * len(BROWSERS))]
            c["browser_language"], c["os"] = LANGS[int(r() * len(LANGS))], OSES[int(r() * len(OSES))]
        mobile = r()
        if mobile < 0.2:
            c.update(ANDROID if mobile < 0.1 else IOS)
            c["android_last_seen_at" if mobile < 0.1 else "ios_last_seen_at"] = seen
        c["custom_attributes"] = self.custom(CONTACT_CUSTOM, made)
        if r() < 0.4:
            c["avatar"] = {"type": "avatar", "image_url": "https://static.example.com/faces/%d.jpg" % n}
        c["location"] = LOCATION_OBJECTS[int(r() * len(LOCATIONS))]
        x = self.xr()
        if x < 0.35:
            c["sms_consent"] = True
        elif x > 0.96:
            c["unsubscribed_from_sms"] = True
        x = self.xr()
        if x < 0.3:
            c.update(UTM[int(x * 10) % 3])
        c["preferred_channel_v2"] = CHANNELS[int(self.xr() * 4)]
        n_profiles = (0, 0, 1, 1, 2, 3)[int(r() * 6)]
        if n_profiles:
            handle = "%s%s%d" % (first[1][:3], last[1][:3], n)
            c["social_profiles"] = {"type": "list", "data": [
                {"type": "social_profile", "name": s[0], "url": s[1].format(h=handle)} for s in SOCIAL[:n_profiles]]}
        else:
            c["social_profiles"] = NO_PROFILES
        return c

    def note(self, contact, admins, at):
        # Note authors are shared per admin (memory); stored records are never changed in place.
        if self._note_authors is None:
            self._note_authors = [{k: a[k] for k in ("type", "id", "name", "email", "away_mode_enabled",
                                                     "away_mode_reassign")} for a in admins]
        r = self.rng.random
        return {"type": "note", "id": self.next_id("note"), "created_at": at,
                "contact": {"type": "contact", "id": contact["id"]},
                "author": self._note_authors[int(r() * len(admins))],
                "body": NOTE_BODIES[int(r() * len(PHRASES))]}

    # ---- conversations --------------------------------------------------------------------------------
    def conversation(self, people, admins, teams, tags, n_parts, created=None):
        """Returns (conversation list item, parts oldest first)."""
        rng = self.rng
        made = created if created is not None else self.ts(self.lo, self.hi - 3600)
        cid = self.next_id("conversation")
        who = [pick(rng, people)]
        if rng.random() < 0.05:  # a group conversation
            other = pick(rng, people)
            who += [other] if other is not who[0] else []
        admin = pick(rng, admins)
        team = pick(rng, teams) if teams else None
        xr = self.xr
        inbound = rng.random() < 0.75
        author = self.person_author(who[0]) if inbound else self.admin_author(admin)
        parts, at = [], made
        end = self.hi if created is None else made
        step = max(1, (end - made) // (n_parts + 1))
        for i in range(n_parts):
            at = min(end, at + 1 + int(rng.random() * step))
            parts.append(self.part(who[0], admin, i, at, team))
        self.unsnoozes(parts)
        state = "open" if created is not None else pick(rng, ["open", "closed", "closed", "snoozed"])
        updated = parts[-1]["created_at"] if parts else made
        last_user = next((p["created_at"] for p in reversed(parts) if p["author"]["type"] != "admin"), None)
        ctags = [t for t in tags if rng.random() < 0.04][:3]
        rated = state == "closed" and rng.random() < 0.3
        conv = {
            "type": "conversation", "id": cid,
            "title": None if rng.random() < 0.6 else pick(rng, ["Billing question", "Bug report", "Demo request"]),
            "created_at": made, "updated_at": updated,
            "waiting_since": last_user if state == "open" else None,
            "snoozed_until": min(self.hi, updated + DAY) if state == "snoozed" else None,
            "open": state != "closed", "state": state, "read": rng.random() < 0.7,
            "priority": "priority" if rng.random() < 0.1 else "not_priority",
            "admin_assignee_id": int(admin["id"]) if rng.random() < 0.8 else None,
            "team_assignee_id": int(team["id"]) if team and rng.random() < 0.6 else None,
            "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": t["id"], "name": t["name"],
                                                   "applied_at": updated, "applied_by": {"type": "admin", "id": admin["id"]}}
                                                  for t in ctags]},
            "conversation_rating": {"rating": 1 + int(rng.random() * 5), "remark": "", "created_at": updated,
                                    "updated_at": updated, "contact": self.contact_ref(who[0]),
                                    "teammate": {"type": "admin", "id": admin["id"]}} if rated else None,
            "source": {"type": "conversation" if inbound else "email", "id": str(403918000 + int(cid) % 100000),
                       "delivered_as": "customer_initiated" if inbound else "admin_initiated",
                       "subject": "" if inbound else "Checking in", "body": "<p>%s</p>" % pick(rng, PHRASES),
                       "author": author, "attachments": [], "url": None, "redacted": False},
            # participant_role_v2 (inside an array of objects) stands for whatever Intercom adds next
            "contacts": {"type": "contact.list", "contacts": [
                dict(self.contact_ref(c), participant_role_v2="initiator" if j == 0 else "participant")
                for j, c in enumerate(who)]},
            # Live workspaces send the admins who took part as `admins`, never the spec's `teammates` list.
            "teammates": {"type": "admin.list", "admins": [{"type": "admin", "id": admin["id"]}]},
            "custom_attributes": {"Issue type": pick(rng, ["bug", "question", "billing"]),
                                  "escalated": rng.random() < 0.1},
            "first_contact_reply": {"created_at": made, "type": "conversation", "url": None} if inbound else None,
            "sla_applied": {"type": "conversation_sla_summary", "sla_name": "Standard",
                            "sla_status": pick(rng, ["hit", "missed"])} if rng.random() < 0.2 else None,
            "statistics": self.statistics(made, parts, state),
            "linked_objects": {"type": "list", "total_count": 0, "has_more": False, "data": []},
            "ai_agent_participated": False, "ai_agent": None}
        # Keys with spaces and colons, values of mixed types (`Created by` is an admin id as an integer).
        if xr() < 0.3:
            conv["custom_attributes"]["Fin AI Agent: Preview"] = xr() < 0.5
            conv["custom_attributes"]["Created by"] = int(admin["id"])
        if xr() < 0.2:
            conv["ai_agent_participated"] = True
            conv["ai_agent"] = {
                "source_type": "essentials_plan_setup", "source_title": None, "last_answer_type": pick_x(xr, AI_ANSWERS),
                "resolution_state": pick_x(xr, AI_RESOLUTIONS), "rating": 1 + int(xr() * 5) if xr() < 0.5 else None,
                "rating_remark": None, "created_at": made, "updated_at": updated,
                "content_sources": {"type": "content_source.list", "total_count": 1, "content_sources": [
                    {"content_type": "article", "url": "/help/en/articles/%d" % (30 + int(xr() * 60)),
                     "title": "How to export your data", "locale": "en"}]}}
        k = int(xr() * 3)
        conv["topics"] = {"type": "topic.list", "total_count": k, "topics": [
            {"type": "topic", "id": 7000 + j, "name": t} for j, t in enumerate(TOPICS[:k])]}
        conv["ticket"] = None  # set for conversations linked to a ticket (workspace.py, once tickets exist)
        # whatever Intercom adds next: a new top-level field, and a new key inside a declared object
        conv["custom_channel"] = {"type": "custom_channel", "name": "WhatsApp", "external_id": "wa-%d" % int(cid)} \
            if xr() < 0.25 else None
        conv["statistics"]["count_ai_replies_v2"] = int(xr() * 4)
        return conv, parts

    def statistics(self, made, parts, state):
        admin_parts = [p["created_at"] for p in parts if p["author"]["type"] == "admin"]
        user_parts = [p["created_at"] for p in parts if p["author"]["type"] != "admin"]
        closes = [p["created_at"] for p in parts if p["part_type"] == "close"]
        return {"type": "conversation_statistics",
                "time_to_assignment": 0, "time_to_admin_reply": admin_parts[0] - made if admin_parts else None,
                "time_to_first_close": closes[0] - made if closes else None,
                "time_to_last_close": closes[-1] - made if closes else None,
                "median_time_to_reply": admin_parts[0] - made if admin_parts else None,
                "first_contact_reply_at": user_parts[0] if user_parts else None,
                "first_assignment_at": made, "first_admin_reply_at": admin_parts[0] if admin_parts else None,
                "first_close_at": closes[0] if closes else None, "last_assignment_at": made,
                "last_assignment_admin_reply_at": admin_parts[-1] if admin_parts else None,
                "last_contact_reply_at": user_parts[-1] if user_parts else None,
                "last_admin_reply_at": admin_parts[-1] if admin_parts else None,
                "last_close_at": closes[-1] if closes else None, "last_closed_by_id": None,
                "count_reopens": 0, "count_assignments": 1, "count_conversation_parts": len(parts),
                "assigned_team_first_response_time": [], "assigned_team_first_response_time_in_office_hours": [],
                "handling_time": None, "adjusted_handling_time": None}

    def part(self, person, admin, i, at, team=None):
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            kind, author = "comment", self.person_author(person)
        elif r < 0.75:
            kind, author = "comment", self.admin_author(admin)
        elif r < 0.85:
            kind, author = "note", self.admin_author(admin)
        else:
            kind, author = pick(rng, ["assignment", "open", "close", "snoozed"]), self.admin_author(admin)
        has_body = kind in ("comment", "note")
        body = "<p>%s</p>" % pick(rng, PHRASES) if has_body else None
        # What live conversations also hold (drawn from xr, so the rest of a seed's workspace stays as it was):
        # replies by Operator/Fin (author type bot), a teammate's reply-and-assign (an assignment part with a
        # body), assignment kinds beside `assignment` and assignments to a team.
        xr, assigned_to = self.xr, None
        if kind == "comment" and author["type"] == "admin":
            x = xr()
            if x < 0.1:
                author = self.bot_author()
            elif x < 0.25:
                kind = "assignment"
        if kind == "assignment":
            kind = ASSIGNMENT_KINDS[int(xr() * len(ASSIGNMENT_KINDS))]
            to_team = team is not None and (kind == "default_assignment" or xr() < 0.25)
            assigned_to = {"type": "team", "id": team["id"]} if to_team else {"type": "admin", "id": admin["id"]}
        return {"type": "conversation_part", "id": self.next_id("part"), "part_type": kind,
                "body": body,
                "created_at": at, "updated_at": at, "notified_at": at,
                "assigned_to": assigned_to,
                "author": author,
                "attachments": [{"type": "upload", "name": "screenshot.png",
                                 "url": "https://files.example.com/%d.png" % i, "content_type": "image/png",
                                 "filesize": 20480, "width": 640, "height": 480}] if has_body and r < 0.03 else [],
                "external_id": None, "redacted": False, "email_message_metadata": None, "metadata": None,
                "state": PART_STATES.get(kind, "open"),
                "tags": [], "event_details": None, "app_package_code": None}

    def unsnoozes(self, parts):
        """A snooze ends when its time comes (a `timer_unsnooze` part, authored by the bot) or by hand (`open`):
        half of the reopenings that follow a snooze are the timer's."""
        state = "open"
        for k, p in enumerate(parts):
            if p["part_type"] == "open" and state == "snoozed" and self.xr() < 0.5:
                parts[k] = dict(p, part_type="timer_unsnooze", author=self.bot_author())
            state = PART_STATES.get(parts[k]["part_type"], state)

    def bot_author(self):
        # Operator and Fin write as type bot (API-NOTES 10), with the workspace's operator address
        return {"type": "bot", "id": "991267400", "name": "Operator",
                "email": "operator+%s@intercom.io" % self.app_id, "from_ai_agent": False, "is_ai_answer": False}

    @staticmethod
    def person_author(c):
        return {"type": "user" if c["role"] == "user" else "lead", "id": c["id"], "name": c["name"],
                "email": c["email"], "from_ai_agent": False, "is_ai_answer": False}

    @staticmethod
    def admin_author(a):
        return {"type": "admin", "id": a["id"], "name": a["name"], "email": a["email"],
                "from_ai_agent": False, "is_ai_answer": False}

    @staticmethod
    def contact_ref(c):
        return {"type": "contact", "id": c["id"], "external_id": c["external_id"]}
