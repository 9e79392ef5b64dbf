"""FreeClimb's own SDK (``freeclimb.models``, via ``tests.oracle``) as the judge of the PerCL we
emit: every command, with all its attributes and with only the required ones, must be accepted
and read back unchanged, alone and as a whole script. A few negative cases show that the oracle
does refuse bad PerCL, so its approval means something.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import freeclimb.models as sdk
import pytest
from pydantic import ValidationError

import percl
from percl import (
    BUILTIN_GRAMMARS,
    CONFERENCE_BEEPS,
    GRAMMAR_TYPES,
    IF_MACHINE_ACTIONS,
    LANGUAGES,
    TTS_ENGINES,
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
from tests.oracle import sdk_accepts, sdk_accepts_script

BASE = "https://voice.example.com"
QUEUE_ID = "QU0123456789abcdef0123456789abcdef01234567"
CONFERENCE_ID = "CFfedcba9876543210fedcba9876543210fedcba98"
CALL_ID = "CA89abcdef0123456789abcdef0123456789abcdef"
GOLDEN_DIR = Path(__file__).parent / "golden"


def _prompts() -> list[Command]:
    """One of each nestable command, the Say with a TTS engine of its own."""
    return [
        Say(text="Welcome back.", language="en-US",
            engine=TTSEngine(name="freeclimb.standard", parameters={"voice": "female"}),
            loop=1, privacy_mode=False),
        Pause(length=300),
        Play(file=f"{BASE}/audio/options.mp3", loop=1, privacy_mode=False),
    ]


#: Every command with all of its attributes set.
ALL_ATTRIBUTES: dict[str, Callable[[], Command]] = {
    "Say": lambda: Say(
        text="Votre appel est important pour nous.",
        language="fr-CA",
        engine=TTSEngine(name="ElevenLabs",
                         parameters={"voice_id": "21m00Tcm4TlvDq8ikWAM", "stability": 0.5,
                                     "tags": ["greeting"], "cached": True}),
        loop=0,
        privacy_mode=True,
    ),
    "Play": lambda: Play(file=f"{BASE}/recordings/RE0001/Download", loop=0, privacy_mode=True),
    "PlayEarlyMedia": lambda: PlayEarlyMedia(file=f"{BASE}/audio/early.wav"),
    "Pause": lambda: Pause(length=0),
    "GetDigits": lambda: GetDigits(
        action_url=f"{BASE}/ivr/pin",
        prompts=_prompts(),
        initial_timeout_ms=5000,
        digit_timeout_ms=2000,
        max_digits=6,
        min_digits=6,
        finish_on_key="*",
        flush_buffer=False,
        privacy_mode=True,
    ),
    "GetSpeech": lambda: GetSpeech(
        action_url=f"{BASE}/ivr/spoken-account",
        grammar_file="ANY_DIG",
        grammar_type="BUILTIN",
        grammar_rule="digits",
        play_beep=False,
        prompts=_prompts(),
        no_input_timeout_ms=3000,
        recognition_timeout_ms=8000,
        confidence_threshold=1,
        sensitivity_level=0.25,
        speech_complete_timeout_ms=800,
        speech_incomplete_timeout_ms=1600,
        privacy_mode=True,
    ),
    "RecordUtterance": lambda: RecordUtterance(
        action_url=f"{BASE}/voicemail/saved",
        silence_timeout_ms=3000,
        finish_on_key="0",
        max_length_sec=300,
        play_beep=False,
        auto_start=True,
        privacy_mode=False,
    ),
    "StartRecordCall": StartRecordCall,
    "TranscribeUtterance": lambda: TranscribeUtterance(
        action_url=f"{BASE}/ivr/transcript",
        play_beep=False,
        record=TranscribeRecord(save_recording=False, max_length_sec=60,
                                rcrd_termination_silence_time_ms=3000),
        privacy_for_logging=False,
        privacy_for_recording=True,
        prompts=_prompts(),
    ),
    "Redirect": lambda: Redirect(action_url=f"{BASE}/ivr/start?lang=fr"),
    "Hangup": lambda: Hangup(reason="Call completed"),
    "Reject": lambda: Reject(reason="blocked-caller"),
    "OutDial": lambda: OutDial(
        action_url=f"{BASE}/transfer/parent",
        call_connect_url=f"{BASE}/transfer/connected",
        calling_number="+13125550100",
        destination="+442079460123",
        if_machine="redirect",
        if_machine_url=f"{BASE}/transfer/voicemail-detected",
        send_digits="#204",
        status_callback_url=f"{BASE}/transfer/status",
        timeout=45,
        privacy_mode=True,
    ),
    "SendDigits": lambda: SendDigits(digits="*72#", pause_ms=1000, privacy_mode=False),
    "Sms": lambda: Sms(
        to="+13125550142",
        from_="+13125550100",
        text="Your callback is booked for 3pm. Reply STOP to opt out.",
        notification_url=f"{BASE}/sms/delivery",
    ),
    "Enqueue": lambda: Enqueue(
        queue_id=QUEUE_ID,
        wait_url=f"{BASE}/queue/wait",
        action_url=f"{BASE}/queue/done",
        notification_url=f"{BASE}/queue/joined",
    ),
    "Dequeue": Dequeue,
    "CreateConference": lambda: CreateConference(
        action_url=f"{BASE}/conference/ready",
        alias="Weekly sync",
        play_beep="always",
        record=False,
        status_callback_url=f"{BASE}/conference/events",
        wait_url=f"{BASE}/audio/conference-hold.wav",
        parent_call_id=CALL_ID,
    ),
    "AddToConference": lambda: AddToConference(
        conference_id=CONFERENCE_ID,
        allow_call_control=True,
        call_control_sequence="##1",
        call_control_url=f"{BASE}/conference/control",
        leave_conference_url=f"{BASE}/conference/left",
        listen=False,
        talk=False,
        notification_url=f"{BASE}/conference/entered",
        start_conf_on_enter=False,
        dtmf_pass_through=True,
    ),
    "RemoveFromConference": RemoveFromConference,
    "TerminateConference": TerminateConference,
    "SetListen": lambda: SetListen(listen=True),
    "SetTalk": lambda: SetTalk(talk=False),
    "SetDTMFPassThrough": lambda: SetDTMFPassThrough(dtmf_pass_through=False),
    "Park": lambda: Park(
        wait_url=f"{BASE}/hold/music",
        action_url=f"{BASE}/hold/resume",
        notification_url=f"{BASE}/hold/started",
    ),
    "Unpark": Unpark,
    "AudioStream": lambda: AudioStream(
        location="https://stream.example.com:443/grpc",
        action_url=f"{BASE}/stream/done",
        content_type="audio/x-mulaw;rate=8000",
        meta_data=["callId=" + CALL_ID, "purpose=transcription"],
        privacy_mode=False,
    ),
}

#: Every command with only its required attributes (given positionally where there are some).
REQUIRED_ONLY: dict[str, Callable[[], Command]] = {
    "Say": lambda: Say("Goodbye."),
    "Play": lambda: Play(f"{BASE}/audio/goodbye.wav"),
    "PlayEarlyMedia": lambda: PlayEarlyMedia(f"{BASE}/audio/early.wav"),
    "Pause": lambda: Pause(1000),
    "GetDigits": lambda: GetDigits(f"{BASE}/ivr/choice"),
    "GetSpeech": lambda: GetSpeech(f"{BASE}/ivr/spoken", f"{BASE}/grammars/menu.grxml"),
    "RecordUtterance": lambda: RecordUtterance(f"{BASE}/voicemail/saved"),
    "StartRecordCall": StartRecordCall,
    "TranscribeUtterance": lambda: TranscribeUtterance(f"{BASE}/ivr/transcript"),
    "Redirect": lambda: Redirect(f"{BASE}/ivr/start"),
    "Hangup": Hangup,
    "Reject": Reject,
    "OutDial": lambda: OutDial(f"{BASE}/transfer/parent", f"{BASE}/transfer/connected",
                               "+13125550100", "+13125550187"),
    "SendDigits": lambda: SendDigits("1"),
    "Sms": lambda: Sms("+13125550187", "+13125550100", "See you soon."),
    "Enqueue": lambda: Enqueue(QUEUE_ID, f"{BASE}/queue/wait", f"{BASE}/queue/done"),
    "Dequeue": Dequeue,
    "CreateConference": lambda: CreateConference(f"{BASE}/conference/ready"),
    "AddToConference": lambda: AddToConference(CONFERENCE_ID),
    "RemoveFromConference": RemoveFromConference,
    "TerminateConference": TerminateConference,
    "SetListen": lambda: SetListen(False),
    "SetTalk": lambda: SetTalk(True),
    "SetDTMFPassThrough": lambda: SetDTMFPassThrough(True),
    "Park": lambda: Park(f"{BASE}/hold/music", f"{BASE}/hold/resume"),
    "Unpark": Unpark,
    "AudioStream": lambda: AudioStream("grpc://stream.example.com:80"),
}

NAMES = sorted(percl.COMMANDS)
CASES = [
    pytest.param(name, builders[name], id=f"{name}-{label}")
    for name in NAMES
    for label, builders in (("all", ALL_ATTRIBUTES), ("required", REQUIRED_ONLY))
]


def test_cases_cover_every_command() -> None:
    """Both case tables hold exactly the commands in percl.COMMANDS, so a new command must be added."""
    assert set(ALL_ATTRIBUTES) == set(percl.COMMANDS)
    assert set(REQUIRED_ONLY) == set(percl.COMMANDS)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_all_attributes_case_sets_every_attribute(name: str) -> None:
    """The all-attributes case of a command sets every attribute the command declares."""
    command = ALL_ATTRIBUTES[name]()
    assert type(command) is percl.COMMANDS[name]
    assert set(command.set_attributes()) == set(type(command).attributes)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_required_only_case_sets_only_required_attributes(name: str) -> None:
    """The required-only case of a command sets exactly the attributes the command requires."""
    command = REQUIRED_ONLY[name]()
    assert type(command) is percl.COMMANDS[name]
    required = {key for key, attr in type(command).attributes.items() if attr.required}
    assert set(command.set_attributes()) == required


@pytest.mark.parametrize(("name", "build"), CASES)
def test_sdk_accepts_emitted_element(name: str, build: Callable[[], Command]) -> None:
    """FreeClimb's SDK accepts the emitted command element and reads it back unchanged."""
    element = build().to_wire()
    assert list(element) == [name]
    sdk_accepts(element)


