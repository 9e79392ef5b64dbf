"""Every PerCL rule the builder and the parser enforce, refused and accepted at its edges.

Each refusal is checked for the one error type, ``percl.PerclError``, and for what it names:
the command, the attribute (snake_case when building, camelCase when parsing), the value and,
for scripts, the location. Each range rule also has its boundaries accepted, so a test fails
whether a rule is dropped or made stricter than FreeClimb's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import percl
from percl import (
    AddToConference,
    AudioStream,
    CreateConference,
    Dequeue,
    Enqueue,
    GetDigits,
    GetSpeech,
    Hangup,
    OutDial,
    Park,
    Pause,
    PerclError,
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

URL = "https://voice.example.com/step"
GRAMMAR_URL = "https://voice.example.com/grammar.grxml"
PHONE_A = "+13125550100"
PHONE_B = "+13125550101"
QUEUE_ID = "QU" + "0123456789abcdef" * 2 + "89ABCDEF"
NO_VALUE = object()  # the error carries no value (a missing attribute, an order rule)
OMIT = object()  # leave the attribute out of the base kwargs

# The values FreeClimb's OpenAPI spec and SDK list (openapi.json beside REFERENCE.md; freeclimb
# 5.4.1's TTSEngineName), written out here so that dropping one from percl fails a test.
LANGUAGES = [
    "ca-ES", "da-DK", "de-DE", "en-AU", "en-CA", "en-GB", "en-IN", "en-US", "es-ES", "es-MX",
    "fi-FI", "fr-CA", "fr-FR", "it-IT", "ja-JP", "ko-KR", "nb-NO", "nl-NL", "pl-PL", "pt-BR",
    "pt-PT", "ru-RU", "sv-SE", "zh-CN", "zh-HK", "zh-TW",
]
BUILTIN_GRAMMARS = [
    "ALPHNUM6", "ANY_DIG", "DIG1", "DIG2", "DIG3", "DIG4", "DIG5", "DIG6", "DIG7", "DIG8",
    "DIG9", "DIG10", "DIG11", "UP_TO_20_DIGIT_SEQUENCE", "VERSAY_YESNO",
]
CONFERENCE_BEEPS = ["always", "never", "entryOnly", "exitOnly"]
TTS_ENGINES = ["freeclimb.standard", "freeclimb.neural", "ElevenLabs"]
KEYS = list("0123456789#*")

# A minimal valid instance of every command, as builder kwargs and as PerCL wire attributes.
VALID: dict[type, dict[str, Any]] = {
    Say: {"text": "Hello"},
    Play: {"file": URL},
    PlayEarlyMedia: {"file": URL},
    Pause: {"length": 500},
    GetDigits: {"action_url": URL},
    GetSpeech: {"action_url": URL, "grammar_file": GRAMMAR_URL},
    RecordUtterance: {"action_url": URL},
    StartRecordCall: {},
    TranscribeUtterance: {"action_url": URL},
    Redirect: {"action_url": URL},
    Hangup: {},
    Reject: {},
    OutDial: {"action_url": URL, "call_connect_url": URL, "calling_number": PHONE_A,
              "destination": PHONE_B},
    SendDigits: {"digits": "123#"},
    Sms: {"to": PHONE_A, "from_": PHONE_B, "text": "Your code is 1234"},
    Enqueue: {"queue_id": QUEUE_ID, "wait_url": URL, "action_url": URL},
    Dequeue: {},
    CreateConference: {"action_url": URL},
    AddToConference: {"conference_id": "CF0123"},
    RemoveFromConference: {},
    TerminateConference: {},
    SetListen: {"listen": True},
    SetTalk: {"talk": False},
    SetDTMFPassThrough: {"dtmf_pass_through": True},
    Park: {"wait_url": URL, "action_url": URL},
    Unpark: {},
    AudioStream: {"location": "grpc://stream.example.com:443"},
    TranscribeRecord: {},
    TTSEngine: {},
}
VALID_WIRE: dict[type, dict[str, Any]] = {
    Say: {"text": "Hello"},
    Play: {"file": URL},
    PlayEarlyMedia: {"file": URL},
    Pause: {"length": 500},
    GetDigits: {"actionUrl": URL},
    GetSpeech: {"actionUrl": URL, "grammarFile": GRAMMAR_URL},
    RecordUtterance: {"actionUrl": URL},
    StartRecordCall: {},
    TranscribeUtterance: {"actionUrl": URL},
    Redirect: {"actionUrl": URL},
    Hangup: {},
    Reject: {},
    OutDial: {"actionUrl": URL, "callConnectUrl": URL, "callingNumber": PHONE_A,
              "destination": PHONE_B},
    SendDigits: {"digits": "123#"},
    Sms: {"to": PHONE_A, "from": PHONE_B, "text": "Your code is 1234"},
    Enqueue: {"queueId": QUEUE_ID, "waitUrl": URL, "actionUrl": URL},
    Dequeue: {},
    CreateConference: {"actionUrl": URL},
    AddToConference: {"conferenceId": "CF0123"},
    RemoveFromConference: {},
    TerminateConference: {},
    SetListen: {"listen": True},
    SetTalk: {"talk": False},
    SetDTMFPassThrough: {"dtmfPassThrough": True},
    Park: {"waitUrl": URL, "actionUrl": URL},
    Unpark: {},
    AudioStream: {"location": "grpc://stream.example.com:443"},
}
COMMAND_CLASSES = list(VALID_WIRE)

TERMINAL = [GetDigits, GetSpeech, RecordUtterance, TranscribeUtterance, Redirect, Park, Unpark,
            Enqueue, CreateConference, OutDial, Hangup, Reject]
NOT_TERMINAL = [cls for cls in COMMAND_CLASSES if cls not in TERMINAL]
WITH_PROMPTS = [GetDigits, GetSpeech, TranscribeUtterance]
NESTABLE = [Say, Play, Pause]


def build(cls: type, **changes: Any) -> Any:
    """The minimal valid ``cls`` with some attributes changed (``OMIT`` leaves one out)."""
    kwargs = {**VALID[cls], **changes}
    return cls(**{key: value for key, value in kwargs.items() if value is not OMIT})


def wire(cls: type, **changes: Any) -> dict[str, Any]:
    """One PerCL element: the minimal valid ``cls`` with some wire attributes changed."""
    attributes = {**VALID_WIRE[cls], **changes}
    return {cls.__name__: {key: value for key, value in attributes.items() if value is not OMIT}}


def parse(*elements: Any) -> Script:
    """Parse a PerCL document made of ``elements`` with ``Script.from_json``."""
    return Script.from_json(json.dumps(list(elements)))


def refused(action: Callable[[], Any], *, command: str | None, attribute: str | None,
            value: Any = NO_VALUE, location: str | None = None) -> PerclError:
    """Run ``action``, assert it raises PerclError naming what it should, and return the error."""
    with pytest.raises(PerclError) as caught:
        action()
    err = caught.value
    assert (err.command, err.attribute) == (command, attribute), str(err)
    assert err.location == location, str(err)
    text = str(err)
    if value is NO_VALUE:
        assert err.value is None, text
    else:
        assert type(err.value) is type(value) and err.value == value, text
        assert repr(value)[:40] in text
    if command is not None:
        assert (f"{command}.{attribute}" if attribute else command) in text
    elif attribute is not None:
        assert attribute in text
    if location is not None:
        assert text.startswith(f"script{location}"), text
    return err


def test_tables_cover_every_command() -> None:
    """The tables of this module hold every command percl exports, so no command goes untested."""
    assert set(percl.COMMANDS.values()) == set(COMMAND_CLASSES)


@pytest.mark.parametrize("cls", COMMAND_CLASSES, ids=lambda cls: cls.__name__)
def test_minimal_command_builds_writes_camel_case_and_parses_back(cls: type) -> None:
    """A command with only its required attributes builds, writes camelCase JSON and parses back equal."""
    command = build(cls)
    assert command.to_wire() == wire(cls)
    assert parse(wire(cls)) == Script(command)


# --- required attributes -------------------------------------------------------------------

REQUIRED = [
    (cls, name, wire_name)
    for cls in COMMAND_CLASSES
    for name, wire_name in zip(VALID[cls], VALID_WIRE[cls])
]


@pytest.mark.parametrize(("cls", "name", "wire_name"), REQUIRED,
                         ids=[f"{c.__name__}.{n}" for c, n, _ in REQUIRED])
def test_missing_required_attribute_is_refused_when_built(cls: type, name: str, wire_name: str) -> None:
    """Building a command without one of its required attributes raises 'is required' naming it."""
    err = refused(lambda: build(cls, **{name: OMIT}), command=cls.__name__, attribute=name)
    assert "required" in str(err)


@pytest.mark.parametrize(("cls", "name", "wire_name"), REQUIRED,
                         ids=[f"{c.__name__}.{w}" for c, _, w in REQUIRED])
def test_missing_required_attribute_is_refused_when_parsed(cls: type, name: str, wire_name: str) -> None:
    """Parsing a command without one of its required attributes names it by its wire name."""
    err = refused(lambda: parse(wire(cls, **{wire_name: OMIT})), command=cls.__name__,
                  attribute=wire_name, location="[0]")
    assert "required" in str(err)


def test_required_attribute_given_as_none_counts_as_missing() -> None:
    """None means 'leave it out', so a required attribute given as None is refused as missing."""
    refused(lambda: Say(None), command="Say", attribute="text")


def test_required_attributes_may_be_given_by_position() -> None:
    """Required attributes may be passed positionally in declaration order."""
    assert OutDial(URL, URL, PHONE_A, PHONE_B) == build(OutDial)
    assert Sms(PHONE_A, PHONE_B, "Your code is 1234") == build(Sms)


# --- exact types -----------------------------------------------------------------------------

WRONG_TYPES = [
    (Say, "text", 5),
    (Say, "text", b"Hello"),
    (Say, "text", ["Hello"]),
    (Say, "loop", "2"),
    (Say, "loop", True),
    (Say, "loop", 1.0),
    (Say, "privacy_mode", 1),
    (Say, "privacy_mode", "true"),
    (Say, "language", 5),
    (Pause, "length", "500"),
    (Pause, "length", True),
    (Pause, "length", 500.0),
    (GetDigits, "max_digits", "3"),
    (GetDigits, "max_digits", True),
    (GetDigits, "initial_timeout_ms", False),
    (GetDigits, "finish_on_key", 1),
    (GetDigits, "flush_buffer", 0),
    (GetSpeech, "confidence_threshold", "0.5"),
    (GetSpeech, "confidence_threshold", True),
    (GetSpeech, "sensitivity_level", False),
    (GetSpeech, "play_beep", "always"),
    (SendDigits, "pause_ms", "200"),
    (SendDigits, "pause_ms", True),
    (SendDigits, "digits", 123),
    (Redirect, "action_url", 5),
    (Sms, "to", 13125550100),
    (SetListen, "listen", 1),
    (SetTalk, "talk", "false"),
    (OutDial, "timeout", "30"),
    (AudioStream, "meta_data", "one"),
    (AudioStream, "meta_data", ["one", 2]),
    (TranscribeRecord, "max_length_sec", True),
    (TranscribeRecord, "save_recording", 1),
    (TTSEngine, "parameters", "voice=x"),
    (TTSEngine, "parameters", {1: "x"}),
    (TTSEngine, "parameters", {"rate": float("nan")}),
    (TranscribeUtterance, "record", {"max_length_sec": 5}),
    (Say, "engine", {"name": "freeclimb.neural"}),
]


@pytest.mark.parametrize(("cls", "name", "value"), WRONG_TYPES,
                         ids=[f"{c.__name__}.{n}={v!r}" for c, n, v in WRONG_TYPES])
def test_value_of_the_wrong_type_is_refused_without_coercion(cls: type, name: str, value: Any) -> None:
    """A value of the wrong type (str for int, bool for int or number, int for bool) is refused."""
    if isinstance(value, float) and value != value:  # NaN is never equal to itself
        with pytest.raises(PerclError) as caught:
            build(cls, **{name: value})
        assert (caught.value.command, caught.value.attribute) == (cls.__name__, name)
        assert "nan" in str(caught.value)
        return
    refused(lambda: build(cls, **{name: value}), command=cls.__name__, attribute=name, value=value)


WRONG_WIRE_TYPES = [
    (Say, "text", 5),
    (Say, "loop", True),
    (Say, "loop", "2"),
    (Say, "privacyMode", 1),
    (Pause, "length", "500"),
    (Pause, "length", 500.5),
    (SetListen, "listen", "true"),
    (GetSpeech, "confidenceThreshold", "0.9"),
    (GetDigits, "prompts", {"Say": {"text": "Hi"}}),
    (TranscribeUtterance, "record", [1]),
    (Say, "engine", "freeclimb.neural"),
]


@pytest.mark.parametrize(("cls", "name", "value"), WRONG_WIRE_TYPES,
                         ids=[f"{c.__name__}.{n}={v!r}" for c, n, v in WRONG_WIRE_TYPES])
def test_value_of_the_wrong_json_type_is_refused_when_parsed(cls: type, name: str, value: Any) -> None:
    """Parsing refuses a JSON value of the wrong type, naming the camelCase attribute."""
    refused(lambda: parse(wire(cls, **{name: value})), command=cls.__name__, attribute=name,
            value=value, location="[0]")


# --- enumerations ----------------------------------------------------------------------------

ENUMS = [
    (Say, "language", "language", LANGUAGES, ["en-us", "EN-US", "english", "xx-XX", ""]),
    (CreateConference, "play_beep", "playBeep", CONFERENCE_BEEPS, ["ALWAYS", "entry_only", "yes"]),
    (OutDial, "if_machine", "ifMachine", ["hangup"], ["Hangup", "voicemail", "ignore"]),
    (GetDigits, "finish_on_key", "finishOnKey", KEYS, ["", "##", "A", "12", " ", "#*"]),
    (RecordUtterance, "finish_on_key", "finishOnKey", KEYS, ["", "x", "00", "+"]),
    (TTSEngine, "name", None, TTS_ENGINES, ["polly", "elevenlabs", "freeclimb", ""]),
]
ENUM_ACCEPTED = [(cls, name, good) for cls, name, _, goods, _ in ENUMS for good in goods]
ENUM_REFUSED = [(cls, name, wire_name, bad) for cls, name, wire_name, _, bads in ENUMS for bad in bads]


@pytest.mark.parametrize(("cls", "name", "value"), ENUM_ACCEPTED,
                         ids=[f"{c.__name__}.{n}={v}" for c, n, v in ENUM_ACCEPTED])
def test_every_documented_enumeration_value_is_accepted(cls: type, name: str, value: str) -> None:
    """Each value FreeClimb documents for an enumerated attribute is accepted as it is."""
    assert getattr(build(cls, **{name: value}), name) == value


@pytest.mark.parametrize(("cls", "name", "wire_name", "value"), ENUM_REFUSED,
                         ids=[f"{c.__name__}.{n}={v!r}" for c, n, _, v in ENUM_REFUSED])
def test_value_outside_an_enumeration_is_refused(cls: type, name: str, wire_name: str | None,
                                                 value: str) -> None:
    """A value FreeClimb does not list (case included) for an enumerated attribute is refused."""
    refused(lambda: build(cls, **{name: value}), command=cls.__name__, attribute=name, value=value)
    if wire_name is not None:
        refused(lambda: parse(wire(cls, **{wire_name: value})), command=cls.__name__,
                attribute=wire_name, value=value, location="[0]")


def test_create_conference_play_beep_is_an_enumeration_not_a_boolean() -> None:
    """CreateConference playBeep takes always/never/entryOnly/exitOnly, so True is refused."""
    refused(lambda: CreateConference(URL, play_beep=True), command="CreateConference",
            attribute="play_beep", value=True)


def test_out_dial_if_machine_redirect_is_accepted_with_its_url() -> None:
    """OutDial ifMachine 'redirect' is accepted when ifMachineUrl comes with it."""
    assert build(OutDial, if_machine="redirect", if_machine_url=URL).if_machine == "redirect"


@pytest.mark.parametrize("grammar_type", ["URL", "BUILTIN"])
def test_get_speech_grammar_types_are_accepted(grammar_type: str) -> None:
    """GetSpeech grammarType URL and BUILTIN are both accepted with a matching grammarFile."""
    grammar_file = GRAMMAR_URL if grammar_type == "URL" else "DIG4"
    command = build(GetSpeech, grammar_type=grammar_type, grammar_file=grammar_file)
    assert command.grammar_type == grammar_type


@pytest.mark.parametrize("value", ["url", "builtin", "GRXML", "Url"])
def test_get_speech_unknown_grammar_type_is_refused(value: str) -> None:
    """GetSpeech grammarType other than URL or BUILTIN (case included) is refused."""
    refused(lambda: build(GetSpeech, grammar_type=value), command="GetSpeech",
            attribute="grammar_type", value=value)
    refused(lambda: parse(wire(GetSpeech, grammarType=value)), command="GetSpeech",
            attribute="grammarType", value=value, location="[0]")


def test_tts_engine_name_is_checked_inside_a_parsed_say() -> None:
    """An unknown TTS engine name inside a parsed Say is named as engine.name of Say."""
    refused(lambda: parse(wire(Say, engine={"name": "polly"})), command="Say",
            attribute="engine.name", value="polly", location="[0]")


def test_say_accepts_a_known_tts_engine() -> None:
    """Say accepts a TTSEngine with a documented name and free-form parameters."""
    engine = TTSEngine(name="ElevenLabs", parameters={"voice": "Rachel", "speed": 1.1})
    assert build(Say, engine=engine).engine == engine


# --- ranges and sizes ------------------------------------------------------------------------

RANGES = [
    # (class, attribute, wire name, accepted, refused)
    (SendDigits, "pause_ms", "pauseMs", [100, 1000, 550], [99, 1001, 0, -1]),
    (GetSpeech, "confidence_threshold", "confidenceThreshold", [0, 0.0, 0.5, 1, 1.0],
     [-0.01, 1.01, 2, -1]),
    (GetSpeech, "sensitivity_level", "sensitivityLevel", [0, 0.0, 0.25, 1, 1.0], [-0.5, 1.5, 100]),
    (TranscribeRecord, "max_length_sec", "maxLengthSec", [1, 60, 30], [0, 61, -1]),
    (TranscribeRecord, "rcrd_termination_silence_time_ms", "rcrdTerminationSilenceTimeMs",
     [1, 3000, 1500], [0, 3001, -1]),
    (GetDigits, "max_digits", "maxDigits", [1, 20], [0, -1]),
    (GetDigits, "min_digits", "minDigits", [0, 1], [-1]),
    (GetDigits, "initial_timeout_ms", "initialTimeoutMs", [0, 5000], [-1]),
    (GetDigits, "digit_timeout_ms", "digitTimeoutMs", [0, 3000], [-1]),
    (GetSpeech, "no_input_timeout_ms", "noInputTimeoutMs", [0, 5000], [-1]),
    (GetSpeech, "recognition_timeout_ms", "recognitionTimeoutMs", [0, 10000], [-1]),
    (GetSpeech, "speech_complete_timeout_ms", "speechCompleteTimeoutMs", [0, 1000], [-1]),
    (GetSpeech, "speech_incomplete_timeout_ms", "speechIncompleteTimeoutMs", [0, 1000], [-1]),
    (RecordUtterance, "silence_timeout_ms", "silenceTimeoutMs", [0, 5000], [-1]),
    (OutDial, "timeout", "timeout", [0, 30], [-1]),
    (Say, "loop", "loop", [0, 1, 3], [-1]),
    (Play, "loop", "loop", [0, 1, 3], [-1]),
    (Pause, "length", "length", [0, 1, 60000], [-1]),
]
RANGE_ACCEPTED = [(cls, name, good) for cls, name, _, goods, _ in RANGES for good in goods]
RANGE_REFUSED = [(cls, name, wire_name, bad) for cls, name, wire_name, _, bads in RANGES for bad in bads]


@pytest.mark.parametrize(("cls", "name", "value"), RANGE_ACCEPTED,
                         ids=[f"{c.__name__}.{n}={v!r}" for c, n, v in RANGE_ACCEPTED])
def test_value_at_or_inside_a_range_boundary_is_accepted(cls: type, name: str, value: Any) -> None:
    """A value at either end of an attribute's documented range, or inside it, is accepted."""
    assert getattr(build(cls, **{name: value}), name) == value


