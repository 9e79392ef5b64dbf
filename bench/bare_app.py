"""The app plus a bare route for comparison: it parses a webhook body and returns fixed PerCL."""

from __future__ import annotations

import json
import os

from flask import Response, request

from app import create_app

app = create_app()
_FIXED = json.dumps([{"Say": {"text": "Thank you, goodbye."}}, {"Hangup": {}}])


@app.post("/bench/bare")
def bare() -> Response:
    json.loads(request.get_data())
    return Response(_FIXED, mimetype="application/json")


@app.get("/bench/pid")
def pid() -> Response:
    """Which worker answered: the benchmark waits until every worker has loaded the store."""
    return Response(str(os.getpid()), mimetype="text/plain")
