"""Webhook bodies the app cannot act on, correctly signed: 4xx naming the problem, nothing stored.

And the loosely typed values FreeClimb really sends, coerced where unambiguous.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from handlers.webhooks import MAX_BODY_BYTES
from tests.freeclimb import (
    call_status,
    encode,
    freeclimb_id,
    inbound_call,
    path_of,
    post,
    record,
    signed_headers,
)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def send(client: Any, path: str, raw: bytes, content_type: str) -> Any:
    """POST exactly ``raw``, signed over exactly those bytes."""
    return client.post(path, data=raw, headers=signed_headers(raw, content_type))


def record_path(response: Any) -> str:
    return path_of(response.get_json()[1]["RecordUtterance"]["actionUrl"])


@pytest.fixture
def calls(client, recordings):
    """Stored data to protect: one finished voicemail and one call still recording.

    Returns (call id, record path) of the call still recording.
    """
    done = freeclimb_id("CA")
    response = post(client, "/freeclimb/voice", inbound_call(done))
    assert post(client, record_path(response), record(done, freeclimb_id("RE"))).status_code == 200
    call_id = freeclimb_id("CA")
    response = post(client, "/freeclimb/voice", inbound_call(call_id))
    assert response.status_code == 200
    assert recordings.count() == 2
    return call_id, record_path(response)


def without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in keys}


def as_json(body: dict[str, Any]) -> tuple[bytes, str]:
    return json.dumps(body).encode(), JSON


def as_form(body: dict[str, Any]) -> tuple[bytes, str]:
    return encode(body, form=True)


def raw_form(text: bytes) -> Callable[[str], tuple[bytes, str]]:
    return lambda call_id: (b"requestType=inboundCall&callId=" + call_id.encode() + text, FORM)


def rec(**overrides: Any) -> Callable[[str], dict[str, Any]]:
    """A record webhook for the open call with some fields replaced."""
    return lambda call_id: record(call_id, freeclimb_id("RE"), **overrides)


Make = Callable[[str], tuple[bytes, str]]


def js(build: Callable[[str], dict[str, Any]]) -> Make:
    return lambda call_id: as_json(build(call_id))


def fm(build: Callable[[str], dict[str, Any]]) -> Make:
    return lambda call_id: as_form(build(call_id))


INBOUND = inbound_call
STATUS = call_status
RECORD = rec()

# (route, make(call_id) -> (raw, content type), status, text the message must contain)
BAD_INPUT = {
    # unreadable bodies
    "json-malformed": ("voice", lambda c: (b'{"requestType": "inboundCall", "callId": ', JSON),
                       400, "JSON"),
    "json-malformed-record": ("record", lambda c: (b'{"requestType": "record",', JSON), 400, "JSON"),
    "json-malformed-status": ("status", lambda c: (b"{'requestType': 'callStatus'}", JSON),
                              400, "JSON"),
    "json-empty": ("voice", lambda c: (b"", JSON), 400, "JSON"),
    "json-not-utf8": ("voice", lambda c: (b'{"requestType": "inboundCall", "callId": "\xff"}', JSON),
                      400, "JSON"),
    "json-array": ("voice", lambda c: (json.dumps([inbound_call(c)]).encode(), JSON), 400, "object"),
    "json-array-record": ("record", lambda c: (json.dumps([record(c, "RE1")]).encode(), JSON),
                          400, "object"),
    "json-string": ("status", lambda c: (b'"callStatus"', JSON), 400, "object"),
    "json-null": ("voice", lambda c: (b"null", JSON), 400, "object"),
    "form-not-utf8": ("voice", raw_form(b"&from=%2B1312\xff"), 400, "UTF-8"),
    "form-not-utf8-record": ("record", lambda c: (as_form(record(c, "RE1"))[0] + b"&x=\xe9", FORM),
                             400, "UTF-8"),
    "form-part-without-equals": ("voice", raw_form(b"&garbage"), 400, "form"),
    "form-duplicate-field": ("voice", raw_form(b"&callId=CA2"), 400, "callId"),
    "form-duplicate-request-type": ("status", lambda c: (
        as_form(call_status(c))[0] + b"&requestType=callStatus", FORM), 400, "requestType"),
    "form-duplicate-recording-id": ("record", lambda c: (
        as_form(record(c, "RE1"))[0] + b"&recordingId=RE2", FORM), 400, "recordingId"),
    # required fields
    "voice-missing-request-type": ("voice", js(lambda c: without(INBOUND(c), "requestType")),
                                   400, "requestType"),
    "status-missing-request-type": ("status", js(lambda c: without(STATUS(c), "requestType")),
                                    400, "requestType"),
    "record-missing-request-type": ("record", js(lambda c: without(RECORD(c), "requestType")),
                                    400, "requestType"),
    "voice-missing-call-id": ("voice", js(lambda c: without(INBOUND(c), "callId")), 400, "callId"),
    "status-missing-call-id": ("status", js(lambda c: without(STATUS(c), "callId")), 400, "callId"),
    "record-missing-call-id": ("record", js(lambda c: without(RECORD(c), "callId")), 400, "callId"),
    "record-missing-recording-id": ("record", js(lambda c: without(RECORD(c), "recordingId")),
                                    400, "recordingId"),
    "form-missing-call-id": ("voice", fm(lambda c: without(INBOUND(c), "callId")), 400, "callId"),
    "form-missing-recording-id": ("record", fm(lambda c: without(RECORD(c), "recordingId")),
                                  400, "recordingId"),
    "form-empty": ("voice", lambda c: (b"", FORM), 400, "requestType"),
    "json-empty-object": ("record", lambda c: (b"{}", JSON), 400, "requestType"),
    "call-id-empty": ("voice", js(lambda c: INBOUND(c, callId="")), 400, "callId"),
    "call-id-null": ("status", js(lambda c: STATUS(c, callId=None)), 400, "callId"),
    "request-type-null": ("voice", js(lambda c: {**INBOUND(c), "requestType": None}),
                          400, "requestType"),
    "recording-id-empty-form": ("record", fm(rec(recordingId="")), 400, "recordingId"),
    # a requestType that does not belong to the route
    "record-to-voice": ("voice", js(RECORD), 400, "requestType"),
    "status-to-voice": ("voice", js(STATUS), 400, "requestType"),
    "inbound-to-record": ("record", js(lambda c: INBOUND(c, recordingId="RE1")), 400, "requestType"),
    "status-to-record": ("record", js(lambda c: STATUS(c, recordingId="RE1")), 400, "requestType"),
    "inbound-to-status": ("status", js(INBOUND), 400, "requestType"),
    "record-to-status": ("status", js(RECORD), 400, "requestType"),
    "unknown-request-type": ("voice", js(lambda c: {**INBOUND(c), "requestType": "getDigits"}),
                             400, "requestType"),
    "request-type-wrong-case": ("voice", js(lambda c: {**INBOUND(c), "requestType": "InboundCall"}),
                                400, "requestType"),
    "inbound-form-to-record": ("record", fm(lambda c: INBOUND(c, recordingId="RE1")),
                               400, "requestType"),
    # values of the wrong type
    "recording-size-word": ("record", js(rec(recordingSize="ten")), 400, "recordingSize"),
    "recording-size-negative": ("record", js(rec(recordingSize=-5)), 400, "recordingSize"),
    "recording-size-negative-string": ("record", js(rec(recordingSize="-5")), 400, "recordingSize"),
    "recording-size-bool": ("record", js(rec(recordingSize=True)), 400, "recordingSize"),
    "recording-size-fraction": ("record", js(rec(recordingSize=1.5)), 400, "recordingSize"),
    "recording-size-fraction-string": ("record", js(rec(recordingSize="1.5")), 400, "recordingSize"),
    "recording-size-list": ("record", js(rec(recordingSize=[96044])), 400, "recordingSize"),
    "recording-size-form-word": ("record", fm(rec(recordingSize="ten")), 400, "recordingSize"),
    "duration-fraction": ("record", js(rec(recordingDurationSec=1.5)), 400, "recordingDurationSec"),
    "duration-bool": ("record", js(rec(recordingDurationSec=False)), 400, "recordingDurationSec"),
    "duration-form-fraction": ("record", fm(rec(recordingDurationSec="1.5")),
                               400, "recordingDurationSec"),
    "privacy-mode-maybe": ("record", js(rec(privacyMode="maybe")), 400, "privacyMode"),
    "privacy-mode-one": ("record", js(rec(privacyMode=1)), 400, "privacyMode"),
    "privacy-mode-zero-string": ("record", js(rec(privacyMode="0")), 400, "privacyMode"),
    "privacy-mode-null": ("record", js(rec(privacyMode=None)), 400, "privacyMode"),
    "privacy-mode-form-maybe": ("record", fm(rec(privacyMode="maybe")), 400, "privacyMode"),
    "privacy-mode-form-yes": ("record", fm(rec(privacyMode="yes")), 400, "privacyMode"),
    "call-id-number-voice": ("voice", js(lambda c: INBOUND(c, callId=123)), 400, "callId"),
    "call-id-number-status": ("status", js(lambda c: STATUS(c, callId=123)), 400, "callId"),
    "call-id-number-record": ("record", js(rec(callId=123)), 400, "callId"),
    "call-id-too-long": ("voice", js(lambda c: INBOUND(c, callId="C" * 129)), 400, "callId"),
    "recording-id-number": ("record", js(rec(recordingId=42)), 400, "recordingId"),
    "request-type-number": ("voice", js(lambda c: {**INBOUND(c), "requestType": 1}),
                            400, "requestType"),
    "from-number": ("voice", js(lambda c: INBOUND(c, **{"from": 13125550100})), 400, "from"),
    "conference-id-number": ("voice", js(lambda c: INBOUND(c, conferenceId=7)), 400, "conferenceId"),
    "recording-url-not-url": ("record", js(rec(recordingUrl="not a url")), 400, "recordingUrl"),
    "recording-url-ftp": ("record", js(rec(recordingUrl="ftp://example.com/a.wav")),
                          400, "recordingUrl"),
    "recording-format-mp3": ("record", js(rec(recordingFormat="audio/mpeg")),
                             400, "recordingFormat"),
    # content type and size
    "text-plain": ("voice", lambda c: (as_json(INBOUND(c))[0], "text/plain"), 415, "text/plain"),
    "text-plain-record": ("record", lambda c: (as_json(RECORD(c))[0], "text/plain"),
                          415, "text/plain"),
    "xml": ("status", lambda c: (b"<callStatus/>", "application/xml"), 415, "application/xml"),
    "multipart": ("voice", lambda c: (b"--x\r\n\r\n--x--\r\n", "multipart/form-data; boundary=x"),
                  415, "multipart/form-data"),
    "over-64-kb-json": ("voice", lambda c: as_json(INBOUND(c, padding="x" * MAX_BODY_BYTES)),
                        413, "64 KB"),
    "over-64-kb-form": ("record", lambda c: as_form(record(c, "RE1", padding="x" * MAX_BODY_BYTES)),
                        413, "64 KB"),
    "over-64-kb-by-one": ("status", lambda c: (
        as_json({**STATUS(c), "padding": ""})[0][:-2]
        + b"x" * (MAX_BODY_BYTES + 1 - len(as_json({**STATUS(c), "padding": ""})[0])) + b'"}',
        JSON), 413, "64 KB"),
}


def path_for(route: str, calls: tuple[str, str]) -> str:
    return {"voice": "/freeclimb/voice", "status": "/freeclimb/status", "record": calls[1]}[route]


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_refused_naming_the_problem(client, recordings, calls, case):
    """A signed but unusable webhook gets the 4xx, a JSON message naming the field, no change."""
    route, make, status, named = BAD_INPUT[case]
    raw, content_type = make(calls[0])
    before = recordings.all()

    response = send(client, path_for(route, calls), raw, content_type)

    assert response.status_code == status
    assert response.mimetype == "application/json"
    answer = response.get_json()
    assert named in answer["message"]
    assert answer["error"]
    assert recordings.all() == before


def test_the_over_64_kb_by_one_case_is_one_byte_over():
    """The boundary case is exactly one byte over the limit."""
    raw, _ = BAD_INPUT["over-64-kb-by-one"][1]("CA" + "0" * 40)
    assert len(raw) == MAX_BODY_BYTES + 1
    json.loads(raw)


def test_a_body_of_exactly_64_kb_is_accepted(client, recordings, calls):
    """A body of exactly the limit is read and handled."""
    body = call_status(calls[0], padding="")
    filler = MAX_BODY_BYTES - len(as_json(body)[0])
    raw, content_type = as_json({**body, "padding": "x" * filler})
    assert len(raw) == MAX_BODY_BYTES
    assert send(client, "/freeclimb/status", raw, content_type).status_code == 204


@pytest.mark.parametrize("entry_id", [
    "not-a-uuid",
    "1234",
    "0B0096E8-449B-5F9F-BB52-4F4B04340C13",
    "0b0096e8449b5f9fbb524f4b04340c13",
    "{0b0096e8-449b-5f9f-bb52-4f4b04340c13}",
    "0b0096e8-449b-5f9f-bb52-4f4b04340c1",
])
def test_a_record_url_whose_id_is_not_a_uuid_is_404(client, recordings, calls, entry_id):
    """A record callback to an id the app never hands out (not a canonical UUID) is 404 JSON."""
    raw, content_type = as_json(record(calls[0], freeclimb_id("RE")))
    before = recordings.all()

    response = send(client, f"/freeclimb/record/{entry_id}", raw, content_type)

    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert entry_id in response.get_json()["message"]
    assert recordings.all() == before


# --- what is coerced ------------------------------------------------------------------------


def complete(client, recordings, calls, raw_and_type: tuple[bytes, str], recording_id: str):
    """Send a record callback for the open call and return its stored entry."""
    response = send(client, calls[1], *raw_and_type)
    assert response.status_code == 200
    entry = recordings.by_recording_id(recording_id)
    assert entry is not None
    return entry


@pytest.mark.parametrize("size, form", [
    ("96044", False), (96044, False), (" 96044 ", False), (96044.0, False),
    ("96044", True), (96044, True),
], ids=["json-string", "json-int", "json-padded-string", "json-whole-float", "form-string",
        "form-int"])
def test_recording_size_is_stored_as_an_int(client, recordings, calls, size, form):
    """recordingSize as a string of digits or a number is stored as the int 96044."""
    recording_id = freeclimb_id("RE")
    body = record(calls[0], recording_id, recordingSize=size)
    entry = complete(client, recordings, calls, encode(body, form), recording_id)
    assert entry["recording_size"] == 96044
    assert type(entry["recording_size"]) is int


@pytest.mark.parametrize("duration", [6, "6", 6.0], ids=repr)
def test_recording_duration_is_stored_as_an_int(client, recordings, calls, duration):
    """recordingDurationSec as a number or a string of digits is stored as an int."""
    recording_id = freeclimb_id("RE")
    body = record(calls[0], recording_id, recordingDurationSec=duration)
    entry = complete(client, recordings, calls, as_json(body), recording_id)
    assert entry["duration_sec"] == 6
    assert type(entry["duration_sec"]) is int


@pytest.mark.parametrize("value, expected", [
    (True, True), (False, False), ("true", True), ("True", True), ("TRUE", True),
    ("false", False), ("False", False),
], ids=repr)
def test_privacy_mode_in_json_is_stored_as_a_bool(client, recordings, calls, value, expected):
    """privacyMode as a JSON bool or "true"/"false" in any case is stored as a bool."""
    recording_id = freeclimb_id("RE")
    body = record(calls[0], recording_id, privacyMode=value)
    entry = complete(client, recordings, calls, as_json(body), recording_id)
    assert entry["privacy_mode"] is expected


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("True", True), ("false", False), ("FALSE", False),
], ids=repr)
def test_privacy_mode_in_a_form_is_stored_as_a_bool(client, recordings, calls, value, expected):
    """privacyMode "true"/"false" in a form is stored as a bool."""
    recording_id = freeclimb_id("RE")
    body = record(calls[0], recording_id, privacyMode=value)
    raw = urlencode(body).encode()
    entry = complete(client, recordings, calls, (raw, FORM), recording_id)
    assert entry["privacy_mode"] is expected


def test_privacy_mode_left_out_is_false(client, recordings, calls):
    """A record webhook without privacyMode stores privacy_mode False."""
    recording_id = freeclimb_id("RE")
    body = without(record(calls[0], recording_id), "privacyMode")
    entry = complete(client, recordings, calls, as_json(body), recording_id)
    assert entry["privacy_mode"] is False


def test_a_whole_form_record_webhook_is_stored_typed(client, recordings, calls):
    """A record webhook sent as a form (every value a string) stores ints, a bool and nulls."""
    recording_id = freeclimb_id("RE")
    body = record(calls[0], recording_id, privacyMode=True)
    entry = complete(client, recordings, calls, as_form(body), recording_id)
    assert entry["recording_size"] == 96044
    assert entry["duration_sec"] == 6
    assert entry["privacy_mode"] is True
    assert entry["conference_id"] is None
    assert entry["queue_id"] is None
    assert entry["parent_call_id"] is None
    assert entry["status"] == "ended"


@pytest.mark.parametrize("empty", ["", "null"], ids=["empty", "null-text"])
def test_an_empty_conference_id_in_a_form_is_no_conference(client, recordings, empty):
    """conferenceId "" in a form stores conference_id None and reference_type "call"."""
    call_id = freeclimb_id("CA")
    raw = urlencode({**inbound_call(call_id, conferenceId=empty, queueId="",
                                     parentCallId="")}).encode()
    response = send(client, "/freeclimb/voice", raw, FORM)
    assert response.status_code == 200
    [entry] = recordings.for_call(call_id)
    assert entry["conference_id"] is None
    assert entry["queue_id"] is None
    assert entry["parent_call_id"] is None
    assert entry["reference_type"] == "call"


def test_a_conference_id_in_a_form_is_a_conference(client, recordings):
    """A non-empty conferenceId in a form stores it and reference_type "confbridge"."""
    call_id, conference_id = freeclimb_id("CA"), freeclimb_id("CF")
    raw = urlencode({**inbound_call(call_id, conferenceId=conference_id, queueId="",
                                     parentCallId="")}).encode()
    assert send(client, "/freeclimb/voice", raw, FORM).status_code == 200
    [entry] = recordings.for_call(call_id)
    assert entry["conference_id"] == conference_id
    assert entry["reference_type"] == "confbridge"


@pytest.mark.parametrize("route", ["voice", "status", "record"])
@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_unknown_fields_are_ignored(client, recordings, calls, route, form):
    """Fields FreeClimb may add later are ignored, not refused and not stored."""
    call_id, path = calls
    extra = {"futureField": "x", "transcript": "hello", "callId_": 5}
    body = {"voice": inbound_call(freeclimb_id("CA"), **extra),
            "status": call_status(call_id, **extra),
            "record": record(call_id, freeclimb_id("RE"), **extra)}[route]
    response = send(client, path_for(route, calls), *encode(body, form))
    assert response.status_code in (200, 204)
    for entry in recordings.all():
        assert not {"futureField", "transcript", "future_field", "callId_"} & set(entry)


@pytest.mark.parametrize("content_type", [
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    "Application/JSON",
])
def test_json_with_parameters_in_the_content_type_is_accepted(client, recordings, content_type):
    """application/json with a charset parameter (or other case) is read as JSON."""
    call_id = freeclimb_id("CA")
    raw = json.dumps(inbound_call(call_id)).encode()
    assert send(client, "/freeclimb/voice", raw, content_type).status_code == 200
    assert len(recordings.for_call(call_id)) == 1


def test_form_with_a_charset_parameter_is_accepted(client, recordings):
    """application/x-www-form-urlencoded; charset=utf-8 is read as a form."""
    call_id = freeclimb_id("CA")
    raw, _ = as_form(inbound_call(call_id))
    assert send(client, "/freeclimb/voice", raw, f"{FORM}; charset=utf-8").status_code == 200
    assert len(recordings.for_call(call_id)) == 1


def test_non_ascii_utf8_values_are_kept(client, recordings):
    """UTF-8 text in a form, percent-encoded, is decoded and stored as sent."""
    call_id = freeclimb_id("CA")
    raw, _ = as_form(inbound_call(call_id, to="Zoë Café"))
    assert send(client, "/freeclimb/voice", raw, FORM).status_code == 200
    [entry] = recordings.for_call(call_id)
    assert entry["to"] == "Zoë Café"


@pytest.mark.parametrize("case", ["bad-escape", "lone-percent", "not-utf8-escape"])
def test_bad_percent_encoding_in_a_form_is_refused(client, recordings, case):
    """A form with a % escape that is not two hex digits, or that decodes to non-UTF-8, gets 400."""
    raw = {"bad-escape": b"requestType=inboundCall&callId=CA%zz",
           "lone-percent": b"requestType=inboundCall&callId=%",
           "not-utf8-escape": b"requestType=inboundCall&callId=CA%ff"}[case]
    before = recordings.all()
    response = client.post("/freeclimb/voice", data=raw, headers=signed_headers(raw, FORM))
    assert response.status_code == 400
    assert "form" in response.get_json()["message"]
    assert recordings.all() == before


def test_an_empty_form_value_is_no_value(client, recordings):
    """In a form an empty recordingSize means FreeClimb sent none: stored as None, not refused."""
    call_id = freeclimb_id("CA")
    answer = post(client, "/freeclimb/voice", inbound_call(call_id), form=True).get_json()
    raw, content_type = encode(record(call_id, freeclimb_id("RE"), recordingSize=""), form=True)
    path = path_of(answer[-1]["RecordUtterance"]["actionUrl"])
    assert client.post(path, data=raw, headers=signed_headers(raw, content_type)).status_code == 200
    assert recordings.get(path.rsplit("/", 1)[1])["recording_size"] is None


@pytest.mark.parametrize("field", ["recordingSize", "recordingDurationSec"])
@pytest.mark.parametrize("value", ["1" * 5000, "9" * 19, 10**30], ids=["5000-digits", "19-digits", "1e30"])
def test_absurdly_large_numbers_are_refused(client, recordings, field, value):
    """A number no recording can have gets 400 naming the field, never a 500."""
    call_id = freeclimb_id("CA")
    answer = post(client, "/freeclimb/voice", inbound_call(call_id)).get_json()
    before = recordings.all()
    response = post(client, path_of(answer[-1]["RecordUtterance"]["actionUrl"]),
                    record(call_id, freeclimb_id("RE"), **{field: value}))
    assert response.status_code == 400
    assert field in response.get_json()["message"]
    assert recordings.all() == before


def test_a_repeated_json_key_is_refused(client, recordings):
    """A JSON body naming a field twice gets 400, as a form with a repeated field does."""
    raw = b'{"requestType":"inboundCall","callId":"CA1","callId":"CA2"}'
    response = client.post("/freeclimb/voice", data=raw, headers=signed_headers(raw, JSON))
    assert response.status_code == 400
    assert "callId" in response.get_json()["message"]


@pytest.mark.parametrize("request_type", ["inboundCall", "callStatus"])
def test_a_foreign_request_type_is_named_even_without_a_recording_id(client, request_type):
    """A non-record webhook posted to a record URL is refused for its requestType, not a missing field."""
    call_id = freeclimb_id("CA")
    answer = post(client, "/freeclimb/voice", inbound_call(call_id)).get_json()
    body = {"requestType": request_type, "callId": call_id}
    response = post(client, path_of(answer[-1]["RecordUtterance"]["actionUrl"]), body)
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("requestType")


@pytest.mark.parametrize("field", ["callId", "from", "termReason"])
def test_a_lone_surrogate_in_json_is_refused(client, recordings, field):
    """A JSON string escaping a lone surrogate is refused 400 naming the field, on both backends' behalf."""
    call_id = freeclimb_id("CA")
    answer = post(client, "/freeclimb/voice", inbound_call(call_id)).get_json()
    before = recordings.all()
    body = {**record(call_id, freeclimb_id("RE")), field: "SURROGATE"}
    if field == "callId":
        body[field] = call_id + "SURROGATE"
    raw = json.dumps(body).replace("SURROGATE", "\\ud800").encode()  # JSON's escape for U+D800
    response = client.post(path_of(answer[-1]["RecordUtterance"]["actionUrl"]), data=raw,
                           headers=signed_headers(raw, JSON))
    assert response.status_code == 400
    assert response.get_json()["message"].startswith(field)
    assert recordings.all() == before