@pytest.mark.parametrize(("cls", "name", "wire_name", "value"), RANGE_REFUSED,
                         ids=[f"{c.__name__}.{n}={v!r}" for c, n, _, v in RANGE_REFUSED])
def test_value_outside_a_range_is_refused_when_built(cls: type, name: str, wire_name: str,
                                                     value: Any) -> None:
    """A value just outside an attribute's documented range is refused by the builder."""
    refused(lambda: build(cls, **{name: value}), command=cls.__name__, attribute=name, value=value)


@pytest.mark.parametrize(("cls", "name", "wire_name", "value"), RANGE_REFUSED,
                         ids=[f"{c.__name__}.{w}={v!r}" for c, _, w, v in RANGE_REFUSED])
def test_value_outside_a_range_is_refused_when_parsed(cls: type, name: str, wire_name: str,
                                                      value: Any) -> None:
    """A value just outside an attribute's documented range is refused by the parser, by wire name."""
    if cls is TranscribeRecord:
        element = wire(TranscribeUtterance, record={wire_name: value})
        command, attribute = "TranscribeUtterance", f"record.{wire_name}"
    else:
        element = wire(cls, **{wire_name: value})
        command, attribute = cls.__name__, wire_name
    refused(lambda: parse(element), command=command, attribute=attribute, value=value, location="[0]")


