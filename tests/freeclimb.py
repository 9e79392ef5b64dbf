"""Webhooks as FreeClimb sends them, signed, for tests that play FreeClimb's side."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from handlers.signatures import sign

SECRET = "whsec-test-0123456789"
ACCOUNT_ID = "AC" + "1" * 40
_ids = itertools.count(1)


def freeclimb_id(prefix: str) -> str:
    """A FreeClimb-shaped id: two letters and 40 hex digits, unique within the test run."""
    return f"{prefix}{next(_ids):040x}"


def call_fields(call_id: str, **overrides: Any) -> dict[str, Any]:
    fields = {
        "callId": call_id,
        "accountId": ACCOUNT_ID,
        "from": "+13125550100",
        "to": "+13125550199",
        "callStatus": "inProgress",
        "direction": "inbound",
        "conferenceId": None,
        "queueId": None,
        "parentCallId": None,
    }
    fields.update(overrides)
    return fields


def inbound_call(call_id: str, **overrides: Any) -> dict[str, Any]:
    return {"requestType": "inboundCall", **call_fields(call_id, **overrides)}


def record(call_id: str, recording_id: str, **overrides: Any) -> dict[str, Any]:
    """A ``record`` webhook as documented: recordingSize is a string, duration an int."""
    body = {
        "requestType": "record",
        **call_fields(call_id),
        "recordingId": recording_id,
        "recordingUrl": f"https://www.freeclimb.com/apiserver/Accounts/{ACCOUNT_ID}/Recordings/{recording_id}/Download",
        "recordingSize": "96044",
        "recordingFormat": "audio/wav",
        "recordingDurationSec": 6,
        "termReason": "finishKey",
        "privacyMode": False,
    }
    body.update(overrides)
    return body


def call_status(call_id: str, status: str = "completed", **overrides: Any) -> dict[str, Any]:
    return {"requestType": "callStatus", **call_fields(call_id, callStatus=status),
            "callEndedReason": "hangup", **overrides}


def encode(body: dict[str, Any], form: bool = False) -> tuple[bytes, str]:
    """The raw bytes and Content-Type: JSON, or a form (where null is sent as an empty value)."""
    if form:
        pairs = {k: ("" if v is None else str(v).lower() if isinstance(v, bool) else str(v))
                 for k, v in body.items()}
        return urlencode(pairs).encode(), "application/x-www-form-urlencoded"
    return json.dumps(body).encode(), "application/json"


def signed_headers(raw: bytes, content_type: str, secret: str = SECRET,
                   at: int | None = None) -> dict[str, str]:
    return {"Content-Type": content_type,
            "FreeClimb-Signature": sign(raw, secret, int(time.time()) if at is None else at)}


def post(client: Any, path: str, body: dict[str, Any], *, form: bool = False,
         secret: str = SECRET) -> Any:
    """POST a signed webhook through a Flask test client."""
    raw, content_type = encode(body, form)
    return client.post(path, data=raw, headers=signed_headers(raw, content_type, secret))


def path_of(url: str) -> str:
    """The path of an absolute URL the app put in its PerCL."""
    from urllib.parse import urlsplit

    return urlsplit(url).path
