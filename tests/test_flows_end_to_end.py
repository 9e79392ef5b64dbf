"""The example flows (voicemail, departments, front-desk) played end to end through the HTTP routes.

Each test plays FreeClimb's side of a call with signed webhooks, posting every callback to the
actionUrl of the previous answer's last command. Every answer must be PerCL that FreeClimb's own
SDK accepts; after each step the stored activeflow (status, current action, variables, the
executed_actions log) and the Recording entries are checked.
"""

from __future__ import annotations

import copy
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import tests.freeclimb
from app import create_app
from tests.freeclimb import call_fields, call_status, freeclimb_id, inbound_call, path_of, post, record
from tests.oracle import sdk_accepts_script

REPO_ROOT = Path(__file__).resolve().parents[1]
BASE_URL = "https://voice.example.com"
NIL = "00000000-0000-0000-0000-000000000000"
NOT_YET = "9999-01-01 00:00:00.000000"
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")

# The called numbers of flows/*.yaml; any other number reaches the default (voicemail).
DEPARTMENTS_NUMBER = "+13125550150"
FRONT_DESK_NUMBER = "+13125550160"
VOICEMAIL_NUMBER = "+13125550199"

# What the callers hear, as written in flows/*.yaml (folded scalars joined with spaces).
VOICEMAIL_GREETING = ("You have reached Example Company. Please leave a message after the beep, "
                      "and press the pound key when you are done.")
VOICEMAIL_THANKS = "Thank you, your message has been recorded. Goodbye."
MENU_PROMPT = ("Thank you for calling Example Company. For sales, press 1. For support, press 2. "
               "To leave a general message, press 0.")
NO_CHOICE = "Sorry, I did not hear a choice."
SALES = "You have reached sales. Please leave your message after the beep."
SUPPORT = "You have reached support. Please describe the problem after the beep."
GENERAL = "Please leave your message after the beep."
FALLBACK = "Let me take a general message instead."
MESSAGE_TAKEN = "Thank you, your message has been passed on. Goodbye."
CLOSED = "Our office is closed. We are open from nine to five, Monday to Friday, Chicago time."

# The owners of departments.yaml's mailboxes.
SALES_OWNER = "7a0c2b0e-5d3f-4f5e-9b1a-1c2d3e4f5a61"
SUPPORT_OWNER = "3b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c62"

_ENV_SETTINGS = ("FLOWS_PATH", "VOICEMAIL_GREETING", "VOICEMAIL_THANKS", "VOICEMAIL_MAX_LENGTH_SEC",
                 "VOICEMAIL_FINISH_KEY", "VOICEMAIL_PLAY_BEEP", "VOICEMAIL_LANGUAGE",
                 "PUBLIC_BASE_URL", "SIGNATURE_TOLERANCE_S", "FREECLIMB_SIGNING_SECRET", "DATA_DIR")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """Settings come only from each test's config, never from the shell running pytest."""
    for name in _ENV_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def app(tmp_path, _clean_environment):
    """The app on a fresh store, running the example flows shipped in flows/."""
    return create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"),
                       "FREECLIMB_SIGNING_SECRET": tests.freeclimb.SECRET,
                       "PUBLIC_BASE_URL": BASE_URL, "FLOWS_PATH": str(REPO_ROOT / "flows")})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    return app.extensions["store"]


def flow_id(app, name: str) -> str:
    return app.extensions["flows"].flows[name].id


def set_clock(app, moment: datetime) -> None:
    assert moment.tzinfo is not None
    app.extensions["flow_engine"].clock = lambda: moment


# --- PerCL as the callers should hear it ----------------------------------------------------


def say(text: str) -> dict[str, Any]:
    return {"Say": {"text": text}}


def menu(url: str) -> dict[str, Any]:
    """The department menu's GetDigits, resuming at ``url``."""
    return {"GetDigits": {"actionUrl": url, "prompts": [say(MENU_PROMPT)],
                          "initialTimeoutMs": 5000, "maxDigits": 1}}


def record_utterance(url: str, max_length_sec: int) -> dict[str, Any]:
    return {"RecordUtterance": {"actionUrl": url, "finishOnKey": "#",
                                "maxLengthSec": max_length_sec, "playBeep": True}}


HANGUP = {"Hangup": {}}


def step_url(activeflow_id: str, seq: int) -> str:
    return f"{BASE_URL}/freeclimb/flows/{activeflow_id}/{seq}"