def test_transcribe_utterance_accepts_a_record_at_its_limits() -> None:
    """TranscribeUtterance accepts a record with maxLengthSec 60 and rcrdTerminationSilenceTimeMs 3000."""
    element = wire(TranscribeUtterance,
                   record={"saveRecording": True, "maxLengthSec": 60, "rcrdTerminationSilenceTimeMs": 3000})
    record = parse(element)[0].record
    assert record == TranscribeRecord(save_recording=True, max_length_sec=60,
                                      rcrd_termination_silence_time_ms=3000)


@pytest.mark.parametrize("text", [
    "a" * 4096,
    "é" * 2048,  # 2048 characters, 4096 bytes
    "€" * 1365 + "a",  # 1366 characters, 4096 bytes
    "😀" * 1024,  # 1024 characters, 4096 bytes
    "",
], ids=["ascii-4096", "2-byte-4096", "3-byte-4096", "4-byte-4096", "empty"])
def test_say_text_of_at_most_4096_utf8_bytes_is_accepted(text: str) -> None:
    """Say accepts text whose UTF-8 encoding is at most 4096 bytes."""
    assert Say(text).text == text
    assert parse(wire(Say, text=text))[0].text == text


@pytest.mark.parametrize("text", [
    "a" * 4097,
    "é" * 2049,  # 2049 characters, 4098 bytes
    "€" * 1366,  # 1366 characters, 4098 bytes
    "😀" * 1024 + "a",  # 1025 characters, 4097 bytes
], ids=["ascii-4097", "2-byte-4098", "3-byte-4098", "4-byte-4097"])
def test_say_text_over_4096_utf8_bytes_is_refused_even_under_4096_characters(text: str) -> None:
    """Say refuses text over 4096 bytes in UTF-8, even when it has far fewer than 4096 characters."""
    assert len(text.encode("utf-8")) > 4096
    err = refused(lambda: Say(text), command="Say", attribute="text", value=text)
    assert "bytes" in str(err)
    refused(lambda: parse(wire(Say, text=text)), command="Say", attribute="text", value=text,
            location="[0]")


