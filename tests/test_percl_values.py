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