def record_entry_id(url: str) -> str:
    """The Recording entry id at the end of a RecordUtterance actionUrl (a canonical UUID)."""
    prefix, _, last = path_of(url).rpartition("/")
    assert prefix == "/freeclimb/record", url
    assert str(uuid.UUID(last)) == last
    return last


def answer(response: Any) -> list[dict[str, Any]]:
    """The PerCL of a 200 JSON answer, after FreeClimb's SDK has accepted it."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert isinstance(document, list) and document
    sdk_accepts_script(document)
    return document


def refusal(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str)
    return body


# --- playing a call ---------------------------------------------------------------------------


class Caller:
    """One call played from FreeClimb's side; every answer is checked and kept in ``heard``."""

    def __init__(self, client: Any, store: Any, to: str, *, form: bool = False) -> None:
        self.client, self.store, self.to, self.form = client, store, to, form
        self.call_id = freeclimb_id("CA")
        self.heard: list[list[dict[str, Any]]] = []
        self.urls: list[str] = []  # the URL each webhook after the first was posted to

    @property
    def last(self) -> list[dict[str, Any]]:
        return self.heard[-1]

    def next_url(self) -> str:
        """The actionUrl of the last command of the previous answer."""
        (name, attributes), = self.last[-1].items()
        assert "actionUrl" in attributes, f"the call was not left waiting: {self.last}"
        return attributes["actionUrl"]

    def _play(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        document = answer(post(self.client, path, body, form=self.form))
        self.heard.append(document)
        return document

    def dial(self) -> list[dict[str, Any]]:
        return self._play("/freeclimb/voice", inbound_call(self.call_id, to=self.to))

    def get_digits(self, digits: str | None, reason: str) -> dict[str, Any]:
        return {"requestType": "getDigits", **call_fields(self.call_id, to=self.to),
                "digits": digits, "reason": reason}

    def press(self, digits: str) -> list[dict[str, Any]]:
        assert "GetDigits" in self.last[-1]
        url = self.next_url()
        self.urls.append(url)
        return self._play(path_of(url), self.get_digits(digits, "maxDigits"))

    def wait_out(self) -> list[dict[str, Any]]:
        """The caller presses nothing: GetDigits times out."""
        assert "GetDigits" in self.last[-1]
        url = self.next_url()
        self.urls.append(url)
        return self._play(path_of(url), self.get_digits(None, "timeout"))

    def record_webhook(self, recording_id: str, **overrides: Any) -> dict[str, Any]:
        return record(self.call_id, recording_id, to=self.to, **overrides)

    def finish_recording(self, recording_id: str, **overrides: Any) -> list[dict[str, Any]]:
        assert "RecordUtterance" in self.last[-1]
        url = self.next_url()
        self.urls.append(url)
        return self._play(path_of(url), self.record_webhook(recording_id, **overrides))

    def hang_up(self) -> None:
        response = post(self.client, "/freeclimb/status", call_status(self.call_id, to=self.to),
                        form=self.form)
        assert response.status_code == 204, response.get_data(as_text=True)

    def activeflow(self) -> dict[str, Any]:
        found = self.store.activeflows.for_call(self.call_id)
        assert found is not None
        return found

    def recordings(self) -> list[dict[str, Any]]:
        return self.store.recordings.for_call(self.call_id)


def check_log(activeflow: dict[str, Any], heard: list[list[dict[str, Any]]],
              steps: list[tuple[int, int | None, str, list[str]]]) -> None:
    """executed_actions: one entry per answer, each (seq, resumed, requestType, actions run),
    its PerCL equal to what the caller heard, received before answered, a non-negative duration."""
    log = activeflow["executed_actions"]
    assert len(log) == len(heard) == len(steps)
    for entry, document, (seq, resumed, request_type, actions) in zip(log, heard, steps, strict=True):
        assert entry["seq"] == seq
        assert entry["resumed"] == resumed
        assert entry["webhook"]["request_type"] == request_type
        assert entry["webhook"]["call_id"] == activeflow["call_id"]
        assert entry["actions"] == actions
        assert entry["percl"] == document
        assert TIMESTAMP.fullmatch(entry["tm_received"]) and TIMESTAMP.fullmatch(entry["tm_answered"])
        assert entry["tm_received"] <= entry["tm_answered"]
        assert isinstance(entry["duration_ms"], (int, float)) and entry["duration_ms"] >= 0


def check_running_header(activeflow: dict[str, Any], caller: Caller, flow: str, app: Any) -> None:
    assert str(uuid.UUID(activeflow["id"])) == activeflow["id"]
    assert activeflow["call_id"] == caller.call_id
    assert activeflow["flow_id"] == flow_id(app, flow)
    assert activeflow["flow_name"] == flow
    assert activeflow["variables"]["call.to"] == caller.to
    assert activeflow["variables"]["call.id"] == caller.call_id
    assert activeflow["error"] is None


def check_waiting(activeflow: dict[str, Any], kind: str, node: str, seq: int) -> None:
    assert activeflow["status"] == "waiting"
    assert activeflow["current_action"] == node
    assert activeflow["waiting"] == {"kind": kind, "node": node, "seq": seq}
    assert activeflow["seq"] == seq
    assert activeflow["tm_end"] is None


def check_ended(activeflow: dict[str, Any], node: str) -> None:
    assert activeflow["status"] == "ended"
    assert activeflow["waiting"] is None
    assert activeflow["current_action"] == node
    assert activeflow["tm_end"] is not None and TIMESTAMP.fullmatch(activeflow["tm_end"])


def check_recording_started(entry: dict[str, Any], caller: Caller, activeflow: dict[str, Any], *,
                            owner: str | None, on_end: str) -> None:
    """A flow's Recording entry while FreeClimb records: bound to the activeflow and its owner."""
    assert entry["status"] == "recording"
    assert entry["activeflow_id"] == activeflow["id"]
    assert entry["call_id"] == caller.call_id
    assert entry["to"] == caller.to
    assert (entry["owner_type"], entry["owner_id"]) == (("agent", owner) if owner else ("", NIL))
    assert entry["on_end_flow_id"] == on_end
    assert entry["recording_id"] is None and entry["recording_url"] is None
    assert entry["tm_start"] != NOT_YET and entry["tm_end"] == NOT_YET


def check_recording_ended(entry: dict[str, Any], recording_id: str, *, status: str = "ended") -> None:
    """A Recording entry completed by FreeClimb's record callback (tests.freeclimb.record's values)."""
    assert entry["status"] == status
    assert entry["recording_id"] == recording_id
    assert entry["recording_url"] == (f"https://www.freeclimb.com/apiserver/Accounts/"
                                      f"{tests.freeclimb.ACCOUNT_ID}/Recordings/{recording_id}/Download")
    assert entry["recording_size"] == 96044
    assert entry["duration_sec"] == 6
    assert entry["term_reason"] == "finishKey"
    assert entry["tm_end"] != NOT_YET


# --- voicemail --------------------------------------------------------------------------------


def test_voicemail_full_call(app, client, store):
    """A call to an unmapped number hears the greeting, records a message and hears thanks and goodbye, with the activeflow and Recording entry stored at each step."""
    caller = Caller(client, store, VOICEMAIL_NUMBER)
    first = caller.dial()
    url = first[1]["RecordUtterance"]["actionUrl"]
    assert first == [say(VOICEMAIL_GREETING), record_utterance(url, 120)]
    entry_id = record_entry_id(url)

    activeflow = caller.activeflow()
    check_running_header(activeflow, caller, "voicemail", app)
    check_waiting(activeflow, "record", "1", 1)
    assert activeflow["recordings"] == {entry_id: 1}
    assert activeflow["call_ended"] is False
    check_log(activeflow, caller.heard, [(1, None, "inboundCall", ["voicemail:0", "voicemail:1"])])
    (entry,) = caller.recordings()
    assert entry["id"] == entry_id
    check_recording_started(entry, caller, activeflow, owner=None, on_end=NIL)

    recording_id = freeclimb_id("RE")
    assert caller.finish_recording(recording_id) == [say(VOICEMAIL_THANKS), HANGUP]

    activeflow = caller.activeflow()
    check_running_header(activeflow, caller, "voicemail", app)
    check_ended(activeflow, "3")
    assert activeflow["seq"] == 2
    assert activeflow["variables"]["recording.id"] == recording_id
    assert activeflow["variables"]["recording.size"] == 96044
    assert activeflow["variables"]["recording.duration"] == 6
    check_log(activeflow, caller.heard, [
        (1, None, "inboundCall", ["voicemail:0", "voicemail:1"]),
        (2, 1, "record", ["voicemail:2", "voicemail:3"]),
    ])
    (entry,) = caller.recordings()
    assert entry["id"] == entry_id and entry["activeflow_id"] == activeflow["id"]
    assert (entry["owner_type"], entry["owner_id"], entry["on_end_flow_id"]) == ("", NIL, NIL)
    check_recording_ended(entry, recording_id)
    assert activeflow["variables"]["recording.url"] == entry["recording_url"]


def test_voicemail_hangup_during_recording(app, client, store):
    """The caller hangs up while recording: the entry goes stopping then ended, the activeflow ends, and the late record callback is still answered with valid PerCL."""
    caller = Caller(client, store, VOICEMAIL_NUMBER)
    caller.dial()
    entry_id = record_entry_id(caller.next_url())

    caller.hang_up()
    (entry,) = caller.recordings()
    assert entry["id"] == entry_id
    assert entry["status"] == "stopping"
    assert entry["call_status"] == "completed"
    activeflow = caller.activeflow()
    # the flow waits for the recording's callback, which FreeClimb still sends
    check_waiting(activeflow, "record", "1", 1)
    assert activeflow["call_ended"] is True
    assert len(activeflow["executed_actions"]) == 1

    recording_id = freeclimb_id("RE")
    late = caller.finish_recording(recording_id, callStatus="completed")
    assert late == [HANGUP]  # no thanks: nobody is left to hear it

    (entry,) = caller.recordings()
    check_recording_ended(entry, recording_id)
    assert entry["activeflow_id"] == activeflow["id"]
    activeflow = caller.activeflow()
    assert activeflow["status"] == "ended"
    assert activeflow["waiting"] is None
    assert activeflow["call_ended"] is True
    assert activeflow["current_action"] == "1"  # the thanks never ran
    assert activeflow["seq"] == 2
    assert activeflow["tm_end"] is not None and TIMESTAMP.fullmatch(activeflow["tm_end"])
    assert activeflow["variables"]["recording.id"] == recording_id
    check_log(activeflow, caller.heard, [
        (1, None, "inboundCall", ["voicemail:0", "voicemail:1"]),
        (2, 1, "record", []),
    ])

    # FreeClimb delivers the late callback again: same answer, nothing changes
    before = copy.deepcopy(activeflow)
    again = answer(post(client, path_of(caller.urls[-1]),
                        caller.record_webhook(recording_id, callStatus="completed")))
    assert again == late
    assert caller.activeflow() == before
    assert store.recordings.count() == 1


def test_voicemail_duplicate_record_callback(app, client, store):
    """A record callback delivered twice gets the same answer, keeps one entry and does not advance the activeflow twice."""
    caller = Caller(client, store, VOICEMAIL_NUMBER)
    caller.dial()
    url = caller.next_url()
    recording_id = freeclimb_id("RE")
    first = caller.finish_recording(recording_id)
    before = copy.deepcopy(caller.activeflow())
    entries_before = caller.recordings()

    again = answer(post(client, path_of(url), caller.record_webhook(recording_id)))
    assert again == first == [say(VOICEMAIL_THANKS), HANGUP]

    after = caller.activeflow()
    assert len(after["executed_actions"]) == len(before["executed_actions"]) == 2
    assert after == before
    assert caller.recordings() == entries_before
    assert store.recordings.count() == 1
    check_recording_ended(entries_before[0], recording_id)


def test_voicemail_duplicate_inbound_call(app, client, store):
    """An inboundCall webhook delivered twice gets the same answer and makes one activeflow and one entry."""
    caller = Caller(client, store, VOICEMAIL_NUMBER)
    first = caller.dial()
    before = copy.deepcopy(caller.activeflow())

    again = answer(post(client, "/freeclimb/voice", inbound_call(caller.call_id, to=caller.to)))
    assert again == first

    assert [af["call_id"] for af in store.activeflows.all()] == [caller.call_id]
    assert caller.activeflow() == before
    assert len(caller.recordings()) == 1 and store.recordings.count() == 1


# --- departments ------------------------------------------------------------------------------


DEPARTMENTS = pytest.mark.parametrize(("digit", "node", "intro", "record_node", "max_length", "owner"), [
    ("1", "sales", SALES, "2", 180, SALES_OWNER),
    ("2", "support", SUPPORT, "4", 300, SUPPORT_OWNER),
    ("0", "general", GENERAL, "6", 120, None),
], ids=["sales", "support", "general"])


@DEPARTMENTS
def test_departments_choice_reaches_the_owners_mailbox(app, client, store, digit, node, intro,
                                                        record_node, max_length, owner):
    """Pressing a department's digit records a message owned by that department's agent, then runs message-taken."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER)
    first = caller.dial()
    activeflow = caller.activeflow()
    af_id = activeflow["id"]
    assert first == [menu(step_url(af_id, 1))]
    check_running_header(activeflow, caller, "departments", app)
    check_waiting(activeflow, "menu", "main-menu", 1)
    assert caller.recordings() == []

    heard = caller.press(digit)
    url = heard[1]["RecordUtterance"]["actionUrl"]
    assert heard == [say(intro), record_utterance(url, max_length)]
    entry_id = record_entry_id(url)
    activeflow = caller.activeflow()
    check_running_header(activeflow, caller, "departments", app)
    check_waiting(activeflow, "record", record_node, 2)
    assert activeflow["variables"]["digits"] == digit
    assert activeflow["variables"]["department"] == digit
    assert activeflow["attempts"] == {}
    (entry,) = caller.recordings()
    assert entry["id"] == entry_id
    check_recording_started(entry, caller, activeflow, owner=owner,
                            on_end=flow_id(app, "message-taken"))

    recording_id = freeclimb_id("RE")
    assert caller.finish_recording(recording_id) == [say(MESSAGE_TAKEN), HANGUP]

    activeflow = caller.activeflow()
    check_running_header(activeflow, caller, "message-taken", app)
    check_ended(activeflow, "1")
    assert activeflow["id"] == af_id
    assert activeflow["variables"]["department"] == digit
    assert activeflow["variables"]["recording.id"] == recording_id
    check_log(activeflow, caller.heard, [
        (1, None, "inboundCall", ["departments:main-menu"]),
        (2, 1, "getDigits", [f"departments:{node}", f"departments:{record_node}"]),
        (3, 2, "record", ["message-taken:0", "message-taken:1"]),
    ])
    (entry,) = caller.recordings()
    check_recording_ended(entry, recording_id)
    assert entry["activeflow_id"] == af_id
    assert (entry["owner_type"], entry["owner_id"]) == (("agent", owner) if owner else ("", NIL))
    assert entry["on_end_flow_id"] == flow_id(app, "message-taken")


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_departments_timeout_then_valid_choice(app, client, store, form):
    """A menu timeout says so and asks again; a choice after it reaches support (JSON or form webhooks)."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER, form=form)
    caller.dial()
    af_id = caller.activeflow()["id"]

    assert caller.wait_out() == [say(NO_CHOICE), menu(step_url(af_id, 2))]
    activeflow = caller.activeflow()
    check_waiting(activeflow, "menu", "main-menu", 2)
    assert activeflow["attempts"] == {"main-menu": 1}
    assert activeflow["variables"]["digits"] == ""
    assert "department" not in activeflow["variables"]

    heard = caller.press("2")
    url = heard[1]["RecordUtterance"]["actionUrl"]
    assert heard == [say(SUPPORT), record_utterance(url, 300)]
    activeflow = caller.activeflow()
    check_waiting(activeflow, "record", "4", 3)
    assert activeflow["attempts"] == {}
    assert activeflow["variables"]["department"] == "2"
    check_log(activeflow, caller.heard, [
        (1, None, "inboundCall", ["departments:main-menu"]),
        (2, 1, "getDigits", ["departments:main-menu/timeout/0", "departments:main-menu"]),
        (3, 2, "getDigits", ["departments:support", "departments:4"]),
    ])
    (entry,) = caller.recordings()
    check_recording_started(entry, caller, activeflow, owner=SUPPORT_OWNER,
                            on_end=flow_id(app, "message-taken"))


def test_departments_invalid_digit_then_valid_choice(app, client, store):
    """An unknown digit is named back to the caller with the menu again; a valid choice after it reaches sales."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER)
    caller.dial()
    af_id = caller.activeflow()["id"]

    assert caller.press("7") == [say("Sorry, 7 is not one of the choices."), menu(step_url(af_id, 2))]
    activeflow = caller.activeflow()
    check_waiting(activeflow, "menu", "main-menu", 2)
    assert activeflow["attempts"] == {"main-menu": 1}
    assert activeflow["variables"]["digits"] == "7"
    assert "department" not in activeflow["variables"]
    assert caller.recordings() == []

    heard = caller.press("1")
    assert heard[0] == say(SALES)
    activeflow = caller.activeflow()
    check_waiting(activeflow, "record", "2", 3)
    assert activeflow["variables"]["department"] == "1"
    check_log(activeflow, caller.heard, [
        (1, None, "inboundCall", ["departments:main-menu"]),
        (2, 1, "getDigits", ["departments:main-menu/invalid/0", "departments:main-menu"]),
        (3, 2, "getDigits", ["departments:sales", "departments:2"]),
    ])

    recording_id = freeclimb_id("RE")
    assert caller.finish_recording(recording_id) == [say(MESSAGE_TAKEN), HANGUP]
    (entry,) = caller.recordings()
    check_recording_ended(entry, recording_id)
    assert (entry["owner_type"], entry["owner_id"]) == ("agent", SALES_OWNER)
    assert entry["activeflow_id"] == af_id
    check_ended(caller.activeflow(), "1")


def test_departments_retries_exhausted_reach_the_general_message(app, client, store):
    """Three timeouts exhaust the menu's two retries: the fallback takes a general message, which ends in message-taken."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER)
    caller.dial()
    af_id = caller.activeflow()["id"]

    assert caller.wait_out() == [say(NO_CHOICE), menu(step_url(af_id, 2))]
    assert caller.activeflow()["attempts"] == {"main-menu": 1}
    assert caller.wait_out() == [say(NO_CHOICE), menu(step_url(af_id, 3))]
    assert caller.activeflow()["attempts"] == {"main-menu": 2}
    heard = caller.wait_out()
    url = heard[2]["RecordUtterance"]["actionUrl"]
    assert heard == [say(FALLBACK), say(GENERAL), record_utterance(url, 120)]

    activeflow = caller.activeflow()
    check_running_header(activeflow, caller, "departments", app)
    check_waiting(activeflow, "record", "6", 4)
    assert activeflow["attempts"] == {}
    assert "department" not in activeflow["variables"]
    timeout = ["departments:main-menu/timeout/0", "departments:main-menu"]
    check_log(activeflow, caller.heard, [
        (1, None, "inboundCall", ["departments:main-menu"]),
        (2, 1, "getDigits", timeout),
        (3, 2, "getDigits", timeout),
        (4, 3, "getDigits", ["departments:main-menu/fallback/0", "departments:main-menu/fallback/1",
                             "departments:general", "departments:6"]),
    ])
    (entry,) = caller.recordings()
    assert entry["id"] == record_entry_id(url)
    check_recording_started(entry, caller, activeflow, owner=None, on_end=flow_id(app, "message-taken"))

    recording_id = freeclimb_id("RE")
    assert caller.finish_recording(recording_id) == [say(MESSAGE_TAKEN), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow, "1")
    assert activeflow["flow_id"] == flow_id(app, "message-taken")
    (entry,) = caller.recordings()
    check_recording_ended(entry, recording_id)
    assert (entry["activeflow_id"], entry["owner_type"], entry["owner_id"]) == (af_id, "", NIL)
    assert entry["on_end_flow_id"] == flow_id(app, "message-taken")


def test_departments_duplicate_get_digits_for_an_old_step(app, client, store):
    """A getDigits callback repeated for a step already answered gets its original answer and changes nothing."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER)
    caller.dial()
    invalid = caller.press("9")
    chosen = caller.press("2")
    before = copy.deepcopy(caller.activeflow())
    entries_before = caller.recordings()
    step1, step2 = caller.urls

    assert answer(post(client, path_of(step1), caller.get_digits("9", "maxDigits"))) == invalid
    assert answer(post(client, path_of(step2), caller.get_digits("2", "maxDigits"))) == chosen
    # even with other digits: a step answers once
    assert answer(post(client, path_of(step1), caller.get_digits("1", "maxDigits"))) == invalid

    assert caller.activeflow() == before
    assert caller.recordings() == entries_before
    assert len(entries_before) == 1


@pytest.mark.parametrize("seq", [0, 2, 99])
def test_departments_get_digits_for_a_step_never_issued_is_409(app, client, store, seq):
    """A getDigits callback to a step number the activeflow never handed out is refused 409 and changes nothing."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER)
    caller.dial()
    activeflow = caller.activeflow()
    before = copy.deepcopy(activeflow)

    response = post(client, f"/freeclimb/flows/{activeflow['id']}/{seq}",
                    caller.get_digits("1", "maxDigits"))
    body = refusal(response, 409)
    assert body["error"] == "conflict"
    assert str(seq) in body["message"]
    assert caller.activeflow() == before


def test_departments_callback_for_another_calls_activeflow_is_400(app, client, store):
    """A getDigits callback carrying another call's callId is refused 400 and changes neither call."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER)
    other = Caller(client, store, DEPARTMENTS_NUMBER)
    caller.dial()
    other.dial()
    before = copy.deepcopy(caller.activeflow())
    other_before = copy.deepcopy(other.activeflow())

    response = post(client, path_of(caller.next_url()), other.get_digits("1", "maxDigits"))
    body = refusal(response, 400)
    assert body["error"] == "invalid_webhook"
    assert body["message"].startswith("callId")

    assert caller.activeflow() == before
    assert other.activeflow() == other_before
    assert store.recordings.count() == 0


def test_departments_hangup_during_recording(app, client, store):
    """A caller who hangs up while leaving a sales message keeps the message in the sales mailbox; the activeflow ends without running message-taken."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER)
    caller.dial()
    caller.press("1")
    af_id = caller.activeflow()["id"]
    caller.hang_up()

    (entry,) = caller.recordings()
    assert entry["status"] == "stopping"
    activeflow = caller.activeflow()
    check_waiting(activeflow, "record", "2", 2)
    assert activeflow["call_ended"] is True

    recording_id = freeclimb_id("RE")
    assert caller.finish_recording(recording_id, callStatus="completed") == [HANGUP]
    (entry,) = caller.recordings()
    check_recording_ended(entry, recording_id)
    assert (entry["activeflow_id"], entry["owner_type"], entry["owner_id"]) == (af_id, "agent", SALES_OWNER)
    assert entry["on_end_flow_id"] == flow_id(app, "message-taken")
    activeflow = caller.activeflow()
    assert activeflow["status"] == "ended" and activeflow["waiting"] is None
    check_running_header(activeflow, caller, "departments", app)  # message-taken never ran
    assert activeflow["current_action"] == "2"
    check_log(activeflow, caller.heard, [
        (1, None, "inboundCall", ["departments:main-menu"]),
        (2, 1, "getDigits", ["departments:sales", "departments:2"]),
        (3, 2, "record", []),
    ])


def test_departments_hangup_while_the_menu_waits(app, client, store):
    """A completed callStatus while the menu waits ends the activeflow without a recording."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER)
    caller.dial()
    caller.hang_up()

    activeflow = caller.activeflow()
    check_ended(activeflow, "main-menu")
    assert activeflow["call_ended"] is True
    assert activeflow["seq"] == 2
    first, abandoned = activeflow["executed_actions"]
    assert (first["seq"], first["resumed"], first["percl"]) == (1, None, caller.heard[0])
    # the wait the hangup abandoned is answered with Hangup, should its callback still come
    assert (abandoned["seq"], abandoned["resumed"], abandoned["percl"]) == (2, 1, [HANGUP])
    assert abandoned["webhook"]["request_type"] == "callStatus"
    assert caller.recordings() == []
    late = post(client, path_of(caller.next_url()),
                {"requestType": "getDigits", "callId": caller.call_id, "digits": "1", "reason": "maxDigits"})
    assert late.status_code == 200 and late.get_json() == [HANGUP]
    assert len(caller.activeflow()["executed_actions"]) == 2
    activeflow = caller.activeflow()

    # a second callStatus changes nothing
    before = copy.deepcopy(activeflow)
    caller.hang_up()
    assert caller.activeflow() == before


def test_record_webhook_to_a_flow_step_is_400_naming_request_type(app, client, store):
    """A record webhook posted to a flow step URL is refused 400 naming requestType, and the menu still waits."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER)
    caller.dial()
    before = copy.deepcopy(caller.activeflow())

    response = post(client, path_of(caller.next_url()), caller.record_webhook(freeclimb_id("RE")))
    body = refusal(response, 400)
    assert body["error"] == "invalid_webhook"
    assert body["message"].startswith("requestType")
    assert "'record'" in body["message"]
    assert caller.activeflow() == before
    assert store.recordings.count() == 0


def test_get_digits_to_a_step_waiting_for_a_recording_is_400_naming_request_type(app, client, store):
    """A getDigits webhook posted to the step that waits for a recording is refused 400 naming requestType, and the recording still waits."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER)
    caller.dial()
    caller.press("2")
    activeflow = caller.activeflow()
    before = copy.deepcopy(activeflow)
    entries_before = caller.recordings()

    response = post(client, f"/freeclimb/flows/{activeflow['id']}/{activeflow['seq']}",
                    caller.get_digits("1", "maxDigits"))
    body = refusal(response, 400)
    assert body["error"] == "invalid_webhook"
    assert body["message"].startswith("requestType")
    assert "'getDigits'" in body["message"]
    assert caller.activeflow() == before
    assert caller.recordings() == entries_before


@pytest.mark.parametrize("activeflow_id", [
    "not-a-uuid", "12345", "6F1D3C52-7D0E-4A53-9B64-2F0E8A1C5B7D", str(uuid.uuid4()),
], ids=["word", "number", "uppercase-uuid", "unknown-uuid"])
def test_unknown_activeflow_id_is_404_json(app, client, store, activeflow_id):
    """A flow step URL whose activeflow id is not a canonical UUID, or names no activeflow, is refused 404 with JSON."""
    caller = Caller(client, store, DEPARTMENTS_NUMBER)
    response = post(client, f"/freeclimb/flows/{activeflow_id}/1", caller.get_digits("1", "maxDigits"))
    body = refusal(response, 404)
    assert body["error"] == "not_found"
    assert store.activeflows.all() == []


# --- front-desk (after hours) -----------------------------------------------------------------

# January: Chicago is UTC-6.
WEDNESDAY_10_CHICAGO = datetime(2025, 1, 15, 16, 0, tzinfo=UTC)
WEDNESDAY_20_CHICAGO = datetime(2025, 1, 16, 2, 0, tzinfo=UTC)  # already Thursday in UTC
SATURDAY_10_CHICAGO = datetime(2025, 1, 18, 16, 0, tzinfo=UTC)
# July: Chicago is UTC-5.
FRIDAY_16_30_CHICAGO_SUMMER = datetime(2025, 7, 18, 21, 30, tzinfo=UTC)


@pytest.mark.parametrize("moment", [WEDNESDAY_10_CHICAGO, FRIDAY_16_30_CHICAGO_SUMMER],
                         ids=["wednesday-10", "friday-16-30-summer"])
def test_front_desk_in_office_hours_reaches_the_department_menu(app, client, store, moment):
    """During office hours in Chicago the front desk hands the call to the department menu, which then runs as usual."""
    set_clock(app, moment)
    caller = Caller(client, store, FRONT_DESK_NUMBER)
    first = caller.dial()
    activeflow = caller.activeflow()
    af_id = activeflow["id"]
    assert first == [menu(step_url(af_id, 1))]
    check_running_header(activeflow, caller, "departments", app)
    check_waiting(activeflow, "menu", "main-menu", 1)
    check_log(activeflow, caller.heard, [
        (1, None, "inboundCall", ["front-desk:0", "front-desk:0/case:0/0", "departments:main-menu"]),
    ])

    heard = caller.press("1")
    assert heard[0] == say(SALES)
    recording_id = freeclimb_id("RE")
    assert caller.finish_recording(recording_id) == [say(MESSAGE_TAKEN), HANGUP]
    (entry,) = caller.recordings()
    check_recording_ended(entry, recording_id)
    assert (entry["activeflow_id"], entry["owner_type"], entry["owner_id"]) == (af_id, "agent", SALES_OWNER)
    assert entry["on_end_flow_id"] == flow_id(app, "message-taken")
    check_ended(caller.activeflow(), "1")


@pytest.mark.parametrize("moment", [SATURDAY_10_CHICAGO, WEDNESDAY_20_CHICAGO],
                         ids=["saturday-10", "wednesday-20"])
def test_front_desk_after_hours_takes_a_voicemail(app, client, store, moment):
    """Outside office hours the caller hears the closed message, then the voicemail greeting, and the message recorded carries the front-desk call's activeflow id."""
    set_clock(app, moment)
    caller = Caller(client, store, FRONT_DESK_NUMBER)
    first = caller.dial()
    url = first[2]["RecordUtterance"]["actionUrl"]
    assert first == [say(CLOSED), say(VOICEMAIL_GREETING), record_utterance(url, 120)]

    activeflow = caller.activeflow()
    af_id = activeflow["id"]
    check_running_header(activeflow, caller, "voicemail", app)
    check_waiting(activeflow, "record", "1", 1)
    assert activeflow["tm_create"] == activeflow["tm_update"] == moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    check_log(activeflow, caller.heard, [
        (1, None, "inboundCall", ["front-desk:0", "front-desk:0/else/0", "front-desk:0/else/1",
                                  "voicemail:0", "voicemail:1"]),
    ])
    (entry,) = caller.recordings()
    assert entry["id"] == record_entry_id(url)
    check_recording_started(entry, caller, activeflow, owner=None, on_end=NIL)

    recording_id = freeclimb_id("RE")
    assert caller.finish_recording(recording_id) == [say(VOICEMAIL_THANKS), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow, "3")
    assert activeflow["id"] == af_id
    check_log(activeflow, caller.heard, [
        (1, None, "inboundCall", ["front-desk:0", "front-desk:0/else/0", "front-desk:0/else/1",
                                  "voicemail:0", "voicemail:1"]),
        (2, 1, "record", ["voicemail:2", "voicemail:3"]),
    ])
    (entry,) = caller.recordings()
    check_recording_ended(entry, recording_id)
    assert entry["activeflow_id"] == af_id
    assert [af["id"] for af in store.activeflows.all()] == [af_id]