@pytest.mark.parametrize("text", ["a" * 160, "é" * 160, "😀" * 160, "x"],
                         ids=["ascii-160", "2-byte-160", "4-byte-160", "one"])
def test_sms_text_of_at_most_160_characters_is_accepted(text: str) -> None:
    """Sms accepts text of at most 160 characters, whatever their size in bytes."""
    assert build(Sms, text=text).text == text


@pytest.mark.parametrize("text", ["a" * 161, "é" * 161], ids=["ascii-161", "2-byte-161"])
def test_sms_text_over_160_characters_is_refused(text: str) -> None:
    """Sms refuses text longer than 160 characters."""
    refused(lambda: build(Sms, text=text), command="Sms", attribute="text", value=text)
    refused(lambda: parse(wire(Sms, text=text)), command="Sms", attribute="text", value=text,
            location="[0]")


def test_get_digits_min_digits_may_equal_max_digits() -> None:
    """GetDigits accepts minDigits equal to maxDigits."""
    command = build(GetDigits, min_digits=4, max_digits=4)
    assert (command.min_digits, command.max_digits) == (4, 4)


def test_get_digits_min_digits_above_max_digits_is_refused() -> None:
    """GetDigits refuses minDigits greater than maxDigits, naming minDigits and its value."""
    err = refused(lambda: build(GetDigits, min_digits=5, max_digits=4), command="GetDigits",
                  attribute="min_digits", value=5)
    assert "max_digits" in str(err)
    err = refused(lambda: parse(wire(GetDigits, minDigits=5, maxDigits=4)), command="GetDigits",
                  attribute="minDigits", value=5, location="[0]")
    assert "maxDigits" in str(err) and "max_digits" not in str(err)


# --- URLs ------------------------------------------------------------------------------------

URL_ATTRIBUTES = [
    # (class, attribute, wire name, extra kwargs the attribute needs)
    (GetDigits, "action_url", "actionUrl", {}),
    (GetSpeech, "action_url", "actionUrl", {}),
    (RecordUtterance, "action_url", "actionUrl", {}),
    (TranscribeUtterance, "action_url", "actionUrl", {}),
    (Redirect, "action_url", "actionUrl", {}),
    (Play, "file", "file", {}),
    (PlayEarlyMedia, "file", "file", {}),
    (OutDial, "action_url", "actionUrl", {}),
    (OutDial, "call_connect_url", "callConnectUrl", {}),
    (OutDial, "if_machine_url", "ifMachineUrl", {"if_machine": "redirect"}),
    (OutDial, "status_callback_url", "statusCallbackUrl", {}),
    (Sms, "notification_url", "notificationUrl", {}),
    (Enqueue, "wait_url", "waitUrl", {}),
    (Enqueue, "action_url", "actionUrl", {}),
    (Enqueue, "notification_url", "notificationUrl", {}),
    (CreateConference, "action_url", "actionUrl", {}),
    (CreateConference, "status_callback_url", "statusCallbackUrl", {}),
    (CreateConference, "wait_url", "waitUrl", {}),
    (AddToConference, "call_control_url", "callControlUrl", {}),
    (AddToConference, "leave_conference_url", "leaveConferenceUrl", {}),
    (AddToConference, "notification_url", "notificationUrl", {}),
    (Park, "wait_url", "waitUrl", {}),
    (Park, "action_url", "actionUrl", {}),
    (Park, "notification_url", "notificationUrl", {}),
    (AudioStream, "action_url", "actionUrl", {}),
]
BAD_URLS = [
    "/freeclimb/next",
    "voice.example.com/next",
    "ftp://voice.example.com/next",
    "https://",
    "mailto:ops@example.com",
    "https://voice.example.com/a b",
    "",
]
GOOD_URLS = ["http://voice.example.com", "https://voice.example.com:8443/a/b?c=d#e", "HTTPS://EXAMPLE.COM/x"]
URL_REFUSED = [(cls, name, extra, bad) for cls, name, _, extra in URL_ATTRIBUTES for bad in BAD_URLS]
URL_ACCEPTED = [(cls, name, extra, good) for cls, name, _, extra in URL_ATTRIBUTES for good in GOOD_URLS]


@pytest.mark.parametrize(("cls", "name", "extra", "value"), URL_REFUSED,
                         ids=[f"{c.__name__}.{n}={v!r}" for c, n, _, v in URL_REFUSED])
def test_url_attribute_refuses_anything_but_an_absolute_http_url(cls: type, name: str,
                                                                 extra: dict[str, Any], value: str) -> None:
    """A URL attribute refuses relative, scheme-less, non-http(s), host-less, spaced and empty URLs."""
    refused(lambda: build(cls, **extra, **{name: value}), command=cls.__name__, attribute=name,
            value=value)


@pytest.mark.parametrize(("cls", "name", "extra", "value"), URL_ACCEPTED,
                         ids=[f"{c.__name__}.{n}={v!r}" for c, n, _, v in URL_ACCEPTED])
def test_url_attribute_accepts_absolute_http_and_https_urls(cls: type, name: str,
                                                            extra: dict[str, Any], value: str) -> None:
    """A URL attribute accepts absolute http and https URLs, with any port, path and query."""
    assert getattr(build(cls, **extra, **{name: value}), name) == value


@pytest.mark.parametrize(("cls", "name", "wire_name", "extra"), URL_ATTRIBUTES,
                         ids=[f"{c.__name__}.{w}" for c, _, w, _ in URL_ATTRIBUTES])
def test_url_attribute_refuses_a_relative_url_when_parsed(cls: type, name: str, wire_name: str,
                                                          extra: dict[str, Any]) -> None:
    """Parsing refuses a relative URL in any URL attribute, naming it by its wire name."""
    extra_wire = {"ifMachine": "redirect"} if extra else {}
    refused(lambda: parse(wire(cls, **extra_wire, **{wire_name: "/relative"})), command=cls.__name__,
            attribute=wire_name, value="/relative", location="[0]")


@pytest.mark.parametrize("location", [
    "grpc://stream.example.com",
    "grpc://stream.example.com:443",
    "grpcs://stream.example.com:80/audio",
    "wss://stream.example.com/audio",
    "https://stream.example.com:443",
])
def test_audio_stream_location_accepts_any_absolute_uri_on_port_80_or_443(location: str) -> None:
    """AudioStream location accepts any scheme, with no port or port 80 or 443."""
    assert AudioStream(location).location == location