@pytest.mark.parametrize(("name", "build"), CASES)
def test_sdk_accepts_emitted_script(name: str, build: Callable[[], Command]) -> None:
    """FreeClimb's SDK accepts the whole script, decoded from the JSON text we would serve."""
    script = Script(build())
    document = json.loads(script.to_json())
    assert document == script.to_wire()
    sdk_accepts_script(document)


@pytest.mark.parametrize("name", ["GetDigits", "GetSpeech", "TranscribeUtterance"])
def test_sdk_accepts_each_nested_prompt(name: str) -> None:
    """Each nested prompt (Say with an engine, Pause, Play) is emitted as a full PerCL element the SDK accepts."""
    element = ALL_ATTRIBUTES[name]().to_wire()
    prompts = element[name]["prompts"]
    assert [next(iter(item)) for item in prompts] == ["Say", "Pause", "Play"]
    assert prompts[0]["Say"]["engine"] == {"name": "freeclimb.standard",
                                           "parameters": {"voice": "female"}}
    for item in prompts:
        sdk_accepts(item)


def test_sdk_reads_transcribe_record_as_its_own_model() -> None:
    """TranscribeUtterance's record is read by the SDK as a TranscribeUtteranceRecord with our values."""
    element = ALL_ATTRIBUTES["TranscribeUtterance"]().to_wire()
    model = sdk.TranscribeUtterance.model_validate(element["TranscribeUtterance"])
    assert isinstance(model.record, sdk.TranscribeUtteranceRecord)
    assert (model.record.save_recording, model.record.max_length_sec,
            model.record.rcrd_termination_silence_time_ms) == (False, 60, 3000)


