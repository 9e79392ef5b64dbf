"""Properties of the PerCL builder over generated commands and scripts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import percl
from percl import PerclError, Script
from tests.oracle import sdk_accepts_script
from tests.strategies import (
    commands,
    invalid_values_for,
    invalid_wire_values_for,
    scripts,
    structs,
    values_for,
)

ALL = sorted(percl.COMMANDS)


@given(scripts())
def test_valid_scripts_round_trip_and_satisfy_the_sdk(script):
    """Any script built from valid parts serialises to JSON that parses back equal and the SDK accepts."""
    text = script.to_json()
    assert Script.from_json(text) == script
    assert Script.from_json(script.to_json(indent=2)) == script
    assert script.to_json() == text  # deterministic
    assert percl.check(json.loads(text)) == []
    sdk_accepts_script(json.loads(text))


@pytest.mark.parametrize("name", ALL)
@given(data=st.data())
def test_every_command_with_all_attributes_round_trips(name, data):
    """Each command with every attribute set survives serialising and parsing unchanged."""
    command = data.draw(structs(percl.COMMANDS[name], all_attributes=True))
    script = Script(command)
    assert Script.from_json(script.to_json()) == script
    sdk_accepts_script(script.to_wire())


@pytest.mark.parametrize("name", [n for n in ALL if percl.COMMANDS[n].attributes])
@given(data=st.data())
def test_an_invalid_attribute_always_raises_our_error(name, data):
    """Replacing any one attribute of a valid command with an invalid value raises PerclError naming it."""
    cls = percl.COMMANDS[name]
    command = data.draw(structs(cls))
    attribute = data.draw(st.sampled_from(sorted(cls.attributes)))
    bad = data.draw(invalid_values_for(cls.attributes[attribute].kind))
    with pytest.raises(PerclError) as caught:
        command.replace(**{attribute: bad})
    assert caught.value.command == name
    assert caught.value.attribute == attribute
    assert f"{name}.{attribute}" in str(caught.value)


@pytest.mark.parametrize("name", [n for n in ALL if percl.COMMANDS[n].attributes])
@given(data=st.data())
def test_an_invalid_attribute_in_a_document_is_reported_by_wire_name(name, data):
    """A document with one spoiled attribute fails to parse, naming the camelCase attribute."""
    cls = percl.COMMANDS[name]
    attribute = data.draw(st.sampled_from(sorted(cls.attributes)))
    attr = cls.attributes[attribute]
    bad = data.draw(invalid_wire_values_for(attr.kind))
    element = data.draw(structs(cls)).to_wire()
    element[name][attr.wire] = bad
    document = [element]
    problems = percl.check(document)
    assert len(problems) == 1
    problem = problems[0]
    if problem.location == "[0]":
        assert problem.command == name
        assert problem.attribute.split(".")[0] == attr.wire
    else:  # a fault inside one of the nested prompt commands is located there
        assert problem.location.startswith(f"[0].{attr.wire}[")


@given(st.lists(commands(), min_size=1, max_size=6))
def test_a_script_accepts_exactly_the_orderings_freeclimb_runs(parts):
    """A list of commands makes a Script iff nothing follows a terminal one and PlayEarlyMedia is first."""
    runnable = all(not cmd.terminal for cmd in parts[:-1]) and all(
        not cmd.first_only for cmd in parts[1:])
    if runnable:
        assert list(Script(parts)) == parts
    else:
        with pytest.raises(PerclError):
            Script(parts)


@pytest.mark.parametrize("name", [n for n in ALL if percl.COMMANDS[n].attributes])
@given(data=st.data())
def test_generated_values_pass_their_attribute_kind(name, data):
    """Every value the shared strategies call valid is accepted by its attribute (guards the generators)."""
    attr = percl.COMMANDS[name].attributes[data.draw(st.sampled_from(sorted(percl.COMMANDS[name].attributes)))]
    value = data.draw(values_for(attr.kind))
    attr.kind.check(value)
