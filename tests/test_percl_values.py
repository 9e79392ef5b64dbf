"""Values held by commands stay what was checked, whatever the caller does afterwards."""

from __future__ import annotations

import pytest

from percl import Hangup, PerclError, Say, Script, TTSEngine
from tests.oracle import sdk_accepts


def test_engine_parameters_are_copied_when_the_command_is_built():
    """Changing the caller's dict after building a Say does not change the Say."""
    parameters = {"voice": {"ids": [1, 2]}}
    say = Say("Hi", engine=TTSEngine(name="ElevenLabs", parameters=parameters))
    parameters["voice"]["ids"].append(3)
    assert say.engine.parameters == {"voice": {"ids": [1, 2]}}


def test_reading_engine_parameters_gives_a_copy():
    """Mutating what attribute access returns leaves the command as it was built."""
    engine = TTSEngine(name="ElevenLabs", parameters={"speed": 1})
    engine.parameters["speed"] = 99
    assert engine.parameters == {"speed": 1}


def test_tuples_in_engine_parameters_become_json_arrays():
    """A tuple inside parameters is written as a JSON array and round-trips equal."""
    say = Say("Hi", engine=TTSEngine(name="ElevenLabs", parameters={"tags": ("a", "b")}))
    assert say.to_wire()["Say"]["engine"]["parameters"] == {"tags": ["a", "b"]}
    assert Script.from_json(Script(say).to_json()) == Script(say)
    sdk_accepts(say.to_wire())


def test_a_lone_surrogate_is_refused_as_a_perclerror():
    """Text that cannot be written as UTF-8 is refused by the builder and the parser alike."""
    with pytest.raises(PerclError, match="lone surrogate"):
        Hangup(reason="\ud800")
    with pytest.raises(PerclError, match=r"script\[0\] Say.text"):
        Script.from_json('[{"Say": {"text": "\\ud800"}}]')


@pytest.mark.parametrize(
    "text",
    ['[{"Pause": {"length": ' + "9" * 5000 + "}}]", "[" * 100_000 + "]" * 100_000],
    ids=["huge-integer", "deep-nesting"],
)
def test_documents_python_cannot_read_are_refused_as_perclerror(text):
    """A huge integer or absurd nesting gives PerclError, never a ValueError or RecursionError."""
    with pytest.raises(PerclError, match="not valid"):
        Script.from_json(text)


def test_play_takes_a_freeclimb_recording_path_as_it_is():
    """A recordingUrl given as FreeClimb API path (/Accounts/...) plays as-is; other paths do not."""
    from percl import Play

    play = Play("/Accounts/AC1/Recordings/RE1/Download")
    assert play.to_wire() == {"Play": {"file": "/Accounts/AC1/Recordings/RE1/Download"}}
    sdk_accepts(play.to_wire())
    with pytest.raises(PerclError, match="FreeClimb /Accounts/"):
        Play("/recordings/RE1.wav")


def test_integers_beyond_32_bits_are_refused():
    """An integer FreeClimb's 32-bit fields cannot hold is refused."""
    from percl import Pause

    assert Pause(2**31 - 1).length == 2**31 - 1
    with pytest.raises(PerclError, match="at most 2147483647"):
        Pause(2**31)


@pytest.mark.parametrize("build", [
    lambda: TTSEngine(parameters={"v": "\udc80"}),
    lambda: TTSEngine(parameters={"\udc80": 1}),
    lambda: __import__("percl").AudioStream("grpcs://s.example.com", meta_data=["\udc80"]),
], ids=["parameter-value", "parameter-key", "meta-data"])
def test_strings_anywhere_must_be_encodable(build):
    """A lone surrogate in engine parameters or AudioStream metaData is refused when built."""
    with pytest.raises(PerclError, match="lone surrogate"):
        build()


def test_deeply_nested_values_are_refused_not_crashed():
    """Parameters or prompts nested hundreds deep give PerclError, never RecursionError."""
    import percl

    deep: dict = {}
    level = deep
    for _ in range(3000):
        level["a"] = {}
        level = level["a"]
    with pytest.raises(PerclError, match="nested too deeply"):
        TTSEngine(parameters=deep)
    document = {"GetDigits": {"actionUrl": "https://a.example"}}
    level = document
    for _ in range(600):
        inner = {"GetDigits": {"actionUrl": "https://a.example"}}
        level["GetDigits"]["prompts"] = [inner]
        level = inner
    problems = percl.check([document])
    assert [str(p) for p in problems] == ["script[0]: not valid PerCL: commands are nested too deeply"]


def test_extend_applies_the_same_order_rules_as_append():
    """Script.extend adds commands in order and refuses one after a terminal command."""
    from percl import Redirect

    script = Script().extend([Say("a"), Say("b")])
    assert [c.text for c in script] == ["a", "b"]
    with pytest.raises(PerclError, match="terminal"):
        script.extend([Redirect("https://x.example/next"), Say("never")])
