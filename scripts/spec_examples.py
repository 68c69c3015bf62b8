#!/usr/bin/env python3
"""Extract a spec's 200-response examples of every operation the tap calls, with every stream selected, into
tests/fixtures/openapi-<version>-examples.json, so tests/test_child_refusal.py can serve them to the tap without
the spec or PyYAML at test time. An operation the spec lacks (2.14 has no handling events, macros, office hours,
conversation attributes or deleted conversations) is left out: the test's server answers 404 there, as an
Intercom without it would.

Usage: scripts/spec_examples.py ../shared/intercom-api/openapi-2.14.yaml   (needs PyYAML)
"""
import json
import re
import sys
from pathlib import Path

import yaml

OPERATIONS = [("get", "/admins"), ("get", "/teams"), ("get", "/tags"), ("get", "/segments"),
              ("get", "/data_attributes"), ("get", "/companies/scroll"), ("post", "/contacts/search"),
              ("get", "/contacts/{id}"), ("get", "/contacts/{id}/tags"), ("get", "/contacts/{id}/companies"),
              ("get", "/contacts/{id}/notes"), ("post", "/conversations/search"), ("get", "/conversations/{id}"),
              ("get", "/conversations/deleted"), ("post", "/tickets/search"), ("get", "/tickets/{id}"),
              ("get", "/ticket_types"), ("get", "/ticket_states"), ("get", "/admins/activity_logs"),
              ("get", "/articles"), ("get", "/help_center/collections"), ("get", "/help_center/help_centers"),
              ("get", "/news/news_items"), ("get", "/news/newsfeeds"), ("get", "/subscription_types"),
              ("get", "/calls"), ("post", "/calls/search"), ("get", "/internal_articles"),
              ("get", "/away_status_reasons"), ("get", "/office_hours_schedules"), ("get", "/conversations/attributes"),
              ("get", "/macros"), ("get", "/custom_object_instances/{id}"),
              ("get", "/conversations/{id}/handling_events")]


def main(spec_path):
    spec = yaml.safe_load(open(spec_path, encoding="utf-8"))
    version = re.search(r"openapi-([\d.]+)\.yaml$", spec_path).group(1)
    by_shape = {re.sub(r"\{[a-z_]+\}", "{id}", path): path for path in spec["paths"]}
    served = {}
    for method, shape in OPERATIONS:
        path = by_shape.get(shape)
        if path is None or method not in spec["paths"][path]:
            continue
        content = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        bodies = [example["value"] for _, example in sorted((content.get("examples") or {}).items())]
        served[f"{method.upper()} {shape}"] = bodies or [{"type": "list", "data": []}]  # no example: an empty list
    out = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / f"openapi-{version}-examples.json"
    license_text = (Path(spec_path).parent / "LICENSE-intercom-openapi").read_text(encoding="utf-8")
    out.write_text(json.dumps({"source": f"examples from Intercom's OpenAPI description {version}",
                               "license": license_text, "examples": served}, indent=1, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main(sys.argv[1])