@pytest.mark.parametrize("location", [
    "grpc://stream.example.com:8080",
    "grpc://stream.example.com:444",
    "wss://stream.example.com:79/audio",
    "stream.example.com:443",
    "/audio",
    "grpc://",
    "grpc://stream.example.com:99999",
])
def test_audio_stream_location_refuses_other_ports_and_relative_uris(location: str) -> None:
    """AudioStream location refuses a port other than 80 or 443, and a URI without scheme or host."""
    refused(lambda: AudioStream(location), command="AudioStream", attribute="location", value=location)
    refused(lambda: parse(wire(AudioStream, location=location)), command="AudioStream",
            attribute="location", value=location, location="[0]")


# --- phone numbers and queue ids -------------------------------------------------------------

PHONE_ATTRIBUTES = [
    (Sms, "to", "to"),
    (Sms, "from_", "from"),
    (OutDial, "calling_number", "callingNumber"),
    (OutDial, "destination", "destination"),
]
BAD_PHONES = ["3125550100", "+1 312 555 0100", "+1-312-555-0100", "+01234567890", "+",
              "+1234567890123456", "tel:+13125550100", "+1312555010a", ""]
GOOD_PHONES = ["+13125550100", "+442071838750", "+123456789012345"]
PHONE_REFUSED = [(cls, name, wire_name, bad) for cls, name, wire_name in PHONE_ATTRIBUTES for bad in BAD_PHONES]
PHONE_ACCEPTED = [(cls, name, good) for cls, name, _ in PHONE_ATTRIBUTES for good in GOOD_PHONES]


@pytest.mark.parametrize(("cls", "name", "wire_name", "value"), PHONE_REFUSED,
                         ids=[f"{c.__name__}.{n}={v!r}" for c, n, _, v in PHONE_REFUSED])
def test_phone_number_not_in_e164_is_refused(cls: type, name: str, wire_name: str, value: str) -> None:
    """Sms to/from and OutDial callingNumber/destination refuse anything but an E.164 number."""
    refused(lambda: build(cls, **{name: value}), command=cls.__name__, attribute=name, value=value)
    refused(lambda: parse(wire(cls, **{wire_name: value})), command=cls.__name__,
            attribute=wire_name, value=value, location="[0]")


@pytest.mark.parametrize(("cls", "name", "value"), PHONE_ACCEPTED,
                         ids=[f"{c.__name__}.{n}={v}" for c, n, v in PHONE_ACCEPTED])
def test_phone_number_in_e164_is_accepted(cls: type, name: str, value: str) -> None:
    """Sms to/from and OutDial callingNumber/destination accept E.164 numbers of up to 15 digits."""
    assert getattr(build(cls, **{name: value}), name) == value


@pytest.mark.parametrize("queue_id", [
    "QU" + "a" * 39,
    "QU" + "a" * 41,
    "qu" + "a" * 40,
    "QU" + "g" * 40,
    "CA" + "a" * 40,
    "a" * 40,
    " QU" + "a" * 40,
])
def test_enqueue_refuses_a_queue_id_that_is_not_qu_and_40_hex(queue_id: str) -> None:
    """Enqueue queueId must be QU followed by exactly 40 hexadecimal characters."""
    refused(lambda: build(Enqueue, queue_id=queue_id), command="Enqueue", attribute="queue_id",
            value=queue_id)
    refused(lambda: parse(wire(Enqueue, queueId=queue_id)), command="Enqueue", attribute="queueId",
            value=queue_id, location="[0]")


@pytest.mark.parametrize("queue_id", ["QU" + "0" * 40, "QU" + "abcdef0123" * 4, "QU" + "ABCDEF0123" * 4])
def test_enqueue_accepts_qu_and_40_hex(queue_id: str) -> None:
    """Enqueue accepts QU followed by 40 hex characters, lower or upper case."""
    assert build(Enqueue, queue_id=queue_id).queue_id == queue_id


# --- cross-attribute rules -------------------------------------------------------------------

def test_out_dial_if_machine_redirect_requires_if_machine_url() -> None:
    """OutDial with ifMachine redirect and no ifMachineUrl is refused, naming ifMachineUrl."""
    refused(lambda: build(OutDial, if_machine="redirect"), command="OutDial", attribute="if_machine_url")
    err = refused(lambda: parse(wire(OutDial, ifMachine="redirect")), command="OutDial",
                  attribute="ifMachineUrl", location="[0]")
    assert "ifMachine" in str(err) and "if_machine" not in str(err)


@pytest.mark.parametrize("if_machine", ["hangup", None], ids=["hangup", "absent"])
def test_out_dial_if_machine_url_is_refused_unless_if_machine_is_redirect(if_machine: str | None) -> None:
    """OutDial refuses ifMachineUrl when ifMachine is hangup or absent."""
    refused(lambda: build(OutDial, if_machine=if_machine, if_machine_url=URL), command="OutDial",
            attribute="if_machine_url", value=URL)
    changes = {"ifMachineUrl": URL, **({"ifMachine": if_machine} if if_machine else {})}
    refused(lambda: parse(wire(OutDial, **changes)), command="OutDial", attribute="ifMachineUrl",
            value=URL, location="[0]")


def test_out_dial_if_machine_hangup_needs_no_url() -> None:
    """OutDial accepts ifMachine hangup without ifMachineUrl."""
    assert build(OutDial, if_machine="hangup").if_machine_url is None


@pytest.mark.parametrize("grammar_file", BUILTIN_GRAMMARS)
def test_get_speech_builtin_grammar_names_are_accepted(grammar_file: str) -> None:
    """GetSpeech with grammarType BUILTIN accepts every built-in grammar name."""
    assert build(GetSpeech, grammar_type="BUILTIN", grammar_file=grammar_file).grammar_file == grammar_file


@pytest.mark.parametrize("grammar_file", [GRAMMAR_URL, "DIG12", "dig1", "YESNO"])
def test_get_speech_builtin_refuses_a_grammar_file_that_is_not_a_builtin_name(grammar_file: str) -> None:
    """GetSpeech with grammarType BUILTIN refuses a grammarFile that is not a built-in grammar name."""
    refused(lambda: build(GetSpeech, grammar_type="BUILTIN", grammar_file=grammar_file),
            command="GetSpeech", attribute="grammar_file", value=grammar_file)
    refused(lambda: parse(wire(GetSpeech, grammarType="BUILTIN", grammarFile=grammar_file)),
            command="GetSpeech", attribute="grammarFile", value=grammar_file, location="[0]")


@pytest.mark.parametrize("grammar_type", ["URL", None], ids=["URL", "default"])
@pytest.mark.parametrize("grammar_file", ["DIG1", "/grammar.grxml", "grammar.grxml", "ftp://example.com/g"])
def test_get_speech_url_grammar_type_refuses_a_grammar_file_that_is_not_a_url(
        grammar_type: str | None, grammar_file: str) -> None:
    """GetSpeech with grammarType URL, or no grammarType, refuses a grammarFile that is not a URL."""
    err = refused(lambda: build(GetSpeech, grammar_type=grammar_type, grammar_file=grammar_file),
                  command="GetSpeech", attribute="grammar_file", value=grammar_file)
    assert "URL" in str(err)
    changes = {"grammarFile": grammar_file, **({"grammarType": grammar_type} if grammar_type else {})}
    refused(lambda: parse(wire(GetSpeech, **changes)), command="GetSpeech", attribute="grammarFile",
            value=grammar_file, location="[0]")


