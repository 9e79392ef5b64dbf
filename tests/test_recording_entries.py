"""Recording entries through signed webhook round trips: the voicemail line's PerCL, the 30 fields
of an entry (the Recording resource's 15 plus FreeClimb's 15), the status life cycle, repeated
callbacks, and the VOICEMAIL_* / PUBLIC_BASE_URL settings.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import create_app
from handlers.calls import NAMESPACE
from handlers.config import ConfigError
from tests.freeclimb import (
    ACCOUNT_ID,
    SECRET,
    call_status,
    encode,
    freeclimb_id,
    inbound_call,
    path_of,
    post,
    record,
    signed_headers,
)
from storage.recordings import MIRROR_FIELDS
from tests.oracle import sdk_accepts_script

NIL = "00000000-0000-0000-0000-000000000000"
NOT_YET = "9999-01-01 00:00:00.000000"
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")
BASE_URL = "https://voice.example.com"

RESOURCE_KEYS = {
    "id", "customer_id", "owner_type", "owner_id", "activeflow_id", "reference_type",
    "reference_id", "status", "format", "on_end_flow_id", "tm_start", "tm_end", "tm_create",
    "tm_update", "tm_delete",
}
FREECLIMB_KEYS = {
    "recording_id", "recording_url", "recording_size", "duration_sec", "term_reason",
    "privacy_mode", "parent_call_id", "call_id", "account_id", "conference_id", "queue_id",
    "from", "to", "direction", "call_status",
}
TIMESTAMP_KEYS = ("tm_start", "tm_end", "tm_create", "tm_update", "tm_delete")

ENCODINGS = pytest.mark.parametrize("form", [False, True], ids=["json", "form"])

_ENV_SETTINGS = ("VOICEMAIL_GREETING", "VOICEMAIL_THANKS", "VOICEMAIL_MAX_LENGTH_SEC",
                 "VOICEMAIL_FINISH_KEY", "VOICEMAIL_PLAY_BEEP", "VOICEMAIL_LANGUAGE",
                 "PUBLIC_BASE_URL", "SIGNATURE_TOLERANCE_S", "FREECLIMB_SIGNING_SECRET", "DATA_DIR")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """Settings come only from each test's config, never from the shell running pytest."""
    for name in _ENV_SETTINGS:
        monkeypatch.delenv(name, raising=False)


# --- helpers -----------------------------------------------------------------------------


def derived(kind: str, freeclimb_value: str) -> str:
    """The UUID the issue derives from a FreeClimb id (uuid5 in the app's namespace)."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{freeclimb_value}"))


def answer(response: Any) -> list[dict[str, Any]]:
    """The PerCL of a 200 answer, after FreeClimb's SDK has accepted it."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    document = response.get_json()
    sdk_accepts_script(document)
    return document


def action_url(document: list[dict[str, Any]]) -> str:
    """The actionUrl of the script's RecordUtterance (the last command of the greeting)."""
    assert [next(iter(element)) for element in document] == ["Say", "RecordUtterance"], document
    return document[1]["RecordUtterance"]["actionUrl"]


def entry_id_of(url: str) -> str:
    """The entry id at the end of a record actionUrl, checked to be a canonical UUID."""
    prefix, _, last = path_of(url).rpartition("/")
    assert prefix.endswith("/freeclimb/record"), url
    assert str(uuid.UUID(last)) == last
    return last


def start_call(client: Any, call_id: str, *, form: bool = False, **overrides: Any) -> tuple[str, str]:
    """An inbound call; returns the entry id and the path the record callback goes to."""
    url = action_url(answer(post(client, "/freeclimb/voice", inbound_call(call_id, **overrides),
                                 form=form)))
    return entry_id_of(url), path_of(url)


def finish(client: Any, path: str, body: dict[str, Any], *, form: bool = False) -> list[dict[str, Any]]:
    """Deliver a record callback; returns the PerCL answer."""
    return answer(post(client, path, body, form=form))


def parse(value: str) -> datetime:
    assert TIMESTAMP.fullmatch(value), value
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


def extra_app(tmp_path, **config: Any):
    """Another app on its own store under tmp_path, signed with SECRET."""
    base = {"TESTING": True, "DATA_DIR": str(tmp_path / f"data-{uuid.uuid4().hex[:8]}"),
            "FREECLIMB_SIGNING_SECRET": SECRET}
    return create_app({**base, **config})


# --- the greeting and the entry it creates -----------------------------------------------


