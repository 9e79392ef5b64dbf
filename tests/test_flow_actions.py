"""Every flow action, each in a small flow file of its own, played through the HTTP routes.

Each test writes a flow YAML into its temporary directory, starts the app on it and plays
FreeClimb's side of a call with signed webhooks. Every answer must be PerCL that FreeClimb's
own SDK accepts; the stored activeflow is checked after the steps that change it.
"""

from __future__ import annotations

import json
import re
import textwrap
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from app import create_app
from tests.freeclimb import (
    ACCOUNT_ID,
    SECRET,
    call_fields,
    call_status,
    freeclimb_id,
    path_of,
    post,
    record,
)
from tests.oracle import sdk_accepts_script

BASE_URL = "https://voice.example.com"
CALLER_NUMBER = "+13125550100"
CALLED_NUMBER = "+13125550199"
AGENT_NUMBER = "+13125550142"
NIL = "00000000-0000-0000-0000-000000000000"
SORRY = "Sorry, something went wrong. Goodbye."
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")
HANGUP = {"Hangup": {}}

_ENV_SETTINGS = ("FLOWS_PATH", "VOICEMAIL_GREETING", "VOICEMAIL_THANKS", "VOICEMAIL_MAX_LENGTH_SEC",
                 "VOICEMAIL_FINISH_KEY", "VOICEMAIL_PLAY_BEEP", "VOICEMAIL_LANGUAGE",
                 "PUBLIC_BASE_URL", "SIGNATURE_TOLERANCE_S", "FREECLIMB_SIGNING_SECRET", "DATA_DIR")


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """Start the app on a flow file written from the YAML text given (dedented)."""
    for name in _ENV_SETTINGS:
        monkeypatch.delenv(name, raising=False)

    def make(flow_yaml: str) -> Any:
        file = tmp_path / "flows.yaml"
        file.write_text(textwrap.dedent(flow_yaml), encoding="utf-8")
        return create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"),
                           "FREECLIMB_SIGNING_SECRET": SECRET, "PUBLIC_BASE_URL": BASE_URL,
                           "FLOWS_PATH": str(file)})
    return make


def one_flow(actions: str, name: str = "main") -> str:
    """A flow file holding one flow (the default) with the actions given as YAML list items."""
    body = textwrap.indent(textwrap.dedent(actions).strip("\n"), " " * 6)
    return f"flows:\n  - name: {name}\n    actions:\n{body}\ndefault: {name}\n"


def set_clock(app: Any, moment: datetime) -> None:
    assert moment.tzinfo is not None
    app.extensions["flow_engine"].clock = lambda: moment


def flow_id(app: Any, name: str) -> str:
    return app.extensions["flows"].flows[name].id


# --- PerCL as the callers should hear it ----------------------------------------------------


def say(text: str, **attributes: Any) -> dict[str, Any]:
    return {"Say": {"text": text, **attributes}}


def step_url(activeflow: dict[str, Any], seq: int, leg: str | None = None) -> str:
    url = f"{BASE_URL}/freeclimb/flows/{activeflow['id']}/{seq}"
    return f"{url}/{leg}" if leg else url


def answer(response: Any, *, empty: bool = False) -> list[dict[str, Any]]:
    """The PerCL of a 200 JSON answer, after FreeClimb's SDK has accepted it."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert isinstance(document, list)
    assert (document == []) if empty else document, document
    sdk_accepts_script(document)
    return document


class Caller:
    """One call played from FreeClimb's side; every answer is checked by the SDK."""

    def __init__(self, app: Any, *, from_: str = CALLER_NUMBER, to: str = CALLED_NUMBER) -> None:
        self.app = app
        self.client = app.test_client()
        self.store = app.extensions["store"]
        self.call_id = freeclimb_id("CA")
        self.from_, self.to = from_, to
        self.last: list[dict[str, Any]] = []

    def webhook(self, request_type: str, **fields: Any) -> dict[str, Any]:
        return {"requestType": request_type,
                **call_fields(self.call_id, **{"from": self.from_, "to": self.to}), **fields}

    def send(self, url: str, body: dict[str, Any], *, empty: bool = False) -> list[dict[str, Any]]:
        document = answer(post(self.client, path_of(url), body), empty=empty)
        self.last = document
        return document

    def next_url(self) -> str:
        """The actionUrl of the last command of the previous answer."""
        (_, attributes), = self.last[-1].items()
        assert "actionUrl" in attributes, f"the call was not left waiting: {self.last}"
        return attributes["actionUrl"]

    def dial(self) -> list[dict[str, Any]]:
        return self.send("/freeclimb/voice", self.webhook("inboundCall"))

    def press(self, digits: str) -> list[dict[str, Any]]:
        assert "GetDigits" in self.last[-1]
        return self.send(self.next_url(), self.webhook("getDigits", digits=digits, reason="maxDigits"))

    def wait_out(self) -> list[dict[str, Any]]:
        assert "GetDigits" in self.last[-1]
        return self.send(self.next_url(), self.webhook("getDigits", digits=None, reason="timeout"))

    def speak(self, result: str | None, reason: str = "recognition",
              confidence: int | None = 87) -> list[dict[str, Any]]:
        assert "GetSpeech" in self.last[-1]
        return self.send(self.next_url(), self.webhook(
            "getSpeech", reason=reason, recognitionResult=result, confidence=confidence))

    def transcribed(self, transcript: str, recording_id: str) -> list[dict[str, Any]]:
        assert "TranscribeUtterance" in self.last[-1]
        return self.send(self.next_url(), self.webhook(
            "transcribe", recordingId=recording_id, recordingUrl=recording_url(recording_id),
            recordingSize="32044", recordingDurationMs=3200, termReason="completed",
            transcript=transcript))

    def recorded(self, recording_id: str) -> list[dict[str, Any]]:
        assert "RecordUtterance" in self.last[-1]
        return self.send(self.next_url(), record(self.call_id, recording_id, **{
            "from": self.from_, "to": self.to}))

    def hang_up(self) -> None:
        response = post(self.client, "/freeclimb/status", call_status(self.call_id, to=self.to))
        assert response.status_code == 204, response.get_data(as_text=True)

    def activeflow(self) -> dict[str, Any]:
        found = self.store.activeflows.for_call(self.call_id)
        assert found is not None
        return found


def recording_url(recording_id: str) -> str:
    return f"https://www.freeclimb.com/apiserver/Accounts/{ACCOUNT_ID}/Recordings/{recording_id}/Download"


def check_waiting(activeflow: dict[str, Any], kind: str, node: str, seq: int) -> None:
    assert activeflow["status"] == "waiting"
    assert activeflow["current_action"] == node
    assert activeflow["seq"] == seq
    assert activeflow["waiting"]["kind"] == kind
    assert activeflow["waiting"]["node"] == node
    assert activeflow["waiting"]["seq"] == seq
    assert activeflow["tm_end"] is None
    assert activeflow["error"] is None


def check_ended(activeflow: dict[str, Any], *, error: bool = False) -> None:
    assert activeflow["status"] == "ended"
    assert activeflow["waiting"] is None
    assert activeflow["tm_end"] is not None and TIMESTAMP.fullmatch(activeflow["tm_end"])
    if error:
        assert isinstance(activeflow["error"], str) and activeflow["error"]
    else:
        assert activeflow["error"] is None


# --- say, play, pause and placeholders ------------------------------------------------------