@pytest.mark.parametrize("missing", ["call_control_sequence", "call_control_url"])
def test_add_to_conference_allow_call_control_needs_sequence_and_url(missing: str) -> None:
    """AddToConference with allowCallControl true refuses a missing callControlSequence or callControlUrl."""
    given = {"call_control_sequence": "*9", "call_control_url": URL}
    given[missing] = OMIT
    refused(lambda: build(AddToConference, allow_call_control=True, **given), command="AddToConference",
            attribute=missing)
    wire_given = {"callControlSequence": "*9", "callControlUrl": URL}
    wire_missing = "callControlSequence" if missing == "call_control_sequence" else "callControlUrl"
    wire_given[wire_missing] = OMIT
    err = refused(lambda: parse(wire(AddToConference, allowCallControl=True, **wire_given)),
                  command="AddToConference", attribute=wire_missing, location="[0]")
    assert "allowCallControl" in str(err) and "allow_call_control" not in str(err)


@pytest.mark.parametrize("allow", [True, False])
def test_add_to_conference_call_control_is_accepted_when_complete_or_off(allow: bool) -> None:
    """AddToConference accepts allowCallControl true with both companions, and false without them."""
    extra = {"call_control_sequence": "*9", "call_control_url": URL} if allow else {}
    assert build(AddToConference, allow_call_control=allow, **extra).allow_call_control is allow


# --- prompts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", WITH_PROMPTS, ids=lambda cls: cls.__name__)
def test_prompts_accept_say_play_and_pause(cls: type) -> None:
    """GetDigits, GetSpeech and TranscribeUtterance accept prompts made of Say, Play and Pause."""
    prompts = [Say("Press one"), Play(URL), Pause(300)]
    command = build(cls, prompts=prompts)
    assert list(command.prompts) == prompts
    assert parse(command.to_wire())[0] == command


NOT_NESTABLE = [Hangup(), Redirect(URL), GetDigits(URL), SendDigits("1"), PlayEarlyMedia(URL),
                build(Sms), StartRecordCall()]
PROMPT_REFUSED = [(cls, bad) for cls in WITH_PROMPTS for bad in NOT_NESTABLE]


@pytest.mark.parametrize(("cls", "bad"), PROMPT_REFUSED,
                         ids=[f"{c.__name__}-{type(b).__name__}" for c, b in PROMPT_REFUSED])
def test_prompts_refuse_any_other_command(cls: type, bad: Any) -> None:
    """Prompts refuse any command other than Say, Play and Pause, naming it."""
    prompts = [Say("Hello"), bad]
    err = refused(lambda: build(cls, prompts=prompts), command=cls.__name__, attribute="prompts",
                  value=prompts)
    assert type(bad).__name__ in str(err)
    err = refused(lambda: parse(wire(cls, prompts=[{"Say": {"text": "Hello"}}, bad.to_wire()])),
                  command=cls.__name__, attribute="prompts", value=prompts, location="[0]")
    assert type(bad).__name__ in str(err)


@pytest.mark.parametrize("prompts", [Say("Hello"), [{"Say": {"text": "Hello"}}], [Say], "Say", [None]],
                         ids=["bare-command", "dict", "class", "string", "none-item"])
def test_prompts_refuse_anything_but_a_list_of_commands(prompts: Any) -> None:
    """GetDigits prompts refuse a bare command, dicts, classes, strings and None items."""
    refused(lambda: GetDigits(URL, prompts=prompts), command="GetDigits", attribute="prompts",
            value=prompts)


NO_PROMPTS = [cls for cls in COMMAND_CLASSES if cls not in WITH_PROMPTS]


@pytest.mark.parametrize("cls", NO_PROMPTS, ids=lambda cls: cls.__name__)
def test_prompts_on_any_other_command_are_an_unknown_attribute(cls: type) -> None:
    """Every command but GetDigits, GetSpeech and TranscribeUtterance refuses prompts as unknown."""
    err = refused(lambda: build(cls, prompts=[Say("Hello")]), command=cls.__name__, attribute="prompts")
    assert "unknown attribute" in str(err)
    err = refused(lambda: parse(wire(cls, prompts=[{"Say": {"text": "Hello"}}])), command=cls.__name__,
                  attribute="prompts", location="[0]")
    assert "unknown attribute" in str(err)


def test_error_inside_a_parsed_prompt_is_located_in_the_prompts() -> None:
    """A bad attribute inside a parsed prompt is located as script[i].prompts[j] and names that prompt."""
    document = [
        {"Say": {"text": "Welcome"}},
        wire(GetDigits, prompts=[{"Say": {"text": "Press one"}}, {"Pause": {"length": -1}}]),
    ]
    err = refused(lambda: parse(*document), command="Pause", attribute="length", value=-1,
                  location="[1].prompts[1]")
    assert str(err).startswith("script[1].prompts[1] Pause.length:")


def test_unknown_command_inside_a_parsed_prompt_is_located_in_the_prompts() -> None:
    """An unknown command name inside parsed prompts is located as script[0].prompts[0]."""
    err = refused(lambda: parse(wire(GetSpeech, prompts=[{"Sya": {"text": "Hi"}}])), command=None,
                  attribute=None, location="[0].prompts[0]")
    assert "Sya" in str(err)


def test_prompts_list_is_copied_when_built() -> None:
    """Changing the list a command was built from does not change the command's prompts."""
    prompts = [Say("Press one")]
    command = GetDigits(URL, prompts=prompts)
    prompts.append(Hangup())
    assert list(command.prompts) == [Say("Press one")]


# --- unknown attributes ----------------------------------------------------------------------

CAMEL_GIVEN_TO_BUILDER = [
    (Say, "privacyMode", "privacy_mode", True),
    (GetDigits, "finishOnKey", "finish_on_key", "#"),
    (GetDigits, "actionUrl", "action_url", URL),
    (OutDial, "ifMachine", "if_machine", "hangup"),
    (AddToConference, "allowCallControl", "allow_call_control", False),
    (Sms, "from", "from_", PHONE_A),
    (TranscribeRecord, "maxLengthSec", "max_length_sec", 10),
]


@pytest.mark.parametrize(("cls", "camel", "snake", "value"), CAMEL_GIVEN_TO_BUILDER,
                         ids=[f"{c.__name__}.{n}" for c, n, _, _ in CAMEL_GIVEN_TO_BUILDER])
def test_builder_refuses_a_camel_case_name_and_suggests_the_snake_case_one(
        cls: type, camel: str, snake: str, value: Any) -> None:
    """The builder refuses a wire (camelCase) attribute name and suggests the Python name."""
    err = refused(lambda: cls(**{**VALID[cls], camel: value}), command=cls.__name__, attribute=camel)
    assert "unknown attribute" in str(err)
    assert f"did you mean {snake}?" in str(err)


SNAKE_GIVEN_IN_JSON = [
    (Say, "privacy_mode", "privacyMode", True),
    (GetDigits, "finish_on_key", "finishOnKey", "#"),
    (OutDial, "if_machine", "ifMachine", "hangup"),
    (Sms, "from_", "from", PHONE_A),
    (GetSpeech, "grammar_type", "grammarType", "URL"),
]


@pytest.mark.parametrize(("cls", "snake", "camel", "value"), SNAKE_GIVEN_IN_JSON,
                         ids=[f"{c.__name__}.{n}" for c, n, _, _ in SNAKE_GIVEN_IN_JSON])
def test_parser_refuses_a_snake_case_name_and_suggests_the_wire_one(
        cls: type, snake: str, camel: str, value: Any) -> None:
    """The parser refuses a Python (snake_case) attribute name and suggests the camelCase one."""
    err = refused(lambda: parse(wire(cls, **{snake: value})), command=cls.__name__, attribute=snake,
                  location="[0]")
    assert "unknown attribute" in str(err)
    assert f"did you mean {camel}?" in str(err)