@ENCODINGS
def test_inbound_call_creates_a_recording_entry_named_in_the_action_url(client, recordings, form):
    """An inbound call answers Say + RecordUtterance and stores a `recording` entry whose id is the actionUrl's UUID."""
    call_id = freeclimb_id("CA")
    response = post(client, "/freeclimb/voice",
                    inbound_call(call_id, **{"from": "+13125550142", "to": "+13125550177"}), form=form)
    url = action_url(answer(response))
    assert url.startswith(f"{BASE_URL}/freeclimb/record/")
    entry_id = entry_id_of(url)

    assert recordings.count() == 1
    entry = recordings.get(entry_id)
    assert entry is not None
    assert set(entry) == RESOURCE_KEYS | FREECLIMB_KEYS | set(MIRROR_FIELDS)
    assert entry["id"] == entry_id
    assert entry["status"] == "recording"
    assert entry["tm_start"] != NOT_YET and TIMESTAMP.fullmatch(entry["tm_start"])
    assert entry["tm_end"] == NOT_YET
    assert entry["tm_delete"] == NOT_YET
    assert TIMESTAMP.fullmatch(entry["tm_create"]) and TIMESTAMP.fullmatch(entry["tm_update"])
    assert entry["tm_create"] <= entry["tm_start"]
    assert entry["format"] == "wav"
    assert entry["reference_type"] == "call"
    assert entry["reference_id"] == derived("call", call_id)
    assert entry["customer_id"] == derived("account", ACCOUNT_ID)
    assert (entry["owner_type"], entry["owner_id"]) == ("", NIL)
    # the call runs the built-in voicemail flow: its activeflow made the recording
    assert entry["activeflow_id"] == recordings_activeflow(client, call_id)
    assert entry["on_end_flow_id"] == NIL
    assert entry["recording_id"] is None
    assert (entry["call_id"], entry["account_id"]) == (call_id, ACCOUNT_ID)
    assert (entry["from"], entry["to"]) == ("+13125550142", "+13125550177")
    assert (entry["direction"], entry["call_status"]) == ("inbound", "inProgress")


def test_default_voicemail_percl(tmp_path):
    """Without VOICEMAIL_* settings the line greets, records up to 120 s ending on # with a beep, thanks and hangs up."""
    client = extra_app(tmp_path, PUBLIC_BASE_URL=BASE_URL).test_client()
    call_id = freeclimb_id("CA")
    document = answer(post(client, "/freeclimb/voice", inbound_call(call_id)))
    url = action_url(document)
    assert document == [
        {"Say": {"text": "Please leave a message after the beep. "
                         "Press the pound key when you are done."}},
        {"RecordUtterance": {"actionUrl": url, "finishOnKey": "#", "maxLengthSec": 120,
                             "playBeep": True}},
    ]
    assert finish(client, path_of(url), record(call_id, freeclimb_id("RE"))) == [
        {"Say": {"text": "Thank you, your message has been recorded. Goodbye."}},
        {"Hangup": {}},
    ]


def test_repeated_inbound_webhook_reuses_its_entry(client, recordings):
    """The same inboundCall delivered twice points at the same entry and stores only one."""
    call_id = freeclimb_id("CA")
    first, _ = start_call(client, call_id)
    second, _ = start_call(client, call_id)
    assert first == second
    assert recordings.count() == 1


# --- the record callback: every field ----------------------------------------------------


