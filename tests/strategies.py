"""Hypothesis strategies shared by the tests: valid PerCL parts, and ways to spoil them."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import strategies as st

import percl
from percl.attributes import (
    Boolean,
    Integer,
    JsonObject,
    Kind,
    Nested,
    Number,
    OneOf,
    Pattern,
    Prompts,
    StringList,
    Text,
    Url,
)
from percl.model import Command, Struct

hosts = st.sampled_from(["voice.example.com", "127.0.0.1:8080", "ivr.example.org", "[::1]"])
paths = st.lists(st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=8),
                 max_size=3).map("/".join)
urls = st.builds(lambda scheme, host, path: f"{scheme}://{host}/{path}",
                 st.sampled_from(["http", "https"]), hosts, paths)
json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=10) | st.floats(
    allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=4,
)


def _text(kind: Text) -> st.SearchStrategy[str]:
    size = min(kind.max_chars or 30, 30)
    strategy = st.text(min_size=1 if kind.non_empty else 0, max_size=size)
    if kind.non_empty:
        strategy = strategy.filter(str.strip)
    if kind.max_bytes is not None:
        strategy = strategy.filter(lambda s: len(s.encode()) <= kind.max_bytes)
    return strategy


def values_for(kind: Kind) -> st.SearchStrategy[Any]:
    """Valid values for an attribute kind."""
    if isinstance(kind, Url):
        if kind.schemes is None:  # AudioStream's gRPC location
            return st.builds(lambda host, port: f"grpcs://{host}{port}",
                             st.sampled_from(["stream.example.com", "10.0.0.1"]),
                             st.sampled_from(["", ":443", ":80"]))
        return urls
    if isinstance(kind, Pattern):
        if kind.regex.pattern.startswith("(?="):  # DTMF with pause markers: needs one key
            return st.from_regex(r"[0-9#*][0-9#*wW]{0,12}", fullmatch=True)
        return st.from_regex(kind.regex, fullmatch=True)
    if isinstance(kind, Text):
        return _text(kind)
    if isinstance(kind, Integer):
        return st.integers(min_value=kind.minimum, max_value=kind.maximum if kind.maximum is not None
                           else 10**6)
    if isinstance(kind, Number):
        return st.integers(int(kind.minimum), int(kind.maximum)) | st.floats(
            kind.minimum, kind.maximum, allow_nan=False)
    if isinstance(kind, Boolean):
        return st.booleans()
    if isinstance(kind, OneOf):
        return st.sampled_from(kind.values)
    if isinstance(kind, StringList):
        return st.lists(st.text(max_size=8), max_size=3)
    if isinstance(kind, JsonObject):
        return st.dictionaries(st.text(max_size=8), json_values, max_size=3)
    if isinstance(kind, Nested):
        return structs(kind.struct)
    if isinstance(kind, Prompts):
        return st.lists(nestable_commands(), max_size=2)
    raise AssertionError(f"no strategy for {kind!r}")


# Attributes whose valid values depend on another attribute of the same command.
_PAIRED: dict[type[Struct], st.SearchStrategy[dict[str, Any]]] = {
    percl.GetSpeech: st.one_of(
        st.fixed_dictionaries({"grammar_type": st.sampled_from(["BUILTIN"]),
                               "grammar_file": st.sampled_from(percl.BUILTIN_GRAMMARS)}),
        st.fixed_dictionaries({"grammar_file": urls},
                              optional={"grammar_type": st.just("URL")}),
    ),
    percl.OutDial: st.one_of(
        st.fixed_dictionaries({"if_machine": st.just("redirect"), "if_machine_url": urls}),
        st.fixed_dictionaries({}, optional={"if_machine": st.just("hangup")}),
    ),
    percl.AddToConference: st.one_of(
        st.fixed_dictionaries({"allow_call_control": st.just(True),
                               "call_control_sequence": st.from_regex(r"[0-9#*]{1,6}", fullmatch=True),
                               "call_control_url": urls}),
        st.fixed_dictionaries({}, optional={"allow_call_control": st.just(False)}),
    ),
}


@st.composite
def structs(draw: st.DrawFn, cls: type[Struct], *, all_attributes: bool = False) -> Any:
    """A valid instance of ``cls``: required attributes always, optional ones at random."""
    paired = draw(_PAIRED[cls]) if cls in _PAIRED else {}
    kwargs: dict[str, Any] = {}
    for name, attr in cls.attributes.items():
        if name in paired or (cls in _PAIRED and name in _paired_names(cls)):
            continue
        if attr.required or all_attributes or draw(st.booleans()):
            kwargs[name] = draw(values_for(attr.kind))
    kwargs.update(paired)
    if cls is percl.GetDigits and "min_digits" in kwargs and "max_digits" in kwargs:
        low, high = sorted((kwargs["min_digits"], kwargs["max_digits"]))
        kwargs["min_digits"], kwargs["max_digits"] = low, max(high, 1)
    return cls(**kwargs)


def _paired_names(cls: type[Struct]) -> set[str]:
    return {"GetSpeech": {"grammar_type", "grammar_file"},
            "OutDial": {"if_machine", "if_machine_url"},
            "AddToConference": {"allow_call_control", "call_control_sequence",
                                "call_control_url"}}[cls.__name__]


def commands(classes: list[type[Command]] | None = None) -> st.SearchStrategy[Command]:
    """Any valid command (of the given classes)."""
    pool = classes or list(percl.COMMANDS.values())
    return st.sampled_from(pool).flatmap(structs)


def nestable_commands() -> st.SearchStrategy[Command]:
    return commands([cls for cls in percl.COMMANDS.values() if cls.nestable])


@st.composite
def scripts(draw: st.DrawFn) -> percl.Script:
    """A valid script: optional PlayEarlyMedia first, plain commands, at most one terminal last."""
    plain = [cls for cls in percl.COMMANDS.values() if not cls.terminal and not cls.first_only]
    terminal = [cls for cls in percl.COMMANDS.values() if cls.terminal]
    parts: list[Command] = []
    if draw(st.booleans()):
        parts.append(draw(structs(percl.PlayEarlyMedia)))
    parts += draw(st.lists(commands(plain), max_size=3))
    if draw(st.booleans()):
        parts.append(draw(commands(terminal)))
    return percl.Script(parts)


def invalid_values_for(kind: Kind) -> st.SearchStrategy[Any]:
    """Values an attribute of this kind must refuse (wrong type, out of range, malformed)."""
    if isinstance(kind, (Text, OneOf)):
        base = st.sampled_from([5, True, b"bytes", ["list"]])
        if isinstance(kind, Url):
            malformed = ["/relative/path", "example.com/x", "https://", "https://exa mple.com/x", ""]
            if kind.schemes is None:
                return base | st.sampled_from(malformed + ["grpcs://stream.example.com:8443"])
            return base | st.sampled_from(malformed + ["ftp://example.com/x"])
        if isinstance(kind, Pattern):
            return base | st.sampled_from(["", " ", "abc def"])
        if isinstance(kind, OneOf):
            return base | st.text(max_size=12).filter(lambda s: s not in kind.values)
        if kind.max_chars is not None:
            return base | st.just("x" * (kind.max_chars + 1))
        if kind.max_bytes is not None:
            return base | st.just("é" * (kind.max_bytes // 2 + 1))
        if kind.non_empty:
            return base | st.just("")
        return base
    if isinstance(kind, Integer):
        bad = st.sampled_from(["5", True, False, 1.0, "1e3"])
        if kind.minimum is not None:
            bad = bad | st.integers(max_value=kind.minimum - 1)
        if kind.maximum is not None:
            bad = bad | st.integers(min_value=kind.maximum + 1)
        return bad
    if isinstance(kind, Number):
        return st.sampled_from(["0.5", True, float("nan")]) | st.floats(min_value=1.0001, max_value=1e6) | \
            st.floats(max_value=-0.0001, min_value=-1e6)
    if isinstance(kind, Boolean):
        return st.sampled_from([0, 1, "true", "false", "yes"])
    if isinstance(kind, StringList):
        return st.sampled_from(["one", [1], [None], ("a", 2)])
    if isinstance(kind, JsonObject):
        return st.sampled_from([[], "x", {1: "a"}, {"a": object()}, {"a": float("inf")}])
    if isinstance(kind, Nested):
        return st.sampled_from([{}, "x", 5, []])
    if isinstance(kind, Prompts):
        return st.sampled_from([percl.Say("x"), "Say", [percl.Hangup()], [percl.Redirect("https://a.example/")],
                                [{"Say": {"text": "x"}}], [percl.Say]])
    raise AssertionError(f"no invalid values for {kind!r}")


def invalid_wire_values_for(kind: Kind) -> st.SearchStrategy[Any]:
    """Decoded-JSON values an attribute of this kind must refuse in a PerCL document."""
    if isinstance(kind, Prompts):
        return st.sampled_from(["Say", {"Say": {"text": "x"}}, [{"Hangup": {}}], [5],
                                [{"Redirect": {"actionUrl": "https://a.example/"}}], [{"Say": {}}]])
    if isinstance(kind, Nested):
        return st.sampled_from(["x", 5, [], {"unknownField": 1}])
    return invalid_values_for(kind).filter(_is_json)


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