def test_sdk_reads_say_engine_as_its_own_model() -> None:
    """Say's engine is read by the SDK as a TTSEngine whose name is one of its TTSEngineName values."""
    element = ALL_ATTRIBUTES["Say"]().to_wire()
    model = sdk.Say.model_validate(element["Say"])
    assert isinstance(model.engine, sdk.TTSEngine)
    assert model.engine.name == sdk.TTSEngineName.ELEVEN_LABS
    assert model.engine.parameters == element["Say"]["engine"]["parameters"]


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_sdk_accepts_golden_file(name: str) -> None:
    """The hand-written golden file for a command is PerCL that FreeClimb's SDK accepts."""
    document = json.loads((GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8"))
    sdk_accepts_script(document)


def test_sdk_accepts_a_realistic_multi_command_script() -> None:
    """A voicemail flow mixing non-terminal commands and ending in a terminal one passes as a whole script."""
    script = Script(
        PlayEarlyMedia(f"{BASE}/audio/ringback.wav"),
        StartRecordCall(),
        Say("Please leave a message after the beep.", language="en-US", loop=1),
        Pause(500),
        SendDigits("1"),
        Sms("+13125550187", "+13125550100", "We got your call."),
        RecordUtterance(f"{BASE}/voicemail/saved", finish_on_key="#", max_length_sec=120,
                        play_beep=True, privacy_mode=False),
    )
    sdk_accepts_script(json.loads(script.to_json()))


@pytest.mark.parametrize(
    ("enum", "ours"),
    [
        pytest.param(sdk.Language, LANGUAGES, id="Language"),
        pytest.param(sdk.TTSEngineName, TTS_ENGINES, id="TTSEngineName"),
        pytest.param(sdk.GrammarType, GRAMMAR_TYPES, id="GrammarType"),
        pytest.param(sdk.GrammarFileBuiltIn, BUILTIN_GRAMMARS, id="GrammarFileBuiltIn"),
        pytest.param(sdk.PlayBeep, CONFERENCE_BEEPS, id="PlayBeep"),
        pytest.param(sdk.IfMachine, IF_MACHINE_ACTIONS, id="IfMachine"),
    ],
)
def test_our_enumerations_match_the_sdk(enum: Any, ours: tuple[str, ...]) -> None:
    """Each value list we check against is exactly the SDK's enumeration of the same thing."""
    assert set(ours) == {member.value for member in enum}


def test_sdk_accepts_every_enumerated_value_we_emit() -> None:
    """Every language, TTS engine, grammar type, built-in grammar, beep and ifMachine value we allow is accepted."""
    elements: list[dict[str, Any]] = []
    elements += [Say("Hello", language=language).to_wire() for language in LANGUAGES]
    elements += [Say("Hello", engine=TTSEngine(name=name)).to_wire() for name in TTS_ENGINES]
    elements += [GetSpeech(f"{BASE}/s", grammar, grammar_type="BUILTIN").to_wire()
                 for grammar in BUILTIN_GRAMMARS]
    elements += [GetSpeech(f"{BASE}/s", f"{BASE}/g.grxml", grammar_type="URL").to_wire()]
    elements += [CreateConference(f"{BASE}/c", play_beep=beep).to_wire() for beep in CONFERENCE_BEEPS]
    elements += [OutDial(f"{BASE}/a", f"{BASE}/c", "+13125550100", "+13125550187",
                         if_machine="hangup").to_wire()]
    for element in elements:
        sdk_accepts(element)


# --- the oracle is not vacuous ------------------------------------------------------------

URL = f"{BASE}/x"

REFUSED: list[Any] = [
    pytest.param({"Say": {"text": "Hi", "voice": "Joanna"}}, AssertionError, id="unknown-attribute"),
    pytest.param({"GetDigits": {"action_url": URL}}, AssertionError, id="snake-case-name"),
    pytest.param({"Pause": {"length": "500"}}, ValidationError, id="string-for-int"),
    pytest.param({"Say": {"text": "Hi", "loop": True}}, ValidationError, id="bool-for-int"),
    pytest.param({"SetListen": {"listen": "true"}}, ValidationError, id="string-for-bool"),
    pytest.param({"GetSpeech": {"actionUrl": URL, "grammarFile": URL, "confidenceThreshold": "0.5"}},
                 ValidationError, id="string-for-number"),
    pytest.param({"Redirect": {}}, ValidationError, id="missing-required"),
    pytest.param({"CreateConference": {"actionUrl": URL, "playBeep": "sometimes"}},
                 ValidationError, id="unknown-enum-value"),
    pytest.param({"GetSpeech": {"actionUrl": URL, "grammarFile": URL, "grammarType": "url"}},
                 ValidationError, id="enum-wrong-case"),
    pytest.param({"AudioStream": {"location": "grpc://s.example.com:443", "metaData": "a"}},
                 ValidationError, id="string-for-list"),
    pytest.param({"TranscribeUtterance": {"actionUrl": URL, "record": {"maxLength": 30}}},
                 AssertionError, id="unknown-record-attribute"),
    pytest.param({"TranscribeUtterance": {"actionUrl": URL, "record": {"maxLengthSec": 61}}},
                 ValidationError, id="record-out-of-range"),
    pytest.param({"Say": {"text": "Hi", "engine": {"name": "polly"}}},
                 ValidationError, id="unknown-engine-name"),
    pytest.param({"Say": {"text": "Hi", "engine": {"name": "freeclimb.neural", "voice": "x"}}},
                 AssertionError, id="unknown-engine-attribute"),
    pytest.param({"GetDigits": {"actionUrl": URL, "prompts": [{"Say": {"txt": "Hi"}}]}},
                 AssertionError, id="bad-nested-prompt"),
    pytest.param({"Speak": {"text": "Hi"}}, AttributeError, id="unknown-command"),
]


@pytest.mark.parametrize(("element", "error"), REFUSED)
def test_oracle_refuses_bad_element(element: dict[str, Any], error: type[Exception]) -> None:
    """The oracle rejects an element FreeClimb's SDK would not accept, so passing it is meaningful."""
    with pytest.raises(error):
        sdk_accepts(element)


def test_oracle_refuses_script_with_one_bad_element() -> None:
    """One bad element among good ones makes the whole-script oracle fail."""
    good = Say("Hello").to_wire()
    with pytest.raises(ValidationError):
        sdk_accepts_script([good, {"Pause": {"length": "500"}}])