@ENCODINGS
def test_record_callback_fills_every_field_of_the_entry(client, recordings, form):
    """After the record callback the entry holds exactly the 30 fields with the mapped values."""
    call_id, recording_id = freeclimb_id("CA"), freeclimb_id("RE")
    parent_id, queue_id = freeclimb_id("CA"), freeclimb_id("QU")
    numbers = {"from": "+13125550111", "to": "+13125550122"}
    entry_id, path = start_call(client, call_id, form=form, **numbers)
    started = recordings.get(entry_id)

    url = (f"https://www.freeclimb.com/apiserver/Accounts/{ACCOUNT_ID}/Recordings/"
           f"{recording_id}/Download")
    body = record(call_id, recording_id, recordingUrl=url, recordingSize="250000",
                  recordingDurationSec=31, termReason="maxLength", privacyMode=True,
                  parentCallId=parent_id, queueId=queue_id, **numbers)
    assert finish(client, path, body, form=form) == [
        {"Say": {"text": "Thank you, your message has been recorded. Goodbye."}},
        {"Hangup": {}},
    ]

    assert recordings.count() == 1
    entry = recordings.get(entry_id)
    assert set(entry) == RESOURCE_KEYS | FREECLIMB_KEYS | set(MIRROR_FIELDS)
    assert len(entry) == 30 + len(MIRROR_FIELDS)
    assert {key: entry[key] for key in TIMESTAMP_KEYS if key not in ("tm_end", "tm_update")} == {
        "tm_start": started["tm_start"],
        "tm_create": started["tm_create"],
        "tm_delete": NOT_YET,
    }
    assert entry["tm_end"] != NOT_YET
    expected = {
        "id": entry_id,
        "customer_id": derived("account", ACCOUNT_ID),
        "owner_type": "",
        "owner_id": NIL,
        "activeflow_id": recordings_activeflow(client, call_id),
        "reference_type": "call",
        "reference_id": derived("call", call_id),
        "status": "ended",
        "format": "wav",
        "on_end_flow_id": NIL,
        "recording_id": recording_id,
        "recording_url": url,
        "recording_size": 250000,
        "duration_sec": 31,
        "term_reason": "maxLength",
        "privacy_mode": True,
        "parent_call_id": parent_id,
        "call_id": call_id,
        "account_id": ACCOUNT_ID,
        "conference_id": None,
        "queue_id": queue_id,
        "from": "+13125550111",
        "to": "+13125550122",
        "direction": "inbound",
        "call_status": "inProgress",
        # the mirror fetches our copy later, outside the webhook
        "mirror_state": "pending", "mirror_attempts": 0, "mirror_error": None,
        "mirror_next_at": None, "mirror_claim": None, "local_path": None, "local_size": None,
        "sha256": None,
    }
    assert {key: value for key, value in entry.items() if key not in TIMESTAMP_KEYS} == expected
    assert type(entry["recording_size"]) is int
    assert type(entry["duration_sec"]) is int
    assert type(entry["privacy_mode"]) is bool


@ENCODINGS
@pytest.mark.parametrize("privacy", [False, True])
def test_privacy_mode_is_stored_as_a_boolean(client, recordings, form, privacy):
    """privacyMode arrives as a JSON boolean or the form's true/false and is stored as a bool."""
    call_id = freeclimb_id("CA")
    entry_id, path = start_call(client, call_id, form=form)
    finish(client, path, record(call_id, freeclimb_id("RE"), privacyMode=privacy), form=form)
    assert recordings.get(entry_id)["privacy_mode"] is privacy


@ENCODINGS
def test_recording_size_given_as_a_number_is_stored_as_an_integer(client, recordings, form):
    """recordingSize sent as a number rather than FreeClimb's documented string is still an int of bytes."""
    call_id = freeclimb_id("CA")
    entry_id, path = start_call(client, call_id, form=form)
    finish(client, path, record(call_id, freeclimb_id("RE"), recordingSize=4242), form=form)
    assert recordings.get(entry_id)["recording_size"] == 4242
    assert type(recordings.get(entry_id)["recording_size"]) is int


@ENCODINGS
def test_from_and_to_are_kept_from_the_call_when_the_callback_omits_them(client, recordings, form):
    """A record callback without from/to leaves the numbers the inbound call gave."""
    call_id = freeclimb_id("CA")
    entry_id, path = start_call(client, call_id, form=form,
                                **{"from": "+13125550155", "to": "+13125550166"})
    body = record(call_id, freeclimb_id("RE"))
    del body["from"], body["to"]
    finish(client, path, body, form=form)
    entry = recordings.get(entry_id)
    assert entry["status"] == "ended"
    assert (entry["from"], entry["to"]) == ("+13125550155", "+13125550166")


@ENCODINGS
def test_timestamps_are_utc_in_the_documented_format(client, recordings, form):
    """Every tm_* is YYYY-MM-DD HH:MM:SS.ffffff in UTC, and tm_end >= tm_start once ended."""
    before = datetime.now(UTC) - timedelta(seconds=1)
    call_id = freeclimb_id("CA")
    entry_id, path = start_call(client, call_id, form=form)
    finish(client, path, record(call_id, freeclimb_id("RE")), form=form)
    after = datetime.now(UTC) + timedelta(seconds=1)

    entry = recordings.get(entry_id)
    for key in TIMESTAMP_KEYS:
        assert TIMESTAMP.fullmatch(entry[key]), (key, entry[key])
    assert entry["tm_delete"] == NOT_YET
    for key in ("tm_start", "tm_end", "tm_create", "tm_update"):
        assert before <= parse(entry[key]) <= after, (key, entry[key])
    assert parse(entry["tm_end"]) >= parse(entry["tm_start"])
    assert parse(entry["tm_update"]) >= parse(entry["tm_end"])


