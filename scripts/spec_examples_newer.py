#!/usr/bin/env python3
"""Extract the 2.16 spec's 200-response examples of the operations the 2.14-2.16 streams call into
tests/fixtures/openapi-2.16-newer-examples.json, so tests/test_spec_examples_newer.py can serve them to the tap
without the spec or PyYAML at test time.

Where the spec gives no example body (GET /away_status_reasons), or none with data (POST /contacts/search, GET
/calls), the body is assembled from the spec's own example values and marked "assembled": an away status reason
from its component's property examples, a user carrying GET /contacts/{id}/merge_history's example items as
`merge_history`, a call from the call component's property examples.

Usage: scripts/spec_examples_newer.py ../shared/intercom-api/openapi-2.16.yaml   (needs PyYAML)
"""
import json
import sys
from pathlib import Path

import yaml

OPERATIONS = [("get", "/calls"), ("post", "/calls/search"), ("get", "/macros"), ("get", "/internal_articles"),
              ("get", "/away_status_reasons"), ("get", "/office_hours_schedules"),
              ("get", "/conversations/attributes"),
              ("get", "/custom_object_instances/{custom_object_type_identifier}"),
              ("get", "/conversations/{id}/handling_events"), ("post", "/conversations/search"),
              ("post", "/contacts/search")]


def examples(spec, method, path):
    content = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return [example["value"] for _, example in sorted((content.get("examples") or {}).items())]


def property_examples(spec, component):
    return {name: node["example"] for name, node in spec["components"]["schemas"][component]["properties"].items()
            if "example" in node}


def main(spec_path):
    spec = yaml.safe_load(open(spec_path, encoding="utf-8"))
    served, assembled = {}, []
    for method, path in OPERATIONS:
        served[f"{method.upper()} {path}"] = examples(spec, method, path)
    # No example body: one reason from the component's property examples (it gives no id: "1").
    if not served["GET /away_status_reasons"]:
        reason = {"id": "1", **property_examples(spec, "away_status_reason")}
        served["GET /away_status_reasons"] = [{"type": "list", "data": [reason]}]
        assembled.append("GET /away_status_reasons")
    # The list example is empty: a call from the call component's property examples, so transcripts are asked.
    if not any(body.get("data") for body in served["GET /calls"]):
        call = property_examples(spec, "call")
        served["GET /calls"].append({"type": "list", "data": [call], "total_count": 1,
                                     "pages": {"type": "pages", "page": 1, "per_page": 25, "total_pages": 1}})
        assembled.append("GET /calls")
    # The contact search examples are empty: a user with the merge history example's items.
    history = examples(spec, "get", "/contacts/{id}/merge_history")[0]["data"]
    served["POST /contacts/search"].append({
        "type": "list", "total_count": 1, "pages": {"type": "pages", "page": 1, "per_page": 50, "total_pages": 1},
        "data": [{"type": "contact", "id": "6762f0dd1bb69f9f2193bb83", "role": "user", "created_at": 1571672154,
                  "updated_at": 1734537243, "merge_history": history}]})
    assembled.append("POST /contacts/search")
    out = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "openapi-2.16-newer-examples.json"
    license_text = (Path(spec_path).parent / "LICENSE-intercom-openapi").read_text(encoding="utf-8")
    out.write_text(json.dumps({"source": "examples from Intercom's OpenAPI description 2.16", "license": license_text,
                               "assembled": assembled, "examples": served}, indent=1, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main(sys.argv[1])