def test_parser_refuses_a_snake_case_name_for_a_required_attribute() -> None:
    """Parsing GetDigits with action_url instead of actionUrl names action_url and suggests actionUrl."""
    err = refused(lambda: parse({"GetDigits": {"action_url": URL}}), command="GetDigits",
                  attribute="action_url", location="[0]")
    assert "did you mean actionUrl?" in str(err)


@pytest.mark.parametrize("cls", [Say, Redirect, Hangup, Dequeue, SetTalk, TTSEngine],
                         ids=lambda cls: cls.__name__)
def test_builder_refuses_an_attribute_the_command_does_not_have(cls: type) -> None:
    """The builder refuses an attribute name the command does not declare."""
    err = refused(lambda: cls(**{**VALID[cls], "volume": 11}), command=cls.__name__, attribute="volume")
    assert "unknown attribute" in str(err)


@pytest.mark.parametrize("cls", [Say, Redirect, Hangup, Dequeue, SetTalk], ids=lambda cls: cls.__name__)
def test_parser_refuses_an_attribute_the_command_does_not_have(cls: type) -> None:
    """The parser refuses an attribute name the command does not declare."""
    err = refused(lambda: parse(wire(cls, volume=11)), command=cls.__name__, attribute="volume",
                  location="[0]")
    assert "unknown attribute" in str(err)


def test_parser_refuses_an_unknown_attribute_of_a_nested_object() -> None:
    """The parser refuses an unknown attribute inside TranscribeUtterance's record, naming record.x."""
    err = refused(lambda: parse(wire(TranscribeUtterance, record={"maxLength": 5})),
                  command="TranscribeUtterance", attribute="record.maxLength", location="[0]")
    assert "unknown attribute" in str(err)


# --- scripts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", TERMINAL, ids=lambda cls: cls.__name__)
def test_script_refuses_any_command_after_a_terminal_one(cls: type) -> None:
    """A Script refuses a command after a terminal command, naming both, at the following position."""
    err = refused(lambda: Script(Say("Hi"), build(cls), Pause(100)), command="Pause", attribute=None,
                  location="[2]")
    assert cls.__name__ in str(err)
    script = Script(build(cls))
    refused(lambda: script.append(Hangup()), command="Hangup", attribute=None, location="[1]")
    assert len(script) == 1


@pytest.mark.parametrize("cls", TERMINAL, ids=lambda cls: cls.__name__)
def test_parser_refuses_any_command_after_a_terminal_one(cls: type) -> None:
    """Parsing refuses a command after a terminal command at the document position of the follower."""
    err = refused(lambda: parse(wire(cls), {"Say": {"text": "never heard"}}), command="Say",
                  attribute=None, location="[1]")
    assert cls.__name__ in str(err)


@pytest.mark.parametrize("cls", TERMINAL, ids=lambda cls: cls.__name__)
def test_terminal_command_may_end_a_script(cls: type) -> None:
    """A terminal command is accepted as the last command of a script."""
    assert Script(Say("Hi"), build(cls)).ends_with_terminal


@pytest.mark.parametrize("cls", NOT_TERMINAL, ids=lambda cls: cls.__name__)
def test_script_accepts_a_command_after_a_non_terminal_one(cls: type) -> None:
    """A Script accepts a further command after any command that is not terminal."""
    script = Script(build(cls), Hangup())
    assert len(script) == 2
    assert parse(*script.to_wire()) == script


def test_play_early_media_is_accepted_as_the_first_command() -> None:
    """PlayEarlyMedia is accepted as a script's first command."""
    script = Script(PlayEarlyMedia(URL), Say("Hello"))
    assert parse(*script.to_wire()) == script


@pytest.mark.parametrize("before", [Say("Hi"), PlayEarlyMedia(URL), Pause(10)],
                         ids=["Say", "PlayEarlyMedia", "Pause"])
def test_play_early_media_anywhere_but_first_is_refused(before: Any) -> None:
    """A Script and the parser refuse PlayEarlyMedia in any position but the first."""
    err = refused(lambda: Script(before, PlayEarlyMedia(URL)), command="PlayEarlyMedia", attribute=None,
                  location="[1]")
    assert "first" in str(err)
    refused(lambda: parse(before.to_wire(), wire(PlayEarlyMedia)), command="PlayEarlyMedia",
            attribute=None, location="[1]")


@pytest.mark.parametrize("thing", [Say, {"Say": {"text": "Hi"}}, "Say", None, 5],
                         ids=["class", "dict", "str", "None", "int"])
def test_script_refuses_what_is_not_a_command_instance(thing: Any) -> None:
    """A Script refuses a class, a dict or any other non-command, naming what it got."""
    err = refused(lambda: Script(Say("Hi"), thing), command=None, attribute=None, location="[1]")
    name = thing.__name__ if isinstance(thing, type) else type(thing).__name__
    assert name in str(err)
    refused(lambda: Script().append(thing), command=None, attribute=None, location="[0]")


def test_script_hints_at_calling_a_class_given_instead_of_an_instance() -> None:
    """A Script given the Hangup class suggests Hangup(...)."""
    err = refused(lambda: Script(Hangup), command=None, attribute=None, location="[0]")
    assert "Hangup(...)" in str(err)


def test_script_accepts_a_list_of_commands() -> None:
    """Script accepts its commands as one list as well as one by one."""
    assert Script([Say("Hi"), Hangup()]) == Script(Say("Hi"), Hangup())


# --- parsing ---------------------------------------------------------------------------------

def test_malformed_json_is_refused_with_line_and_column() -> None:
    """Malformed JSON is refused with the line and column of the fault."""
    err = refused(lambda: Script.from_json('[{"Say": {"text": "Hi"}},\n {"Pause" {}}]'),
                  command=None, attribute=None)
    assert "not valid JSON" in str(err)
    assert "line 2 column 11" in str(err)


@pytest.mark.parametrize("text", ["", "[", "[{]", "[{'Say': {}}]", '[{"Say": {"text": "Hi",}}]'],
                         ids=["empty", "unclosed", "bad-object", "single-quotes", "trailing-comma"])
def test_text_that_is_not_json_is_refused(text: str) -> None:
    """Text that is not JSON raises PerclError (not a json or Python error) mentioning line and column."""
    err = refused(lambda: Script.from_json(text), command=None, attribute=None)
    assert "line 1 column" in str(err)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    """Bytes that are not UTF-8 text raise PerclError."""
    err = refused(lambda: Script.from_json(b'[{"Say": {"text": "\xff"}}]'), command=None, attribute=None)
    assert "UTF-8" in str(err)


@pytest.mark.parametrize("text", [
    '[{"Say": {"text": "a", "text": "b"}}]',
    '[{"Say": {"text": "a"}, "Say": {"text": "b"}}]',
    '[{"GetDigits": {"actionUrl": "https://x.example", "prompts": [{"Pause": {"length": 1, "length": 2}}]}}]',
], ids=["attribute", "command", "nested"])
def test_duplicate_keys_are_refused(text: str) -> None:
    """A key that appears twice in one JSON object is refused, wherever it is."""
    err = refused(lambda: Script.from_json(text), command=None, attribute=None)
    assert "twice" in str(err)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(constant: str) -> None:
    """NaN and Infinity, which are not JSON, are refused even where a number is expected."""
    text = f'[{{"GetSpeech": {{"actionUrl": "{URL}", "grammarFile": "{GRAMMAR_URL}", ' \
           f'"confidenceThreshold": {constant}}}}}]'
    err = refused(lambda: Script.from_json(text), command=None, attribute=None)
    assert constant.lstrip("-") in str(err)