# --- derived ids -------------------------------------------------------------------------


def test_customer_id_is_derived_from_the_account(client, recordings):
    """Two calls of one account share a customer_id derived from the accountId; another account gets another."""
    other_account = "AC" + "2" * 40
    ids = []
    for account in (ACCOUNT_ID, ACCOUNT_ID, other_account):
        call_id = freeclimb_id("CA")
        entry_id, path = start_call(client, call_id, accountId=account)
        finish(client, path, record(call_id, freeclimb_id("RE"), accountId=account))
        ids.append(entry_id)
    first, second, third = (recordings.get(entry_id) for entry_id in ids)

    assert first["customer_id"] == second["customer_id"] == derived("account", ACCOUNT_ID)
    assert third["customer_id"] == derived("account", other_account)
    assert third["customer_id"] != first["customer_id"]
    assert (first["account_id"], third["account_id"]) == (ACCOUNT_ID, other_account)
    assert first["reference_id"] != second["reference_id"]
    assert first["reference_id"] == derived("call", first["call_id"])
    assert second["reference_id"] == derived("call", second["call_id"])


def test_recordings_of_the_same_call_share_the_reference_id(client, recordings):
    """A second recording on the same call gets its own entry with the same call-derived reference_id."""
    call_id = freeclimb_id("CA")
    first_recording, second_recording = freeclimb_id("RE"), freeclimb_id("RE")
    entry_id, path = start_call(client, call_id)
    finish(client, path, record(call_id, first_recording))
    first_entry = recordings.get(entry_id)

    finish(client, path, record(call_id, second_recording))

    assert recordings.count() == 2
    assert recordings.get(entry_id) == first_entry
    second_entry = recordings.by_recording_id(second_recording)
    assert second_entry["id"] != entry_id
    assert str(uuid.UUID(second_entry["id"])) == second_entry["id"]
    assert second_entry["status"] == "ended"
    assert second_entry["call_id"] == call_id
    assert second_entry["reference_id"] == first_entry["reference_id"] == derived("call", call_id)


@ENCODINGS
def test_callback_with_a_conference_is_a_confbridge_recording(client, recordings, form):
    """A record callback carrying a conferenceId makes reference_type confbridge with the conference-derived reference_id."""
    conference_id = freeclimb_id("CF")
    entry_ids = []
    for _ in range(2):
        call_id = freeclimb_id("CA")
        entry_id, path = start_call(client, call_id, form=form)
        finish(client, path, record(call_id, freeclimb_id("RE"), conferenceId=conference_id),
               form=form)
        entry_ids.append(entry_id)
    first, second = (recordings.get(entry_id) for entry_id in entry_ids)

    for entry in (first, second):
        assert entry["status"] == "ended"
        assert entry["reference_type"] == "confbridge"
        assert entry["reference_id"] == derived("conference", conference_id)
        assert entry["conference_id"] == conference_id
        assert entry["reference_id"] != derived("call", entry["call_id"])
    assert first["call_id"] != second["call_id"]


# --- repeated and unexpected callbacks ---------------------------------------------------


@ENCODINGS
def test_duplicated_record_callback_keeps_one_entry_and_answers_the_same(client, recordings, form):
    """The same recordingId posted three times leaves one unchanged entry and three identical answers."""
    call_id, recording_id = freeclimb_id("CA"), freeclimb_id("RE")
    entry_id, path = start_call(client, call_id, form=form)
    body = record(call_id, recording_id)

    responses = [post(client, path, body, form=form) for _ in range(3)]
    for response in responses:
        answer(response)
    assert len({response.get_data() for response in responses}) == 1
    assert recordings.count() == 1
    entry = recordings.get(entry_id)
    assert entry["recording_id"] == recording_id
    assert entry["status"] == "ended"

    post(client, path, body, form=form)
    assert recordings.get(entry_id) == entry


