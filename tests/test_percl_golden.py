"""Golden wire tests: every PerCL command, built with all its attributes, must serialise to the
exact JSON text written by hand in ``tests/golden/<Command>.json`` (names, order, values), and
that text must parse back to the same command.

The golden files were written from FreeClimb's attribute names, not dumped from our output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import percl
from percl import (
    AddToConference,
    AudioStream,
    Command,
    CreateConference,
    Dequeue,
    Enqueue,
    GetDigits,
    GetSpeech,
    Hangup,
    OutDial,
    Park,
    Pause,
    Play,
    PlayEarlyMedia,
    RecordUtterance,
    Redirect,
    Reject,
    RemoveFromConference,
    Say,
    Script,
    SendDigits,
    SetDTMFPassThrough,
    SetListen,
    SetTalk,
    Sms,
    StartRecordCall,
    TerminateConference,
    TranscribeRecord,
    TranscribeUtterance,
    TTSEngine,
    Unpark,
)

GOLDEN_DIR = Path(__file__).parent / "golden"
BASE = "https://voice.example.com"


def _say() -> Command:
    return Say(
        text="Thank you for calling Café Olé. This call may be recorded.",
        language="en-US",
        engine=TTSEngine(name="freeclimb.neural",
                         parameters={"voice": "en-US-Neural2-F", "speakingRate": 1.1}),
        loop=2,
        privacy_mode=True,
    )


def _get_digits() -> Command:
    return GetDigits(
        action_url=f"{BASE}/calls/menu-choice",
        prompts=[
            Say(text="For sales, press 1. For support, press 2.", language="en-GB", loop=1),
            Pause(length=500),
            Play(file=f"{BASE}/audio/menu.wav", loop=2),
        ],
        initial_timeout_ms=8000,
        digit_timeout_ms=3000,
        max_digits=4,
        min_digits=1,
        finish_on_key="#",
        flush_buffer=True,
        privacy_mode=True,
    )


def _get_speech() -> Command:
    return GetSpeech(
        action_url=f"{BASE}/calls/speech-result",
        grammar_file=f"{BASE}/grammars/yes-no.grxml",
        grammar_type="URL",
        grammar_rule="yesno",
        play_beep=True,
        prompts=[Say(text="Please say yes or no.")],
        no_input_timeout_ms=5000,
        recognition_timeout_ms=10000,
        confidence_threshold=0.6,
        sensitivity_level=0.4,
        speech_complete_timeout_ms=1000,
        speech_incomplete_timeout_ms=2500,
        privacy_mode=False,
    )


def _transcribe_utterance() -> Command:
    return TranscribeUtterance(
        action_url=f"{BASE}/calls/transcribed",
        play_beep=True,
        record=TranscribeRecord(save_recording=True, max_length_sec=45,
                                rcrd_termination_silence_time_ms=2000),
        privacy_for_logging=True,
        privacy_for_recording=False,
        prompts=[Say(text="After the beep, tell us how we can help."), Pause(length=250)],
    )


#: Each command with every attribute set, built from Python (snake_case) names.
FULL: dict[str, Callable[[], Command]] = {
    "Say": _say,
    "Play": lambda: Play(file=f"{BASE}/audio/welcome.wav", loop=3, privacy_mode=False),
    "PlayEarlyMedia": lambda: PlayEarlyMedia(file=f"{BASE}/audio/ringback.wav"),
    "Pause": lambda: Pause(length=1500),
    "GetDigits": _get_digits,
    "GetSpeech": _get_speech,
    "RecordUtterance": lambda: RecordUtterance(
        action_url=f"{BASE}/calls/recorded",
        silence_timeout_ms=4000,
        finish_on_key="*",
        max_length_sec=120,
        play_beep=True,
        auto_start=False,
        privacy_mode=True,
    ),
    "StartRecordCall": StartRecordCall,
    "TranscribeUtterance": _transcribe_utterance,
    "Redirect": lambda: Redirect(action_url=f"{BASE}/calls/next-step"),
    "Hangup": lambda: Hangup(reason="callerFinished"),
    "Reject": lambda: Reject(reason="outsideBusinessHours"),
    "OutDial": lambda: OutDial(
        action_url=f"{BASE}/calls/outdial-parent",
        call_connect_url=f"{BASE}/calls/outdial-connected",
        calling_number="+13125550100",
        destination="+13125550187",
        if_machine="redirect",
        if_machine_url=f"{BASE}/calls/machine-detected",
        send_digits="1234#",
        status_callback_url=f"{BASE}/calls/outdial-status",
        timeout=30,
        privacy_mode=False,
    ),
    "SendDigits": lambda: SendDigits(digits="9876*#", pause_ms=250, privacy_mode=True),
    "Sms": lambda: Sms(
        to="+13125550187",
        from_="+13125550100",
        text="Thanks for calling! Your ticket number is 4821.",
        notification_url=f"{BASE}/sms/status",
    ),
    "Enqueue": lambda: Enqueue(
        queue_id="QU3f9a0c1e7b2d4a6f8e0b1c2d3e4f5a6b7c8d9e0f",
        wait_url=f"{BASE}/queues/hold",
        action_url=f"{BASE}/queues/left",
        notification_url=f"{BASE}/queues/entered",
    ),
    "Dequeue": Dequeue,
    "CreateConference": lambda: CreateConference(
        action_url=f"{BASE}/conferences/created",
        alias="support-bridge",
        play_beep="entryOnly",
        record=True,
        status_callback_url=f"{BASE}/conferences/status",
        wait_url=f"{BASE}/audio/hold-music.wav",
        parent_call_id="CA0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
    ),
    "AddToConference": lambda: AddToConference(
        conference_id="CF9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d",
        allow_call_control=True,
        call_control_sequence="*9",
        call_control_url=f"{BASE}/conferences/call-control",
        leave_conference_url=f"{BASE}/conferences/left",
        listen=True,
        talk=True,
        notification_url=f"{BASE}/conferences/joined",
        start_conf_on_enter=True,
        dtmf_pass_through=False,
    ),
    "RemoveFromConference": RemoveFromConference,
    "TerminateConference": TerminateConference,
    "SetListen": lambda: SetListen(listen=False),
    "SetTalk": lambda: SetTalk(talk=True),
    "SetDTMFPassThrough": lambda: SetDTMFPassThrough(dtmf_pass_through=True),
    "Park": lambda: Park(
        wait_url=f"{BASE}/park/hold",
        action_url=f"{BASE}/park/resumed",
        notification_url=f"{BASE}/park/parked",
    ),
    "Unpark": Unpark,
    "AudioStream": lambda: AudioStream(
        location="grpc://stream.example.com:443",
        action_url=f"{BASE}/calls/stream-ended",
        content_type="audio/mulaw;rate=8000",
        meta_data=["tenant:acme", "ticket:4821"],
        privacy_mode=True,
    ),
}

NAMES = sorted(FULL)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicated, f"golden file repeats keys {duplicated}"
    return dict(pairs)


def golden_text(name: str) -> str:
    return (GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8")


def golden_document(name: str) -> Any:
    return json.loads(golden_text(name), object_pairs_hook=_no_duplicate_keys)


def golden_compact(name: str) -> str:
    return json.dumps(golden_document(name), separators=(",", ":"), ensure_ascii=False)


def test_every_command_has_a_golden_file() -> None:
    """Every command in percl.COMMANDS has a golden file, and every golden file names a command."""
    on_disk = {path.stem for path in GOLDEN_DIR.glob("*.json")}
    assert on_disk == set(percl.COMMANDS)


def test_every_command_has_a_full_builder_here() -> None:
    """This module builds every command in percl.COMMANDS, so a new command cannot go untested."""
    assert set(FULL) == set(percl.COMMANDS)
    assert len(percl.COMMANDS) == 27


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_golden_file_is_one_command_with_every_attribute(name: str) -> None:
    """A golden file holds exactly one element of that command, setting every attribute it declares."""
    document = golden_document(name)
    assert isinstance(document, list) and len(document) == 1
    (element,) = document
    assert list(element) == [name]
    cls = percl.COMMANDS[name]
    assert set(element[name]) == {attr.wire for attr in cls.attributes.values()}


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_built_command_sets_every_attribute(name: str) -> None:
    """The Python-built command sets every attribute its class declares (so the golden covers them all)."""
    command = FULL[name]()
    assert type(command) is percl.COMMANDS[name]
    assert set(command.set_attributes()) == set(type(command).attributes)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_compact_json_matches_golden_exactly(name: str) -> None:
    """Script(cmd).to_json() is exactly the golden JSON in compact form: same names, order and values."""
    assert Script(FULL[name]()).to_json() == golden_compact(name)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_indented_json_matches_golden_file_text(name: str) -> None:
    """Script(cmd).to_json(indent=2) plus a final newline is byte-for-byte the golden file."""
    assert Script(FULL[name]()).to_json(indent=2) + "\n" == golden_text(name)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_serialisation_is_deterministic(name: str) -> None:
    """Two separately built equal commands serialise to the same text."""
    first, second = Script(FULL[name]()), Script(FULL[name]())
    assert first == second
    assert first.to_json() == second.to_json()
    assert first.to_json(indent=2) == second.to_json(indent=2)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_golden_parses_back_to_the_built_command(name: str) -> None:
    """Script.from_json(golden text) equals the script built in Python."""
    assert Script.from_json(golden_text(name)) == Script(FULL[name]())


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_golden_text_round_trips_through_parse_and_serialise(name: str) -> None:
    """Parsing the golden file and serialising it again gives back the golden compact text."""
    assert Script.from_json(golden_text(name).encode("utf-8")).to_json() == golden_compact(name)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_percl_response_serves_the_golden_body(name: str, app) -> None:
    """percl_response(script) answers 200 with Content-Type application/json and the exact golden body."""
    from handlers.responses import percl_response

    with app.app_context():
        response = percl_response(Script(FULL[name]()))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.mimetype == "application/json"
    assert response.get_data() == golden_compact(name).encode("utf-8")
    assert response.get_data(as_text=True) == golden_compact(name)


def test_percl_response_serves_a_multi_command_script(app) -> None:
    """A script of several commands is served as one JSON array, in order, with the golden elements."""
    from handlers.responses import percl_response

    names = ["PlayEarlyMedia", "StartRecordCall", "Say", "Pause", "GetDigits"]
    script = Script(*(FULL[name]() for name in names))
    expected = json.dumps([golden_document(name)[0] for name in names],
                          separators=(",", ":"), ensure_ascii=False)
    with app.app_context():
        response = percl_response(script)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.get_data(as_text=True) == expected