def test_say_play_pause_with_options_come_in_order_before_the_waiting_command(make_app):
    """say, play and pause are emitted with their options, in flow order, before the menu that waits."""
    app = make_app(one_flow("""
        - say: {text: Bonjour, language: fr-FR, loop: 2, privacy_mode: true}
        - play: {file: "https://cdn.example.com/chime.wav", loop: 3, privacy_mode: false}
        - pause: 1500
        - say: Welcome
        - play: https://cdn.example.com/music.wav
        - menu: {prompt: Press a key, max_digits: 1}
        - hangup:
    """))
    caller = Caller(app)
    document = caller.dial()
    activeflow = caller.activeflow()
    assert document == [
        say("Bonjour", language="fr-FR", loop=2, privacyMode=True),
        {"Play": {"file": "https://cdn.example.com/chime.wav", "loop": 3, "privacyMode": False}},
        {"Pause": {"length": 1500}},
        say("Welcome"),
        {"Play": {"file": "https://cdn.example.com/music.wav"}},
        {"GetDigits": {"actionUrl": step_url(activeflow, 1), "prompts": [say("Press a key")],
                       "maxDigits": 1}},
    ]
    check_waiting(activeflow, "menu", "5", 1)
    assert activeflow["executed_actions"][0]["actions"] == [f"main:{i}" for i in range(6)]
    assert activeflow["executed_actions"][0]["percl"] == document


def test_call_placeholders_render_and_a_placeholder_without_value_renders_empty(make_app):
    """{{ call.from }} and {{ call.to }} render the call's numbers, and {{ digits }} before any menu renders empty."""
    app = make_app(one_flow("""
        - say: "Call from {{ call.from }} to {{ call.to }}, id {{call.id}}."
        - say: "You pressed [{{ digits }}]."
        - menu: {prompt: "Caller {{ call.from }}, press a key.", options: {"7": [{say: Seven.}]}}
        - say: "You pressed [{{ digits }}]."
        - hangup:
    """))
    caller = Caller(app, from_="+447700900123", to="+13125550177")
    document = caller.dial()
    assert document[:2] == [say(f"Call from +447700900123 to +13125550177, id {caller.call_id}."),
                            say("You pressed [].")]
    assert document[2]["GetDigits"]["prompts"] == [say("Caller +447700900123, press a key.")]
    assert caller.press("7") == [say("Seven."), say("You pressed [7]."), HANGUP]
    check_ended(caller.activeflow())


def test_set_variables_render_in_later_text_and_are_stored(make_app):
    """set stores rendered values on the activeflow, and later text and later sets use them."""
    app = make_app(one_flow("""
        - set: {name: Ada}
        - set: {greeting: "Hello {{ name }}"}
        - set: {line: "{{ greeting }} on {{ call.to }}", name: Grace}
        - say: "{{ line }}; now {{ name }}."
        - hangup:
    """))
    caller = Caller(app)
    assert caller.dial() == [say(f"Hello Ada on {CALLED_NUMBER}; now Grace."), HANGUP]
    variables = caller.activeflow()["variables"]
    assert variables["name"] == "Grace"
    assert variables["greeting"] == "Hello Ada"
    assert variables["line"] == f"Hello Ada on {CALLED_NUMBER}"
    assert variables["call.from"] == CALLER_NUMBER


# --- menu -----------------------------------------------------------------------------------


def test_menu_get_digits_carries_every_option_and_its_prompt_as_say(make_app):
    """A menu becomes GetDigits with each option given, the prompt nested as Say, resuming at the step URL."""
    app = make_app(one_flow("""
        - name: pin
          menu:
            prompt: Enter your PIN then pound.
            max_digits: 6
            min_digits: 4
            initial_timeout_ms: 8000
            digit_timeout_ms: 3000
            finish_on_key: "#"
            flush_buffer: true
            privacy_mode: true
            capture: pin
        - hangup:
    """))
    caller = Caller(app)
    document = caller.dial()
    activeflow = caller.activeflow()
    assert document == [{"GetDigits": {
        "actionUrl": step_url(activeflow, 1), "prompts": [say("Enter your PIN then pound.")],
        "initialTimeoutMs": 8000, "digitTimeoutMs": 3000, "maxDigits": 6, "minDigits": 4,
        "finishOnKey": "#", "flushBuffer": True, "privacyMode": True}}]
    check_waiting(activeflow, "menu", "pin", 1)


def test_menu_without_prompt_is_a_bare_get_digits(make_app):
    """A menu with no prompt emits GetDigits without prompts."""
    app = make_app(one_flow("""
        - menu: {max_digits: 1}
        - hangup:
    """))
    caller = Caller(app)
    assert caller.dial() == [{"GetDigits": {"actionUrl": step_url(caller.activeflow(), 1),
                                            "maxDigits": 1}}]


def test_menu_option_by_digits_runs_its_block_and_capture_stores_the_digits(make_app):
    """The digits pressed pick their option, capture stores them, and the option's block then falls through to the action after the menu."""
    app = make_app(one_flow("""
        - menu:
            prompt: Enter an extension.
            max_digits: 2
            capture: extension
            options:
              "12":
                - say: "Extension {{ extension }}, digits {{ digits }}."
              "3":
                - say: Three.
        - say: After the menu.
        - hangup: Done
    """))
    caller = Caller(app)
    caller.dial()
    assert caller.press("12") == [say("Extension 12, digits 12."), say("After the menu."),
                                  {"Hangup": {"reason": "Done"}}]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["variables"]["extension"] == "12"
    assert activeflow["variables"]["digits"] == "12"
    assert activeflow["attempts"] == {}
    assert activeflow["current_action"] == "2"
    assert activeflow["executed_actions"][1]["resumed"] == 1
    assert activeflow["executed_actions"][1]["actions"] == ["main:0/option:12/0", "main:1", "main:2"]