def test_duplicate_sent_to_another_entry_url_still_maps_to_the_first_entry(client, recordings):
    """A recordingId already stored, delivered to another entry's URL, creates nothing new."""
    call_id, recording_id = freeclimb_id("CA"), freeclimb_id("RE")
    entry_id, path = start_call(client, call_id)
    first_answer = finish(client, path, record(call_id, recording_id))
    stored = recordings.get(entry_id)

    other = str(uuid.uuid4())
    assert finish(client, f"/freeclimb/record/{other}", record(call_id, recording_id)) == first_answer
    assert recordings.count() == 1
    assert recordings.get(other) is None
    assert recordings.get(entry_id) == stored


@ENCODINGS
def test_callback_for_an_unknown_entry_creates_it(client, recordings, form):
    """A record callback to a well-formed but unknown entry id creates an ended entry and hangs up."""
    entry_id = str(uuid.uuid4())
    call_id, recording_id = freeclimb_id("CA"), freeclimb_id("RE")
    body = record(call_id, recording_id, recordingDurationSec=9,
                  **{"from": "+13125550133", "to": "+13125550144"})
    assert finish(client, f"/freeclimb/record/{entry_id}", body, form=form) == [{"Hangup": {}}]

    assert recordings.count() == 1
    entry = recordings.get(entry_id)
    assert set(entry) == RESOURCE_KEYS | FREECLIMB_KEYS | set(MIRROR_FIELDS)
    assert entry["status"] == "ended"
    assert entry["recording_id"] == recording_id
    assert entry["duration_sec"] == 9
    assert entry["recording_size"] == 96044
    assert (entry["from"], entry["to"]) == ("+13125550133", "+13125550144")
    assert entry["customer_id"] == derived("account", ACCOUNT_ID)
    assert (entry["reference_type"], entry["reference_id"]) == ("call", derived("call", call_id))
    assert entry["tm_delete"] == NOT_YET
    for key in TIMESTAMP_KEYS:
        assert TIMESTAMP.fullmatch(entry[key])
    assert entry["tm_start"] != NOT_YET and entry["tm_end"] != NOT_YET
    assert parse(entry["tm_end"]) - parse(entry["tm_start"]) == timedelta(seconds=9)


@pytest.mark.parametrize("entry_id", ["not-a-uuid", "12345", uuid.uuid4().hex,
                                      str(uuid.uuid4()).upper()])
def test_callback_to_an_id_we_never_hand_out_is_404(client, recordings, entry_id):
    """A record callback whose entry id is not a canonical UUID is refused with 404 and stores nothing."""
    call_id = freeclimb_id("CA")
    response = post(client, f"/freeclimb/record/{entry_id}", record(call_id, freeclimb_id("RE")))
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert recordings.count() == 0


# --- the call ending ---------------------------------------------------------------------


@ENCODINGS
def test_call_ending_while_recording_marks_the_entry_stopping(client, recordings, form):
    """callStatus completed before the record callback makes the entry `stopping`; the callback then ends it."""
    call_id, recording_id = freeclimb_id("CA"), freeclimb_id("RE")
    entry_id, path = start_call(client, call_id, form=form)
    started = recordings.get(entry_id)

    response = post(client, "/freeclimb/status", call_status(call_id, "completed"), form=form)
    assert response.status_code == 204
    assert response.get_data() == b""
    stopping = recordings.get(entry_id)
    assert stopping["status"] == "stopping"
    assert stopping["tm_end"] == NOT_YET
    assert stopping["tm_start"] == started["tm_start"]
    assert stopping["call_status"] == "completed"
    assert stopping["tm_update"] >= started["tm_update"]
    assert stopping["recording_id"] is None

    finish(client, path, record(call_id, recording_id, callStatus="completed", termReason="hangup"),
           form=form)
    ended = recordings.get(entry_id)
    assert recordings.count() == 1
    assert ended["status"] == "ended"
    assert ended["recording_id"] == recording_id
    assert ended["term_reason"] == "hangup"
    assert ended["tm_start"] == started["tm_start"]
    assert ended["tm_end"] != NOT_YET and ended["tm_end"] >= ended["tm_start"]


@pytest.mark.parametrize("ended_status", ["completed", "failed", "busy", "noAnswer", "canceled"])
def test_every_final_call_status_stops_a_running_recording(client, recordings, ended_status):
    """Each final callStatus FreeClimb documents turns a `recording` entry into `stopping`."""
    call_id = freeclimb_id("CA")
    entry_id, _ = start_call(client, call_id)
    assert post(client, "/freeclimb/status", call_status(call_id, ended_status)).status_code == 204
    assert recordings.get(entry_id)["status"] == "stopping"