@pytest.mark.parametrize(("text", "kind"), [
    ('{"Say": {"text": "Hi"}}', "an object"),
    ('"Say"', "a string"),
    ("5", "a number"),
    ("null", "null"),
    ("true", "a boolean"),
])
def test_document_that_is_not_an_array_is_refused(text: str, kind: str) -> None:
    """A PerCL document must be a JSON array; any other JSON value is refused, naming its type."""
    err = refused(lambda: Script.from_json(text), command=None, attribute=None)
    assert kind in str(err)
    problems = percl.check(json.loads(text))
    assert len(problems) == 1 and isinstance(problems[0], PerclError)


@pytest.mark.parametrize("element", [
    {},
    {"Say": {"text": "Hi"}, "Pause": {"length": 1}},
    ["Say", {"text": "Hi"}],
    "Say",
    None,
    5,
], ids=["zero-keys", "two-keys", "array", "string", "null", "number"])
def test_element_that_is_not_an_object_with_one_key_is_refused(element: Any) -> None:
    """Each element of the array must be an object with exactly one key, the command name."""
    err = refused(lambda: parse({"Say": {"text": "Hi"}}, element), command=None, attribute=None,
                  location="[1]")
    assert "exactly one key" in str(err)


@pytest.mark.parametrize(("name", "hint"), [("Sya", "Say"), ("say", "Say"), ("hangup", "Hangup"),
                                            ("Speak", None), ("", None)])
def test_unknown_command_name_is_refused(name: str, hint: str | None) -> None:
    """An unknown command name is refused, quoting it and suggesting a close known name."""
    err = refused(lambda: parse({name: {}}), command=None, attribute=None, location="[0]")
    assert f"unknown command {name!r}" in str(err)
    if hint:
        assert f"did you mean {hint}?" in str(err)


@pytest.mark.parametrize("attributes", ["Hi", None, ["text", "Hi"], 5], ids=["string", "null", "array", "number"])
def test_command_whose_attributes_are_not_an_object_is_refused(attributes: Any) -> None:
    """The value of a command's key must be a JSON object of attributes."""
    err = refused(lambda: parse({"Say": attributes}), command="Say", attribute=None, value=attributes,
                  location="[0]")
    assert "must be an object" in str(err)


@pytest.mark.parametrize(("cls", "name"), [(Say, "text"), (Say, "loop"), (GetDigits, "prompts"),
                                           (OutDial, "ifMachineUrl"), (Sms, "from")])
def test_null_attribute_value_is_refused(cls: type, name: str) -> None:
    """A null attribute value is refused when parsed, whether the attribute is required or not."""
    err = refused(lambda: parse(wire(cls, **{name: None})), command=cls.__name__, attribute=name,
                  value=None, location="[0]")
    assert "null" in str(err)


def test_check_lists_every_problem_in_document_order() -> None:
    """percl.check returns one PerclError per faulty command, in order, each with its location."""
    document = [
        {"Say": {"text": 5}},
        {"Pause": {"length": 200}},
        {"SendDigits": {"digits": "1", "pauseMs": 99}},
        {"Sya": {}},
        {"Redirect": {"actionUrl": URL}},
        {"Hangup": {}},
    ]
    problems = percl.check(document)
    assert [(p.location, p.command, p.attribute, p.value) for p in problems] == [
        ("[0]", "Say", "text", 5),
        ("[2]", "SendDigits", "pauseMs", 99),
        ("[3]", None, None, None),
        ("[5]", "Hangup", None, None),
    ]
    assert all(isinstance(p, PerclError) for p in problems)
    assert [str(p).split(" ")[0] for p in problems] == ["script[0]", "script[2]", "script[3]:", "script[5]"]


def test_check_of_a_valid_document_is_empty() -> None:
    """percl.check returns no problems for a valid document."""
    assert percl.check([{"Say": {"text": "Hi"}}, wire(GetDigits, prompts=[{"Pause": {"length": 1}}])]) == []


def test_from_json_raises_the_first_problem() -> None:
    """Script.from_json raises the first problem of a document with several."""
    refused(lambda: parse({"Pause": {"length": -1}}, {"Say": {"text": 5}}), command="Pause",
            attribute="length", value=-1, location="[0]")


def test_a_valid_document_round_trips() -> None:
    """A script written with to_json parses back equal with from_json."""
    script = Script(
        Say("Welcome", language="fr-FR", engine=TTSEngine(name="freeclimb.neural"), loop=2),
        GetSpeech(URL, "DIG4", grammar_type="BUILTIN", confidence_threshold=0.5,
                  prompts=[Say("Say your code"), Pause(200)]),
    )
    assert Script.from_json(script.to_json()) == script


# --- immutability ----------------------------------------------------------------------------

@pytest.mark.parametrize("cls", COMMAND_CLASSES, ids=lambda cls: cls.__name__)
def test_commands_are_immutable(cls: type) -> None:
    """Assigning or deleting any attribute of a built command raises AttributeError."""
    command = build(cls)
    for name in [*VALID[cls], "privacy_mode", "anything"]:
        with pytest.raises(AttributeError):
            setattr(command, name, "changed")
        with pytest.raises(AttributeError):
            delattr(command, name)
    assert command == build(cls)


@pytest.mark.parametrize("struct", [TranscribeRecord(max_length_sec=5), TTSEngine(name="ElevenLabs")],
                         ids=["TranscribeRecord", "TTSEngine"])
def test_nested_objects_are_immutable(struct: Any) -> None:
    """Assigning an attribute of a TranscribeRecord or TTSEngine raises AttributeError."""
    with pytest.raises(AttributeError):
        struct.name = "freeclimb.standard"
    with pytest.raises(AttributeError):
        struct.max_length_sec = 6


def test_replace_makes_a_checked_copy_and_leaves_the_original() -> None:
    """replace() returns a changed copy and leaves the original as it was."""
    say = Say("Hello", loop=1)
    louder = say.replace(loop=3, language="en-GB")
    assert (louder.text, louder.loop, louder.language) == ("Hello", 3, "en-GB")
    assert (say.loop, say.language) == (1, None)
    assert say.replace(loop=None).loop is None


@pytest.mark.parametrize(("command", "changes", "attribute", "value"), [
    (Say("Hello"), {"loop": -1}, "loop", -1),
    (Say("Hello"), {"text": "é" * 2049}, "text", "é" * 2049),
    (SendDigits("1"), {"pause_ms": 1001}, "pause_ms", 1001),
    (GetDigits(URL, max_digits=4), {"min_digits": 5}, "min_digits", 5),
    (GetDigits(URL, min_digits=4), {"max_digits": 3}, "min_digits", 4),
    (OutDial(URL, URL, PHONE_A, PHONE_B), {"if_machine": "redirect"}, "if_machine_url", NO_VALUE),
    (GetSpeech(URL, "DIG1", grammar_type="BUILTIN"), {"grammar_type": None}, "grammar_file", "DIG1"),
    (Say("Hello"), {"text": None}, "text", NO_VALUE),
    (GetDigits(URL), {"prompts": [Hangup()]}, "prompts", [Hangup()]),
])
def test_replace_rechecks_every_rule(command: Any, changes: dict[str, Any], attribute: str, value: Any) -> None:
    """replace() refuses a change that breaks an attribute rule or a cross-attribute rule."""
    refused(lambda: command.replace(**changes), command=type(command).__name__, attribute=attribute,
            value=value)


def test_replace_refuses_an_unknown_attribute() -> None:
    """replace() refuses an attribute the command does not have, with a did-you-mean hint."""
    err = refused(lambda: Say("Hello").replace(privacyMode=True), command="Say", attribute="privacyMode")
    assert "did you mean privacy_mode?" in str(err)