def test_a_huge_duration_is_refused(client, recordings):
    """A recordingDurationSec longer than a week is refused 400 naming it, never an overflow."""
    call_id = freeclimb_id("CA")
    body = record(call_id, freeclimb_id("RE"), recordingDurationSec=100_000_000_000)
    response = post(client, f"/freeclimb/record/{__import__('uuid').uuid4()}", body)
    assert response.status_code == 400
    assert "recordingDurationSec" in response.get_json()["message"]


def test_a_record_callback_for_another_call_is_refused(client, recordings):
    """A record webhook naming another call than the entry's gets 400 and changes nothing."""
    call_id = freeclimb_id("CA")
    answer = post(client, "/freeclimb/voice", inbound_call(call_id)).get_json()
    before = recordings.all()
    response = post(client, path_of(answer[-1]["RecordUtterance"]["actionUrl"]),
                    record(freeclimb_id("CA"), freeclimb_id("RE")))
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("callId")
    assert recordings.all() == before


@pytest.mark.parametrize("host", ["x.example:99999", "a b"])
def test_a_host_header_that_makes_no_url_is_refused(tmp_path, monkeypatch, host):
    """Without PUBLIC_BASE_URL, a Host header that cannot make a callback URL gets 400, not 500."""
    from app import create_app
    from tests.freeclimb import SECRET

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = create_app({"DATA_DIR": str(tmp_path), "FREECLIMB_SIGNING_SECRET": SECRET})
    raw, content_type = encode(inbound_call(freeclimb_id("CA")))
    response = app.test_client().post("/freeclimb/voice", data=raw, headers={
        **signed_headers(raw, content_type), "Host": host})
    assert response.status_code == 400
    assert "PUBLIC_BASE_URL" in response.get_json()["message"]