def test_call_status_only_touches_its_own_call(client, recordings):
    """A call ending leaves the recordings of other calls `recording`."""
    ending, other = freeclimb_id("CA"), freeclimb_id("CA")
    ending_entry, _ = start_call(client, ending)
    other_entry, _ = start_call(client, other)
    before = recordings.get(other_entry)
    assert post(client, "/freeclimb/status", call_status(ending)).status_code == 204
    assert recordings.get(ending_entry)["status"] == "stopping"
    assert recordings.get(other_entry) == before


@ENCODINGS
def test_call_status_after_the_callback_leaves_the_entry_ended(client, recordings, form):
    """callStatus completed after the record callback changes nothing in the ended entry."""
    call_id = freeclimb_id("CA")
    entry_id, path = start_call(client, call_id, form=form)
    finish(client, path, record(call_id, freeclimb_id("RE")), form=form)
    ended = recordings.get(entry_id)

    assert post(client, "/freeclimb/status", call_status(call_id, "completed"),
                form=form).status_code == 204
    assert recordings.get(entry_id) == ended


@ENCODINGS
@pytest.mark.parametrize("live_status", ["inProgress", "ringing", "queued"])
def test_call_status_of_a_live_call_changes_nothing(client, recordings, form, live_status):
    """A callStatus that is not final answers 204 and leaves the `recording` entry as it was."""
    call_id = freeclimb_id("CA")
    entry_id, _ = start_call(client, call_id, form=form)
    before = recordings.get(entry_id)
    response = post(client, "/freeclimb/status", call_status(call_id, live_status), form=form)
    assert response.status_code == 204
    assert recordings.get(entry_id) == before


def test_call_status_of_an_unknown_call_answers_204(client, recordings):
    """A call ending with no stored recording answers 204 and stores nothing."""
    response = post(client, "/freeclimb/status", call_status(freeclimb_id("CA")))
    assert response.status_code == 204
    assert recordings.count() == 0


# --- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(("beep_setting", "beep"), [("false", False), ("off", False), ("yes", True)])
def test_voicemail_settings_show_up_in_the_percl(tmp_path, beep_setting, beep):
    """VOICEMAIL_GREETING/THANKS/MAX_LENGTH_SEC/FINISH_KEY/PLAY_BEEP/LANGUAGE are what the caller gets."""
    app = extra_app(tmp_path, PUBLIC_BASE_URL=BASE_URL,
                    VOICEMAIL_GREETING="Hola, deje su mensaje.",
                    VOICEMAIL_THANKS="Gracias, adiós.",
                    VOICEMAIL_MAX_LENGTH_SEC="45",
                    VOICEMAIL_FINISH_KEY="*",
                    VOICEMAIL_PLAY_BEEP=beep_setting,
                    VOICEMAIL_LANGUAGE="es-MX")
    client = app.test_client()
    call_id = freeclimb_id("CA")
    greeting = answer(post(client, "/freeclimb/voice", inbound_call(call_id)))
    url = action_url(greeting)
    assert greeting == [
        {"Say": {"text": "Hola, deje su mensaje.", "language": "es-MX"}},
        {"RecordUtterance": {"actionUrl": url, "finishOnKey": "*", "maxLengthSec": 45,
                             "playBeep": beep}},
    ]
    goodbye = finish(client, path_of(url), record(call_id, freeclimb_id("RE")))
    assert goodbye == [{"Say": {"text": "Gracias, adiós.", "language": "es-MX"}}, {"Hangup": {}}]


@pytest.mark.parametrize(("name", "value"), [
    ("VOICEMAIL_MAX_LENGTH_SEC", "abc"),
    ("VOICEMAIL_MAX_LENGTH_SEC", "0"),
    ("VOICEMAIL_MAX_LENGTH_SEC", "-5"),
    ("VOICEMAIL_FINISH_KEY", "x"),
    ("VOICEMAIL_LANGUAGE", "xx-XX"),
    ("VOICEMAIL_PLAY_BEEP", "maybe"),
    ("VOICEMAIL_GREETING", "a" * 5000),
    ("VOICEMAIL_THANKS", "é" * 2100),
    ("SIGNATURE_TOLERANCE_S", "-1"),
    ("SIGNATURE_TOLERANCE_S", "five"),
    ("PUBLIC_BASE_URL", "not-a-url"),
    ("PUBLIC_BASE_URL", "ftp://voice.example.com"),
])
def test_bad_setting_stops_the_app_naming_the_variable(tmp_path, name, value):
    """create_app refuses a bad setting with a ConfigError whose message names the variable."""
    with pytest.raises(ConfigError, match=name):
        extra_app(tmp_path, **{name: value})


