"""The Postman collection of the HTTP API, generated from its OpenAPI description: one request per
operation (the analyze upload as form-data with the sample photo), `{{baseUrl}}` for the server.

    .venv/bin/python scripts/postman.py            # writes schemas/moodcast.postman_collection.json
"""

from __future__ import annotations

import json
import sys

from checkout import REPO

SPEC = REPO / "schemas" / "openapi.json"
COLLECTION = REPO / "schemas" / "moodcast.postman_collection.json"
SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def request_for(method: str, path: str, operation: dict) -> dict:
    request: dict = {
        "method": method.upper(),
        "header": [],
        "url": {"raw": "{{baseUrl}}" + path, "host": ["{{baseUrl}}"], "path": path.strip("/").split("/")},
        "description": operation.get("summary", ""),
    }
    content = operation.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        request["body"] = {
            "mode": "formdata",
            "formdata": [{"key": "image", "type": "file", "src": "samples/astronaut.jpg"}],
        }
    expected = sorted(int(code) for code in operation["responses"])
    check = f"pm.test('a documented status', () => pm.expect(pm.response.code).to.be.oneOf({expected}));"
    return {
        "name": operation["operationId"],
        "request": request,
        "event": [
            {
                "listen": "test",
                "script": {
                    "type": "text/javascript",
                    "exec": [check],
                },
            }
        ],
    }


def collection(spec: dict) -> dict:
    items = [
        request_for(method, path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]
    return {
        "info": {"name": spec["info"]["title"], "description": spec["info"]["description"], "schema": SCHEMA},
        "variable": [{"key": "baseUrl", "value": spec["servers"][0]["url"]}],
        "item": items,
    }


def main() -> int:
    COLLECTION.write_text(json.dumps(collection(json.loads(SPEC.read_text())), indent=2) + "\n")
    print(f"wrote {COLLECTION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