def test_menu_timeout_and_invalid_blocks_play_then_the_menu_again(make_app):
    """A timeout runs the timeout block and an unknown choice the invalid block, each followed by the menu again at a new step."""
    app = make_app(one_flow("""
        - name: ask
          menu:
            prompt: Press 1.
            max_digits: 1
            retries: 3
            options:
              "1": [{say: One.}, {hangup: }]
            timeout:
              - say: I did not hear you.
            invalid:
              - say: "{{ digits }} is not a choice."
        - hangup:
    """))
    caller = Caller(app)
    caller.dial()
    activeflow = caller.activeflow()
    menu = lambda seq: {"GetDigits": {"actionUrl": step_url(activeflow, seq),  # noqa: E731
                                      "prompts": [say("Press 1.")], "maxDigits": 1}}

    assert caller.wait_out() == [say("I did not hear you."), menu(2)]
    activeflow = caller.activeflow()
    check_waiting(activeflow, "menu", "ask", 2)
    assert activeflow["attempts"] == {"ask": 1}
    assert activeflow["variables"]["digits"] == ""

    assert caller.press("9") == [say("9 is not a choice."), menu(3)]
    activeflow = caller.activeflow()
    check_waiting(activeflow, "menu", "ask", 3)
    assert activeflow["attempts"] == {"ask": 2}

    assert caller.press("1") == [say("One."), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["attempts"] == {}
    assert [step["actions"] for step in activeflow["executed_actions"]] == [
        ["main:ask"], ["main:ask/timeout/0", "main:ask"], ["main:ask/invalid/0", "main:ask"],
        ["main:ask/option:1/0", "main:ask/option:1/1"]]


def test_menu_retries_exhausted_run_the_fallback(make_app):
    """With retries 1, the second miss (timeouts and invalid choices alike) runs the fallback instead of the menu."""
    app = make_app(one_flow("""
        - name: ask
          menu:
            prompt: Press 1.
            retries: 1
            options:
              "1": [{hangup: }]
            timeout: [{say: Nothing.}]
            invalid: [{say: Wrong.}]
            fallback:
              - say: "Let us move on ({{ digits }})."
              - hangup: fallback
        - say: never reached
    """))
    caller = Caller(app)
    caller.dial()
    assert caller.press("5")[0] == say("Wrong.")
    assert caller.wait_out() == [say("Let us move on ()."), {"Hangup": {"reason": "fallback"}}]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["attempts"] == {}


def test_menu_with_no_retries_goes_to_the_fallback_at_the_first_miss(make_app):
    """retries 0 sends the first timeout straight to the fallback."""
    app = make_app(one_flow("""
        - menu:
            retries: 0
            options: {"1": [{hangup: }]}
            timeout: [{say: Nothing.}]
            fallback: [{say: Fallback.}, {hangup: }]
    """))
    caller = Caller(app)
    caller.dial()
    assert caller.wait_out() == [say("Fallback."), HANGUP]
    check_ended(caller.activeflow())


def test_menu_default_retries_are_two(make_app):
    """Without retries the menu is asked again twice, and the third miss runs the fallback."""
    app = make_app(one_flow("""
        - menu:
            options: {"1": [{hangup: }]}
            fallback: [{say: Fallback.}, {hangup: }]
    """))
    caller = Caller(app)
    caller.dial()
    assert "GetDigits" in caller.wait_out()[-1]
    assert "GetDigits" in caller.press("4")[-1]
    assert caller.wait_out() == [say("Fallback."), HANGUP]


def test_menu_without_fallback_continues_with_the_next_action(make_app):
    """When retries run out and the menu has no fallback, the action after the menu runs."""
    app = make_app(one_flow("""
        - menu:
            prompt: Press 1.
            retries: 1
            options: {"1": [{say: One.}]}
            timeout: [{say: Nothing.}]
        - say: "Next action ({{ digits }})."
        - hangup:
    """))
    caller = Caller(app)
    caller.dial()
    caller.wait_out()
    assert caller.press("8") == [say("Next action (8)."), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["attempts"] == {}


def test_menu_without_timeout_block_reprompts_directly(make_app):
    """A miss on a menu with neither timeout nor invalid block answers with the menu alone, at a new step."""
    app = make_app(one_flow("""
        - name: ask
          menu:
            prompt: Press 1.
            options: {"1": [{hangup: }]}
        - hangup:
    """))
    caller = Caller(app)
    caller.dial()
    activeflow = caller.activeflow()
    assert caller.wait_out() == [{"GetDigits": {"actionUrl": step_url(activeflow, 2),
                                                "prompts": [say("Press 1.")]}}]
    assert caller.press("2") == [{"GetDigits": {"actionUrl": step_url(activeflow, 3),
                                                "prompts": [say("Press 1.")]}}]
    activeflow = caller.activeflow()
    check_waiting(activeflow, "menu", "ask", 3)
    assert activeflow["attempts"] == {"ask": 2}


def test_menu_attempts_start_over_after_a_valid_choice(make_app):
    """A valid choice clears the miss count, so a menu visited again gets its full retries."""
    app = make_app(one_flow("""
        - name: ask
          menu:
            prompt: Press 1 to hear it again.
            retries: 1
            options: {"1": [{say: Again.}, {goto: ask}]}
            fallback: [{say: Bye.}, {hangup: }]
    """))
    caller = Caller(app)
    caller.dial()
    assert "GetDigits" in caller.wait_out()[-1]
    assert caller.activeflow()["attempts"] == {"ask": 1}
    assert caller.press("1")[0] == say("Again.")
    assert caller.activeflow()["attempts"] == {}
    assert "GetDigits" in caller.wait_out()[-1]  # a miss: one retry left again
    assert caller.wait_out() == [say("Bye."), HANGUP]


def test_menu_option_naming_an_action_or_another_flow(make_app):
    """An option naming an action jumps to it, and one naming a flow starts that flow, with the activeflow following."""
    app = make_app("""
        flows:
          - name: main
            actions:
              - menu:
                  prompt: One for here, two for there.
                  options: {"1": here, "2": other}
              - say: skipped
              - name: here
                say: Here.
              - hangup:
          - name: other
            actions:
              - say: Other flow.
              - hangup:
        default: main
    """)
    caller = Caller(app)
    caller.dial()
    assert caller.press("1") == [say("Here."), HANGUP]
    activeflow = caller.activeflow()
    assert (activeflow["flow_name"], activeflow["flow_id"]) == ("main", flow_id(app, "main"))

    caller = Caller(app)
    caller.dial()
    assert caller.press("2") == [say("Other flow."), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert (activeflow["flow_name"], activeflow["flow_id"]) == ("other", flow_id(app, "other"))
    assert activeflow["current_action"] == "1"


# --- speech_menu ----------------------------------------------------------------------------


def test_speech_menu_get_speech_carries_grammar_and_options(make_app):
    """A speech_menu becomes GetSpeech with its grammar file, type, rule and options, the prompt nested as Say."""
    app = make_app(one_flow("""
        - name: ask
          speech_menu:
            prompt: Say sales or support.
            grammar_file: https://grammars.example.com/departments.grxml
            grammar_type: URL
            grammar_rule: department
            play_beep: true
            no_input_timeout_ms: 4000
            recognition_timeout_ms: 6000
            confidence_threshold: 0.4
            sensitivity_level: 0.6
            speech_complete_timeout_ms: 900
            speech_incomplete_timeout_ms: 1500
            privacy_mode: false
            options: {sales: [{hangup: }]}
        - hangup:
    """))
    caller = Caller(app)
    document = caller.dial()
    activeflow = caller.activeflow()
    assert document == [{"GetSpeech": {
        "actionUrl": step_url(activeflow, 1),
        "grammarFile": "https://grammars.example.com/departments.grxml", "grammarType": "URL",
        "grammarRule": "department", "playBeep": True, "prompts": [say("Say sales or support.")],
        "noInputTimeoutMs": 4000, "recognitionTimeoutMs": 6000, "confidenceThreshold": 0.4,
        "sensitivityLevel": 0.6, "speechCompleteTimeoutMs": 900, "speechIncompleteTimeoutMs": 1500,
        "privacyMode": False}}]
    check_waiting(activeflow, "speech_menu", "ask", 1)


def test_speech_menu_with_a_builtin_grammar(make_app):
    """A BUILTIN grammar_type names a built-in grammar file in GetSpeech."""
    app = make_app(one_flow("""
        - speech_menu: {grammar_type: BUILTIN, grammar_file: VERSAY_YESNO,
                        options: {"yes": [{hangup: }]}}
        - hangup:
    """))
    caller = Caller(app)
    assert caller.dial() == [{"GetSpeech": {"actionUrl": step_url(caller.activeflow(), 1),
                                            "grammarFile": "VERSAY_YESNO", "grammarType": "BUILTIN"}}]


SPEECH_FLOW = """
    - name: ask
      speech_menu:
        prompt: Which department?
        grammar_file: https://grammars.example.com/departments.grxml
        capture: department
        options:
          Sales:
            - say: "Sales ({{ department }}, heard {{ speech }} at {{ confidence }})."
            - hangup:
          support:
            - say: Support.
            - hangup:
        timeout:
          - say: I did not hear anything.
        invalid:
          - say: "I did not understand {{ speech }}."
    - hangup:
"""


@pytest.mark.parametrize("result", ["sales", "Sales", "SALES", " sAlEs "])
def test_speech_menu_matches_the_recognised_phrase_case_insensitively(make_app, result):
    """The getSpeech recognitionResult picks the option whatever its case, and capture stores it."""
    app = make_app(one_flow(SPEECH_FLOW))
    caller = Caller(app)
    caller.dial()
    assert caller.speak(result, confidence=91) == [say("Sales (sales, heard sales at 91)."), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["variables"]["department"] == "sales"
    assert activeflow["variables"]["speech"] == "sales"
    assert activeflow["variables"]["confidence"] == 91
    assert activeflow["executed_actions"][1]["webhook"]["request_type"] == "getSpeech"


def test_speech_menu_no_input_runs_the_timeout_branch_then_asks_again(make_app):
    """A getSpeech with reason noInput runs the timeout block and asks again; an unknown phrase runs the invalid block."""
    app = make_app(one_flow(SPEECH_FLOW))
    caller = Caller(app)
    caller.dial()
    document = caller.speak(None, reason="noInput", confidence=None)
    activeflow = caller.activeflow()
    assert document[0] == say("I did not hear anything.")
    assert document[1]["GetSpeech"]["actionUrl"] == step_url(activeflow, 2)
    assert document[1]["GetSpeech"]["prompts"] == [say("Which department?")]
    check_waiting(activeflow, "speech_menu", "ask", 2)
    assert activeflow["attempts"] == {"ask": 1}

    document = caller.speak("Billing", confidence=40)
    assert document[0] == say("I did not understand billing.")
    assert "GetSpeech" in document[1]
    assert caller.activeflow()["attempts"] == {"ask": 2}

    assert caller.speak("support") == [say("Support."), HANGUP]
    check_ended(caller.activeflow())


# --- transcribe -----------------------------------------------------------------------------


def test_transcribe_emits_transcribe_utterance_with_record_options(make_app):
    """A transcribe action becomes TranscribeUtterance with its options, the record options nested and the prompt as Say."""
    app = make_app(one_flow("""
        - name: note
          transcribe:
            prompt: Tell us why you are calling.
            play_beep: true
            privacy_for_logging: true
            privacy_for_recording: false
            save_recording: true
            max_length_sec: 30
            rcrd_termination_silence_time_ms: 2000
        - hangup:
    """))
    caller = Caller(app)
    document = caller.dial()
    activeflow = caller.activeflow()
    assert document == [{"TranscribeUtterance": {
        "actionUrl": step_url(activeflow, 1), "playBeep": True,
        "record": {"saveRecording": True, "maxLengthSec": 30, "rcrdTerminationSilenceTimeMs": 2000},
        "privacyForLogging": True, "privacyForRecording": False,
        "prompts": [say("Tell us why you are calling.")]}}]
    check_waiting(activeflow, "transcribe", "note", 1)


def test_transcribe_webhook_fills_transcript_and_the_capture_variable(make_app):
    """The transcribe webhook's transcript renders as {{ transcript }} and the capture variable, then the next action runs."""
    app = make_app(one_flow("""
        - transcribe: {capture: reason}
        - say: "You said: {{ transcript }}. Reason: {{ reason }}."
        - play: "{{ recording.url }}"
        - hangup:
    """))
    caller = Caller(app)
    assert caller.dial() == [{"TranscribeUtterance": {"actionUrl": step_url(caller.activeflow(), 1)}}]
    recording_id = freeclimb_id("RE")
    assert caller.transcribed("my order is late", recording_id) == [
        say("You said: my order is late. Reason: my order is late."),
        {"Play": {"file": recording_url(recording_id)}}, HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["variables"]["transcript"] == "my order is late"
    assert activeflow["variables"]["reason"] == "my order is late"
    assert activeflow["variables"]["recording.id"] == recording_id
    assert activeflow["executed_actions"][1]["webhook"]["request_type"] == "transcribe"


# --- record_call and sms --------------------------------------------------------------------


def test_record_call_starts_recording_and_continues(make_app):
    """record_call emits StartRecordCall and the flow goes on in the same answer."""
    app = make_app(one_flow("""
        - record_call:
        - say: This call is recorded.
        - hangup:
    """))
    caller = Caller(app)
    assert caller.dial() == [{"StartRecordCall": {}}, say("This call is recorded."), HANGUP]
    check_ended(caller.activeflow())


@pytest.mark.parametrize(("sms", "expected_from"), [
    ('{to: "{{ call.from }}", text: "Hi {{ name }}, thanks for calling {{ call.to }}."}', CALLED_NUMBER),
    ('{to: "{{ call.from }}", from: "+13125550177", text: "Hi {{ name }}, thanks for calling {{ call.to }}."}',
     "+13125550177"),
    ('{to: "{{ call.from }}", from: "{{ sender }}", text: "Hi {{ name }}, thanks for calling {{ call.to }}."}',
     "+13125550188"),
], ids=["from-defaults-to-called-number", "from-given", "from-a-variable"])
def test_sms_renders_to_from_and_text(make_app, sms, expected_from):
    """sms emits Sms with to, from and text rendered; from defaults to the called number."""
    app = make_app(one_flow(f"""
        - set: {{name: Ada, sender: "+13125550188"}}
        - sms: {sms}
        - say: We sent you a text.
        - hangup:
    """))
    caller = Caller(app, from_="+13125550111")
    assert caller.dial() == [
        {"Sms": {"to": "+13125550111", "from": expected_from,
                 "text": f"Hi Ada, thanks for calling {CALLED_NUMBER}."}},
        say("We sent you a text."), HANGUP]
    check_ended(caller.activeflow())


# --- branch ---------------------------------------------------------------------------------


BRANCH_CASES = [
    ({"variable": "call.from", "equals": "+13125550111"}, "+13125550111", True),
    ({"variable": "call.from", "equals": "+13125550111"}, "+131255501110", False),
    ({"variable": "call.from", "in": ["+13125550111", "+13125550112"]}, "+13125550112", True),
    ({"variable": "call.from", "in": ["+13125550111", "+13125550112"]}, "+13125550113", False),
    ({"variable": "call.from", "starts_with": "+44"}, "+447700900123", True),
    ({"variable": "call.from", "starts_with": "+44"}, "+13125550144", False),
    ({"variable": "call.from", "matches": "^\\+1312"}, "+13125550100", True),
    ({"variable": "call.from", "matches": "555$"}, "+13125550100", False),
    ({"variable": "call.to", "equals": CALLED_NUMBER}, CALLER_NUMBER, True),
    ({"variable": "tier", "equals": "gold"}, CALLER_NUMBER, True),
    ({"variable": "tier", "equals": "Gold"}, CALLER_NUMBER, False),
    ({"variable": "tier", "in": ["silver", "gold"]}, CALLER_NUMBER, True),
    ({"variable": "tier", "in": ["silver", "bronze"]}, CALLER_NUMBER, False),
    ({"variable": "tier", "starts_with": "go"}, CALLER_NUMBER, True),
    ({"variable": "tier", "starts_with": "old"}, CALLER_NUMBER, False),
    ({"variable": "tier", "matches": "ol"}, CALLER_NUMBER, True),
    ({"variable": "tier", "matches": "^ol"}, CALLER_NUMBER, False),
    ({"variable": "count", "equals": 3}, CALLER_NUMBER, True),
    ({"variable": "count", "in": [1, 2, 3]}, CALLER_NUMBER, True),
    ({"variable": "empty", "equals": ""}, CALLER_NUMBER, True),
    ({"variable": "digits", "equals": ""}, CALLER_NUMBER, True),
    ({"variable": "digits", "matches": "."}, CALLER_NUMBER, False),
]


@pytest.mark.parametrize(("condition", "caller_number", "holds"), BRANCH_CASES,
                         ids=[f"{c['variable']}-{next(iter(set(c) - {'variable'}))}-{i}"
                              for i, (c, _, _) in enumerate(BRANCH_CASES)])
def test_branch_condition_on_a_variable_or_caller_attribute(make_app, condition, caller_number, holds):
    """A branch case runs when its equals / in / starts_with / matches test holds on the variable, else the else block."""
    app = make_app(one_flow(f"""
        - set: {{tier: gold, count: "3", empty: ""}}
        - branch:
            cases:
              - if: {json.dumps(condition)}
                then: [{{say: Matched.}}, {{hangup: }}]
            else: [{{say: Not matched.}}, {{hangup: }}]
        - menu: {{options: {{"1": [{{hangup: }}]}}}}
    """))
    caller = Caller(app, from_=caller_number)
    assert caller.dial() == [say("Matched." if holds else "Not matched."), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["executed_actions"][0]["actions"][:2] == ["main:0", "main:1"]
    assert activeflow["executed_actions"][0]["actions"][2] == (
        "main:1/case:0/0" if holds else "main:1/else/0")


def test_branch_first_matching_case_wins_and_blocks_fall_through(make_app):
    """The first case that holds runs; a case block without an ending runs on into the action after the branch."""
    app = make_app(one_flow("""
        - set: {tier: gold}
        - branch:
            cases:
              - if: {variable: tier, equals: silver}
                then: [{say: Silver.}]
              - if: {variable: tier, starts_with: g}
                then: [{say: Starts with g.}]
              - if: {variable: tier, equals: gold}
                then: [{say: Gold.}]
            else: [{say: Other.}]
        - say: After the branch.
        - hangup:
    """))
    caller = Caller(app)
    assert caller.dial() == [say("Starts with g."), say("After the branch."), HANGUP]


def test_branch_without_else_continues_with_the_next_action(make_app):
    """When no case holds and there is no else, the action after the branch runs."""
    app = make_app(one_flow("""
        - branch:
            cases:
              - if: {variable: call.from, equals: "+13125550111"}
                then: [{say: VIP.}, {hangup: }]
        - say: Everyone else.
        - hangup:
    """))
    caller = Caller(app)
    assert caller.dial() == [say("Everyone else."), HANGUP]


def test_branch_then_naming_an_action_or_another_flow(make_app):
    """A case whose then names an action jumps to it; one naming a flow starts that flow and the activeflow follows."""
    app = make_app("""
        flows:
          - name: main
            actions:
              - branch:
                  cases:
                    - if: {variable: call.from, equals: "+13125550111"}
                      then: vip
                    - if: {variable: call.from, starts_with: "+44"}
                      then: abroad
                  else: [{say: Standard.}, {hangup: }]
              - say: skipped
              - name: vip
                say: Welcome back.
              - hangup:
          - name: abroad
            actions:
              - say: International line.
              - hangup:
        default: main
    """)
    caller = Caller(app, from_="+13125550111")
    assert caller.dial() == [say("Welcome back."), HANGUP]
    activeflow = caller.activeflow()
    assert (activeflow["flow_name"], activeflow["flow_id"]) == ("main", flow_id(app, "main"))
    assert activeflow["executed_actions"][0]["actions"] == ["main:0", "main:vip", "main:3"]

    caller = Caller(app, from_="+447700900123")
    assert caller.dial() == [say("International line."), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert (activeflow["flow_name"], activeflow["flow_id"]) == ("abroad", flow_id(app, "abroad"))
    assert activeflow["executed_actions"][0]["actions"] == ["main:0", "abroad:0", "abroad:1"]

    caller = Caller(app)
    assert caller.dial() == [say("Standard."), HANGUP]
    assert caller.activeflow()["flow_name"] == "main"


TIME_FLOW = """
    - branch:
        cases:
          - if: {time: {days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}}
            then: [{say: Open.}, {hangup: }]
        else: [{say: Closed.}, {hangup: }]
"""


@pytest.mark.parametrize(("moment", "is_open"), [
    (datetime(2025, 1, 13, 8, 59, 59, tzinfo=UTC), False),
    (datetime(2025, 1, 13, 9, 0, tzinfo=UTC), True),
    (datetime(2025, 1, 13, 12, 30, tzinfo=UTC), True),
    (datetime(2025, 1, 13, 16, 59, 59, tzinfo=UTC), True),
    (datetime(2025, 1, 13, 17, 0, tzinfo=UTC), False),
    (datetime(2025, 1, 17, 16, 0, tzinfo=UTC), True),
    (datetime(2025, 1, 18, 12, 0, tzinfo=UTC), False),
    (datetime(2025, 1, 19, 12, 0, tzinfo=UTC), False),
], ids=["mon-08:59:59", "mon-09:00", "mon-12:30", "mon-16:59:59", "mon-17:00", "fri-16:00",
        "sat-12:00", "sun-12:00"])
def test_branch_time_window_from_is_inclusive_and_to_exclusive(make_app, moment, is_open):
    """A time case holds on its days from its from time (included) up to its to time (excluded), in UTC by default."""
    app = make_app(one_flow(TIME_FLOW))
    set_clock(app, moment)
    caller = Caller(app)
    assert caller.dial() == [say("Open." if is_open else "Closed."), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["tm_end"] == moment.strftime("%Y-%m-%d %H:%M:%S.%f")


@pytest.mark.parametrize(("moment", "is_open"), [
    # Tokyo is UTC+9: Sunday 16:00 UTC is Monday 01:00 there, Monday 16:00 UTC is Tuesday.
    (datetime(2025, 1, 12, 16, 0, tzinfo=UTC), True),
    (datetime(2025, 1, 12, 14, 59, tzinfo=UTC), False),
    (datetime(2025, 1, 13, 2, 59, tzinfo=UTC), True),
    (datetime(2025, 1, 13, 3, 0, tzinfo=UTC), False),
    (datetime(2025, 1, 13, 16, 0, tzinfo=UTC), False),
], ids=["sun-utc-is-mon-tokyo", "sun-utc-is-sun-tokyo", "mon-11:59-tokyo", "mon-12:00-tokyo",
        "mon-utc-is-tue-tokyo"])
def test_branch_time_window_uses_its_timezone_for_day_and_time(make_app, moment, is_open):
    """A time case converts the engine's clock to its timezone before checking the day and the hours."""
    app = make_app(one_flow("""
        - branch:
            cases:
              - if: {time: {days: [Monday], from: "00:00", to: "12:00", timezone: Asia/Tokyo}}
                then: [{say: Open.}, {hangup: }]
            else: [{say: Closed.}, {hangup: }]
    """))
    set_clock(app, moment)
    caller = Caller(app)
    assert caller.dial() == [say("Open." if is_open else "Closed."), HANGUP]


@pytest.mark.parametrize(("moment", "is_open"), [
    (datetime(2025, 7, 14, 13, 59, tzinfo=UTC), False),  # Chicago is UTC-5 in July: 08:59
    (datetime(2025, 7, 14, 14, 0, tzinfo=UTC), True),    # 09:00
    (datetime(2025, 1, 13, 14, 30, tzinfo=UTC), False),  # UTC-6 in January: 08:30
    (datetime(2025, 1, 13, 15, 0, tzinfo=UTC), True),    # 09:00
    (datetime(2025, 1, 14, 5, 59, tzinfo=UTC), True),    # Monday 23:59
    (datetime(2025, 1, 14, 6, 0, tzinfo=UTC), False),    # Tuesday 00:00
], ids=["summer-08:59", "summer-09:00", "winter-08:30", "winter-09:00", "mon-23:59", "tue-00:00"])
def test_branch_time_window_follows_daylight_saving_and_to_midnight(make_app, moment, is_open):
    """A time case in America/Chicago follows its UTC offset through the year, and to 24:00 includes the day's last minute."""
    app = make_app(one_flow("""
        - branch:
            cases:
              - if: {time: {days: [mon], from: "09:00", to: "24:00", timezone: America/Chicago}}
                then: [{say: Open.}, {hangup: }]
            else: [{say: Closed.}, {hangup: }]
    """))
    set_clock(app, moment)
    caller = Caller(app)
    assert caller.dial() == [say("Open." if is_open else "Closed."), HANGUP]


# --- goto -----------------------------------------------------------------------------------


GOTO_FLOWS = """
    flows:
      - name: main
        actions:
          - say: Start.
          - {goto}
          - say: skipped
          - name: later
            say: Later in main.
          - hangup:
      - name: other
        actions:
          - say: Start of other.
          - hangup:
          - name: there
            say: Label in other.
          - hangup: from other
    default: main
"""


@pytest.mark.parametrize(("goto", "heard", "flow", "actions"), [
    ("goto: later", [say("Later in main."), HANGUP], "main", ["main:later", "main:4"]),
    ("goto: {action: later}", [say("Later in main."), HANGUP], "main", ["main:later", "main:4"]),
    ("goto: {flow: other}", [say("Start of other."), HANGUP], "other", ["other:0", "other:1"]),
    ("goto: {flow: other, action: there}", [say("Label in other."), {"Hangup": {"reason": "from other"}}],
     "other", ["other:there", "other:3"]),
], ids=["label", "action-mapping", "other-flow", "other-flow-label"])
def test_goto_a_label_or_another_flow_and_the_activeflow_follows(make_app, goto, heard, flow, actions):
    """goto jumps to a label of this flow, the start of another flow, or a label of another flow; flow_id and flow_name follow."""
    app = make_app(GOTO_FLOWS.replace("{goto}", goto))
    caller = Caller(app)
    assert caller.dial() == [say("Start."), *heard]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert (activeflow["flow_name"], activeflow["flow_id"]) == (flow, flow_id(app, flow))
    assert activeflow["executed_actions"][0]["actions"] == ["main:0", "main:1", *actions]
    assert activeflow["current_action"] == actions[-1].split(":")[1]


def test_goto_another_flow_that_waits_resumes_in_that_flow(make_app):
    """A call moved to another flow by goto waits there, and the callback continues in that flow."""
    app = make_app("""
        flows:
          - name: main
            actions:
              - goto: {flow: second}
          - name: second
            actions:
              - name: ask
                menu: {prompt: Press 1., options: {"1": [{say: Pressed in second.}]}}
              - hangup: second done
        default: main
    """)
    caller = Caller(app)
    caller.dial()
    activeflow = caller.activeflow()
    check_waiting(activeflow, "menu", "ask", 1)
    assert activeflow["flow_id"] == flow_id(app, "second")
    assert caller.press("1") == [say("Pressed in second."), {"Hangup": {"reason": "second done"}}]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["flow_name"] == "second"


# --- ending the call ------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "command"), [
    ("hangup: Caller finished", {"Hangup": {"reason": "Caller finished"}}),
    ("hangup:", HANGUP),
    ("reject: busy", {"Reject": {"reason": "busy"}}),
    ("reject:", {"Reject": {}}),
], ids=["hangup-reason", "hangup", "reject-reason", "reject"])
def test_hangup_and_reject_end_the_activeflow(make_app, action, command):
    """hangup and reject emit their command with the reason given and end the activeflow; nothing after them runs."""
    app = make_app(one_flow(f"""
        - {action}
        - say: never reached
    """))
    moment = datetime(2025, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
    set_clock(app, moment)
    caller = Caller(app)
    assert caller.dial() == [command]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["tm_end"] == "2025-03-04 05:06:07.891000"
    assert activeflow["current_action"] == "0"
    assert activeflow["executed_actions"][0]["actions"] == ["main:0"]


def test_running_off_the_end_of_a_flow_hangs_up(make_app):
    """A flow whose last action is not an ending emits Hangup after it and ends the activeflow."""
    app = make_app(one_flow("""
        - say: That is all.
    """))
    caller = Caller(app)
    assert caller.dial() == [say("That is all."), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["current_action"] == "0"


def test_a_flow_without_actions_hangs_up(make_app):
    """A flow with an empty action list answers with Hangup and ends the activeflow at once."""
    app = make_app("""
        flows:
          - name: main
            actions: []
        default: main
    """)
    caller = Caller(app)
    assert caller.dial() == [HANGUP]
    check_ended(caller.activeflow())


def test_running_off_the_end_after_a_callback_hangs_up(make_app):
    """A menu option block that is the last thing in the flow ends with Hangup after the callback."""
    app = make_app(one_flow("""
        - menu: {options: {"1": [{say: Bye.}]}}
    """))
    caller = Caller(app)
    caller.dial()
    assert caller.press("1") == [say("Bye."), HANGUP]
    check_ended(caller.activeflow())


# --- transfer -------------------------------------------------------------------------------


TRANSFER_FLOW = """
    - say: Connecting you.
    - name: dial
      transfer:
        to: "+13125550142"
        timeout: 20
        hold_message: Please hold while we connect you.
        no_answer:
          - say: "Nobody answered ({{ transfer.status }})."
          - hangup: no answer
    - say: never reached
"""


def dialled_leg(caller: Caller, leg_id: str, request_type: str, **fields: Any) -> dict[str, Any]:
    """A webhook of the leg the OutDial created: its own callId, the caller's call as parent."""
    return {"requestType": request_type,
            **call_fields(leg_id, **{"from": CALLED_NUMBER, "to": AGENT_NUMBER,
                                     "direction": "outboundDial", "parentCallId": caller.call_id}),
            **fields}


@pytest.mark.parametrize(("transfer", "expected"), [
    ('{to: "+13125550142"}', {"callingNumber": CALLED_NUMBER, "timeout": 30}),
    ('{to: "+13125550142", caller_id: "+13125550177", timeout: 45, send_digits: "ww123#"}',
     {"callingNumber": "+13125550177", "timeout": 45, "sendDigits": "ww123#"}),
    ('{to: "+13125550142", caller_id: "{{ call.from }}", timeout: 5}',
     {"callingNumber": CALLER_NUMBER, "timeout": 5}),
], ids=["defaults", "caller-id-timeout-digits", "caller-id-placeholder"])
def test_transfer_out_dial_attributes(make_app, transfer, expected):
    """transfer emits OutDial to the number with the caller id (the called number by default), timeout and step URLs."""
    app = make_app(one_flow(f"""
        - name: dial
          transfer: {transfer}
        - hangup:
    """))
    caller = Caller(app)
    document = caller.dial()
    activeflow = caller.activeflow()
    assert document == [{"OutDial": {
        "actionUrl": step_url(activeflow, 1, "dial"), "callConnectUrl": step_url(activeflow, 1, "connect"),
        "destination": AGENT_NUMBER, **expected}}]
    assert activeflow["status"] == "waiting"
    assert activeflow["waiting"]["kind"] == "transfer"
    assert activeflow["waiting"]["node"] == "dial"
    assert activeflow["waiting"]["seq"] == 1
    assert activeflow["waiting"]["outcome"] is None


def test_transfer_answered_bridges_both_legs_in_a_conference(make_app):
    """An answered transfer: the caller holds, the dialled leg creates and joins a conference, the caller's next poll joins it and the activeflow ends."""
    app = make_app(one_flow(TRANSFER_FLOW))
    caller = Caller(app)
    document = caller.dial()
    activeflow = caller.activeflow()
    dial_url, connect_url = step_url(activeflow, 1, "dial"), step_url(activeflow, 1, "connect")
    assert document == [say("Connecting you."), {"OutDial": {
        "actionUrl": dial_url, "callConnectUrl": connect_url, "callingNumber": CALLED_NUMBER,
        "destination": AGENT_NUMBER, "timeout": 20}}]
    hold = [{"Pause": {"length": 2000}}, {"Redirect": {"actionUrl": dial_url}}]

    # the caller's leg: OutDial started, the caller hears the hold message and is polled
    leg_id = freeclimb_id("CA")
    assert caller.send(dial_url, caller.webhook("outDialStart", dialCallId=leg_id)) == [
        say("Please hold while we connect you."), *hold]
    # a poll while the other party rings: no hold message again
    assert caller.send(dial_url, caller.webhook("redirect")) == hold

    # the dialled party answers: its leg creates a conference, then joins it
    assert caller.send(connect_url, dialled_leg(caller, leg_id, "outDialConnect")) == [
        {"CreateConference": {"actionUrl": connect_url, "playBeep": "never"}}]
    conference_id = freeclimb_id("CF")
    assert caller.send(connect_url, dialled_leg(caller, leg_id, "createConference",
                                                conferenceId=conference_id)) == [
        {"AddToConference": {"conferenceId": conference_id, "startConfOnEnter": True}}]
    activeflow = caller.activeflow()
    assert activeflow["status"] == "waiting"
    assert activeflow["waiting"]["outcome"] == "answered"
    assert activeflow["waiting"]["conference_id"] == conference_id

    # the caller's next poll joins the conference; the flow is done
    assert caller.send(dial_url, caller.webhook("redirect")) == [
        {"AddToConference": {"conferenceId": conference_id}}]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["variables"]["transfer.status"] == "answered"
    log = activeflow["executed_actions"]
    assert [(step["poll"], step["resumed"], step["webhook"]["request_type"]) for step in log] == [
        (False, None, "inboundCall"), (True, None, "outDialStart"), (True, None, "redirect"),
        (False, 1, "redirect")]
    assert log[1]["percl"] == [say("Please hold while we connect you."), *hold]
    assert log[3]["percl"] == [{"AddToConference": {"conferenceId": conference_id}}]

    # a late duplicate of that poll gets the same answer and changes nothing
    before = caller.activeflow()
    assert caller.send(dial_url, caller.webhook("redirect")) == [
        {"AddToConference": {"conferenceId": conference_id}}]
    assert caller.activeflow() == before


def test_transfer_no_answer_runs_the_no_answer_block_at_the_next_poll(make_app):
    """An outDialConnect reporting noAnswer gets empty PerCL, and the caller's next poll runs the no_answer block."""
    app = make_app(one_flow(TRANSFER_FLOW))
    caller = Caller(app)
    caller.dial()
    activeflow = caller.activeflow()
    dial_url, connect_url = step_url(activeflow, 1, "dial"), step_url(activeflow, 1, "connect")
    leg_id = freeclimb_id("CA")
    caller.send(dial_url, caller.webhook("outDialStart", dialCallId=leg_id))

    caller.send(connect_url, dialled_leg(caller, leg_id, "outDialConnect", callStatus="noAnswer"),
                empty=True)
    assert caller.activeflow()["waiting"]["outcome"] == "no_answer"

    assert caller.send(dial_url, caller.webhook("redirect")) == [
        say("Nobody answered (no_answer)."), {"Hangup": {"reason": "no answer"}}]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["variables"]["transfer.status"] == "no_answer"
    assert activeflow["executed_actions"][-1]["resumed"] == 1
    assert activeflow["executed_actions"][-1]["poll"] is False
    assert activeflow["executed_actions"][-1]["actions"] == ["main:dial/no_answer/0",
                                                             "main:dial/no_answer/1"]


def test_transfer_without_no_answer_block_continues_with_the_next_action(make_app):
    """A transfer nobody answers, without a no_answer block, continues with the action after it."""
    app = make_app(one_flow("""
        - transfer: {to: "+13125550142"}
        - say: "Transfer {{ transfer.status }}."
        - hangup:
    """))
    caller = Caller(app)
    caller.dial()
    activeflow = caller.activeflow()
    leg_id = freeclimb_id("CA")
    caller.send(step_url(activeflow, 1, "connect"),
                dialled_leg(caller, leg_id, "outDialConnect", callStatus="busy"), empty=True)
    assert caller.send(step_url(activeflow, 1, "dial"), caller.webhook("outDialStart")) == [
        say("Transfer no_answer."), HANGUP]
    check_ended(caller.activeflow())


def test_transfer_polls_beyond_the_limit_run_no_answer(make_app):
    """When FreeClimb never reports on the dialled leg, the poll after timeout/2 + 15 polls runs the no_answer block."""
    app = make_app(one_flow(TRANSFER_FLOW.replace("timeout: 20", "timeout: 10")))
    caller = Caller(app)
    caller.dial()
    activeflow = caller.activeflow()
    dial_url = step_url(activeflow, 1, "dial")
    hold = [{"Pause": {"length": 2000}}, {"Redirect": {"actionUrl": dial_url}}]
    max_polls = 10 // 2 + 15
    assert caller.send(dial_url, caller.webhook("outDialStart"))[1:] == hold
    for _ in range(max_polls - 1):
        assert caller.send(dial_url, caller.webhook("redirect")) == hold
    activeflow = caller.activeflow()
    assert activeflow["waiting"]["polls"] == max_polls
    assert activeflow["waiting"]["outcome"] is None

    assert caller.send(dial_url, caller.webhook("redirect")) == [
        say("Nobody answered (no_answer)."), {"Hangup": {"reason": "no answer"}}]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    log = activeflow["executed_actions"]
    assert len(log) == 1 + max_polls + 1
    assert all(step["poll"] is True and step["resumed"] is None for step in log[1:-1])
    assert (log[-1]["poll"], log[-1]["resumed"]) == (False, 1)

    # the other party picks up too late: apologised to and hung up
    leg_id = freeclimb_id("CA")
    connect_url = step_url(activeflow, 1, "connect")
    assert caller.send(connect_url, dialled_leg(caller, leg_id, "outDialConnect")) == [
        say("Sorry, the caller is no longer on the line."), HANGUP]
    assert caller.activeflow() == activeflow


def test_transfer_dialled_leg_answering_after_the_caller_hung_up_hears_an_apology(make_app):
    """When the caller hangs up while the transfer rings, the dialled party that answers hears an apology and Hangup."""
    app = make_app(one_flow(TRANSFER_FLOW))
    caller = Caller(app)
    caller.dial()
    activeflow = caller.activeflow()
    leg_id = freeclimb_id("CA")
    caller.send(step_url(activeflow, 1, "dial"), caller.webhook("outDialStart", dialCallId=leg_id))
    caller.hang_up()
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["call_ended"] is True

    connect_url = step_url(activeflow, 1, "connect")
    assert caller.send(connect_url, dialled_leg(caller, leg_id, "outDialConnect")) == [
        say("Sorry, the caller is no longer on the line."), HANGUP]
    assert caller.activeflow() == activeflow


# --- flows that cannot go on ----------------------------------------------------------------


@pytest.mark.parametrize("flows", [
    """
    flows:
      - name: main
        actions:
          - say: Hello.
          - name: top
            set: {counter: "{{ counter }}1"}
          - goto: top
    default: main
    """,
    """
    flows:
      - name: main
        actions:
          - say: Hello.
          - goto: {flow: other}
      - name: other
        actions:
          - goto: {flow: main}
    default: main
    """,
], ids=["goto-label", "two-flows"])
def test_a_flow_looping_without_waiting_apologises_and_ends(make_app, flows):
    """A flow that loops without waiting answers with the apology and Hangup and ends the activeflow with an error, never a 500."""
    app = make_app(flows)
    caller = Caller(app)
    document = caller.dial()
    assert document == [say(SORRY), HANGUP]  # not "Hello." two hundred times first
    assert all(command == say("Hello.") for command in document[:-2])
    activeflow = caller.activeflow()
    check_ended(activeflow, error=True)
    assert "loops" in activeflow["error"]
    assert activeflow["executed_actions"][0]["percl"] == document


def test_sms_text_too_long_after_rendering_apologises_and_ends(make_app):
    """An sms whose text renders past 160 characters keeps what was said before and ends with the apology and Hangup, the error stored."""
    app = make_app(one_flow(f"""
        - set: {{long: "{'x' * 150}"}}
        - say: Sending you a text.
        - sms: {{to: "{{{{ call.from }}}}", text: "Your code: {{{{ long }}}}"}}
        - say: never reached
        - hangup:
    """))
    caller = Caller(app)
    assert caller.dial() == [say("Sending you a text."), say(SORRY), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow, error=True)
    assert "Sms.text" in activeflow["error"]
    assert activeflow["current_action"] == "2"


def test_transfer_to_digits_that_are_not_e164_apologises_and_ends(make_app):
    """A transfer to {{ digits }} whose digits are no E.164 number answers the callback with the apology and Hangup, the error stored."""
    app = make_app(one_flow("""
        - menu:
            prompt: Press 12345 for the operator.
            max_digits: 5
            options:
              "12345":
                - say: Connecting.
                - transfer: {to: "{{ digits }}"}
        - hangup:
    """))
    caller = Caller(app)
    caller.dial()
    assert caller.press("12345") == [say("Connecting."), say(SORRY), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow, error=True)
    assert "OutDial.destination" in activeflow["error"]
    assert activeflow["executed_actions"][1]["percl"] == [say("Connecting."), say(SORRY), HANGUP]


# --- record ---------------------------------------------------------------------------------


OWNER = "7a0c2b0e-5d3f-4f5e-9b1a-1c2d3e4f5a61"


def test_record_with_owner_and_on_end_binds_the_recording_and_runs_the_on_end_flow(make_app):
    """A record with owner and on_end makes a Recording entry carrying them and the activeflow id; its callback runs the on_end flow."""
    app = make_app(f"""
        flows:
          - name: main
            actions:
              - say: Leave a message.
              - name: message
                record: {{max_length_sec: 60, finish_on_key: "#", play_beep: true, silence_timeout_ms: 4000,
                         owner: {{type: agent, id: {OWNER}}}, on_end: done}}
              - say: never reached
          - name: done
            actions:
              - say: "Saved {{{{ recording.url }}}}."
              - hangup:
        default: main
    """)
    caller = Caller(app)
    document = caller.dial()
    activeflow = caller.activeflow()
    check_waiting(activeflow, "record", "message", 1)
    url = document[1]["RecordUtterance"]["actionUrl"]
    assert document == [say("Leave a message."), {"RecordUtterance": {
        "actionUrl": url, "silenceTimeoutMs": 4000, "finishOnKey": "#", "maxLengthSec": 60,
        "playBeep": True}}]
    prefix, _, entry_id = path_of(url).rpartition("/")
    assert prefix == "/freeclimb/record" and str(uuid.UUID(entry_id)) == entry_id
    entry = caller.store.recordings.get(entry_id)
    assert entry["status"] == "recording"
    assert entry["owner_type"] == "agent"
    assert entry["owner_id"] == OWNER
    assert entry["on_end_flow_id"] == flow_id(app, "done")
    assert entry["activeflow_id"] == activeflow["id"]
    assert entry["call_id"] == caller.call_id

    recording_id = freeclimb_id("RE")
    assert caller.recorded(recording_id) == [say(f"Saved {recording_url(recording_id)}."), HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert (activeflow["flow_name"], activeflow["flow_id"]) == ("done", flow_id(app, "done"))
    assert activeflow["variables"]["recording.id"] == recording_id
    assert activeflow["executed_actions"][1]["actions"] == ["done:0", "done:1"]
    entry = caller.store.recordings.get(entry_id)
    assert entry["status"] == "ended"
    assert entry["recording_id"] == recording_id
    assert (entry["owner_type"], entry["owner_id"]) == ("agent", OWNER)
    assert entry["on_end_flow_id"] == flow_id(app, "done")


def test_record_without_on_end_continues_with_the_next_action(make_app):
    """A record without owner or on_end makes an unowned entry, and its callback runs the next action with {{ recording.url }} set."""
    app = make_app(one_flow("""
        - record: {max_length_sec: 30}
        - say: "Here is your message, {{ recording.duration }} seconds."
        - play: "{{ recording.url }}"
        - hangup:
    """))
    caller = Caller(app)
    document = caller.dial()
    entry_id = path_of(document[0]["RecordUtterance"]["actionUrl"]).rpartition("/")[2]
    entry = caller.store.recordings.get(entry_id)
    assert (entry["owner_type"], entry["owner_id"], entry["on_end_flow_id"]) == ("", NIL, NIL)
    assert entry["activeflow_id"] == caller.activeflow()["id"]

    recording_id = freeclimb_id("RE")
    assert caller.recorded(recording_id) == [say("Here is your message, 6 seconds."),
                                            {"Play": {"file": recording_url(recording_id)}}, HANGUP]
    activeflow = caller.activeflow()
    check_ended(activeflow)
    assert activeflow["flow_name"] == "main"
    assert activeflow["variables"]["recording.url"] == recording_url(recording_id)


def test_a_get_digits_posted_to_a_waiting_transfer_step_is_refused(make_app):
    """A getDigits sent to the plain step URL of a transfer gets 400 naming requestType, not a 500."""
    app = make_app("""
    flows:
      - name: main
        actions:
          - transfer: {to: "+13125550111", no_answer: [{hangup: }]}
    """)
    caller = Caller(app)
    document = caller.dial()
    dial_url = document[-1]["OutDial"]["actionUrl"]
    step_url = dial_url.rsplit("/", 1)[0]
    response = post(caller.client, path_of(step_url),
                    {"requestType": "getDigits", "callId": caller.call_id, "digits": "1"})
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("requestType")