def test_bad_setting_from_the_environment_stops_the_app(tmp_path, monkeypatch):
    """A bad value in the process environment is refused just like one passed to create_app."""
    monkeypatch.setenv("VOICEMAIL_FINISH_KEY", "x")
    with pytest.raises(ConfigError, match="VOICEMAIL_FINISH_KEY"):
        extra_app(tmp_path)


def test_action_url_uses_the_request_host_without_public_base_url(tmp_path):
    """With no PUBLIC_BASE_URL the actionUrl is built from the host the webhook was sent to."""
    app = extra_app(tmp_path)
    client = app.test_client()
    call_id = freeclimb_id("CA")
    raw, content_type = encode(inbound_call(call_id))
    response = client.post("/freeclimb/voice", data=raw, headers=signed_headers(raw, content_type),
                           base_url="https://calls.example.org:8443")
    url = action_url(answer(response))
    entry_id = entry_id_of(url)
    assert url == f"https://calls.example.org:8443/freeclimb/record/{entry_id}"
    assert app.extensions["store"].recordings.get(entry_id)["status"] == "recording"

    default_host = action_url(answer(post(client, "/freeclimb/voice", inbound_call(freeclimb_id("CA")))))
    assert default_host.startswith("http://localhost/freeclimb/record/")


def test_public_base_url_wins_over_the_request_host(tmp_path):
    """PUBLIC_BASE_URL (trailing slash dropped) is used whatever host the webhook reached."""
    client = extra_app(tmp_path, PUBLIC_BASE_URL="https://abc.ngrok.app/").test_client()
    raw, content_type = encode(inbound_call(freeclimb_id("CA")))
    response = client.post("/freeclimb/voice", data=raw, headers=signed_headers(raw, content_type),
                           base_url="http://10.0.0.5:5000")
    url = action_url(answer(response))
    assert url == f"https://abc.ngrok.app/freeclimb/record/{entry_id_of(url)}"


def recordings_activeflow(client, call_id):
    """The id of the activeflow the app keeps for ``call_id``."""
    return client.application.extensions["store"].activeflows.for_call(call_id)["id"]


@pytest.mark.parametrize("env, name", [
    ({"PUBLIC_BASE_URL": "https://voice.example.com:99999"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://voice example.com"}, "PUBLIC_BASE_URL"),
    ({"SIGNATURE_TOLERANCE_S": "\u00b2"}, "SIGNATURE_TOLERANCE_S"),
    ({"FREECLIMB_SIGNING_SECRET": ","}, "FREECLIMB_SIGNING_SECRET"),
    ({"FREECLIMB_SIGNING_SECRET": " , "}, "FREECLIMB_SIGNING_SECRET"),
], ids=["port-out-of-range", "space-in-host", "superscript-digit", "comma-only", "blank-parts"])
def test_settings_that_would_fail_later_stop_the_app(tmp_path, env, name):
    """A base URL no PerCL could carry, a non-ASCII number or a secret list without a secret stop the app."""
    from app import create_app
    from handlers.config import ConfigError

    config = {"DATA_DIR": str(tmp_path), "FREECLIMB_SIGNING_SECRET": SECRET, **env}
    with pytest.raises(ConfigError, match=name):
        create_app(config)


@ENCODINGS
def test_a_whole_call_recording_reported_in_call_status_becomes_an_entry(client, recordings, form):
    """StartRecordCall's recording, reported with callStatus, is kept as an ended entry, once."""
    call_id, recording_id = freeclimb_id("CA"), freeclimb_id("RE")
    body = call_status(call_id, recordingId=recording_id, recordingUrl="https://fc.example/r.wav",
                       recordingSize="48044", recordingDurationSec=3, recordingFormat="audio/wav")
    for _ in range(2):  # delivered twice
        assert post(client, "/freeclimb/status", body, form=form).status_code == 204
    (entry,) = [e for e in recordings.all() if e["recording_id"] == recording_id]
    assert (entry["status"], entry["call_id"], entry["recording_size"]) == ("ended", call_id, 48044)
    assert entry["mirror_state"] == "pending"
    assert recordings.count() == 1
