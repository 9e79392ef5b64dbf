"""Loading flow files: every load-time error names its file, flow, action and field, and the app
refuses to start on one; valid files (the shipped examples too) load into runnable flows."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import create_app
from handlers.config import ConfigError
from handlers.flows import FlowError, load_flows
from handlers.flows.model import Target, flow_id_for
from tests.freeclimb import SECRET, freeclimb_id, inbound_call, post

EXAMPLES = Path(__file__).resolve().parents[1] / "flows"
OWNER = "7a0c2b0e-5d3f-4f5e-9b1a-1c2d3e4f5a61"
CASE_THEN = [{"say": "yes"}]


def write(directory: Path, content: str | bytes | dict[str, Any], name: str = "flows.yaml") -> Path:
    """Write a flow file: YAML text as given, bytes as they are, a mapping dumped as YAML."""
    path = directory / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path


def one_flow(actions: Any, **document: Any) -> dict[str, Any]:
    """A document holding the flow ``main`` with these actions, plus other top-level keys."""
    return {"flows": [{"name": "main", "actions": actions}], **document}


def refused(path: Path) -> FlowError:
    with pytest.raises(FlowError) as info:
        load_flows(path)
    return info.value


def assert_names(err: FlowError, *, file: Path | str, flow: str | None = None,
                 action: str | None = None, field: str | None = None, says: str = "") -> None:
    """The error's parts, each also in its message, and the reason in words."""
    assert (err.file, err.flow, err.action, err.field) == (str(file), flow, action, field)
    message = str(err)
    assert message.startswith(f"{file}: ")
    if flow is not None:
        assert f"flow {flow!r}" in message
    if action is not None:
        assert f"action {action}" in message
    if field is not None:
        assert f"field {field!r}" in message
    assert says in err.reason
    assert message.endswith(err.reason)


# --- the file as a whole ---------------------------------------------------------------------


@pytest.mark.parametrize(("content", "field", "says"), [
    pytest.param("flows: [\n", None, "is not valid YAML at line 2, column 1", id="not-yaml"),
    pytest.param("flows:\n  - name: main\n    actions:\n      - say: {text: hi\n", None,
                 "is not valid YAML at line 5, column 1", id="not-yaml-unclosed-mapping"),
    pytest.param("flows:\n\t- name: main\n", None, "is not valid YAML at line 2, column 1",
                 id="not-yaml-tab"),
    pytest.param(b"flows:\n  - name: caf\xe9\n", None, "is not UTF-8 text", id="not-utf8"),
    pytest.param("- main\n- other\n", None, "must be a mapping with flows, numbers and/or default",
                 id="top-level-list"),
    pytest.param("just text\n", None, "must be a mapping", id="top-level-text"),
    pytest.param("flow:\n  - name: main\n", None, "unknown key 'flow'", id="unknown-top-level-key"),
    pytest.param("flows: {name: main}\n", "flows", "must be a list of flows", id="flows-mapping"),
    pytest.param("flows:\n", "flows", "must be a list of flows", id="flows-empty-value"),
    pytest.param("flows: [main]\n", None, "flows[0] must be a mapping with name and actions",
                 id="flow-not-mapping"),
    pytest.param("flows:\n  - {name: main, actions: []}\n  - [say, hi]\n", None,
                 "flows[1] must be a mapping", id="second-flow-not-mapping"),
    pytest.param("", None, "no flows defined", id="empty-file"),
    pytest.param("flows: []\n", None, "no flows defined", id="no-flows"),
    pytest.param("numbers: {'+13125550100': main}\n", None, "no flows defined",
                 id="numbers-but-no-flows"),
])
def test_a_file_that_is_not_a_flow_document_is_refused(tmp_path, content, field, says):
    """A file that cannot be read as a flow document is an error naming the file (and the key)."""
    path = write(tmp_path, content)
    assert_names(refused(path), file=path, field=field, says=says)


def test_a_path_that_cannot_be_read_is_refused(tmp_path):
    """load_flows on a path that does not exist says it cannot read that file."""
    path = tmp_path / "nowhere.yaml"
    assert_names(refused(path), file=path, says="cannot read: No such file or directory")


def test_a_folder_without_flow_files_is_refused(tmp_path):
    """A folder with no .yaml or .yml file in it is an error naming the folder."""
    (tmp_path / "README.txt").write_text("flows: []\n", encoding="utf-8")
    (tmp_path / "nested.yaml").mkdir()
    assert_names(refused(tmp_path), file=tmp_path, says="holds no .yaml or .yml files")


# --- numbers and default ---------------------------------------------------------------------


@pytest.mark.parametrize(("document", "says"), [
    pytest.param("numbers: ['+13125550100']\n", "must map called numbers to flow names",
                 id="numbers-list"),
    pytest.param("numbers:\n  +13125550100: main\n", "13125550100 is not an E.164 number",
                 id="unquoted-number"),
    pytest.param("numbers:\n  '3125550100': main\n", "'3125550100' is not an E.164 number",
                 id="no-plus"),
    pytest.param("numbers:\n  '+1 312 555 0100': main\n", "is not an E.164 number",
                 id="spaces"),
    pytest.param("numbers:\n  '+03125550100': main\n", "is not an E.164 number",
                 id="leading-zero"),
    pytest.param("numbers:\n  '+13125550100': [main]\n", "+13125550100 must map to a flow name",
                 id="not-a-flow-name"),
    pytest.param("numbers:\n  '+13125550100': nowhere\n",
                 "+13125550100 maps to 'nowhere', which is not a flow", id="missing-flow"),
])
def test_a_bad_number_mapping_is_refused(tmp_path, document, says):
    """Each called number must be a quoted E.164 string that maps to an existing flow."""
    path = write(tmp_path, "flows:\n  - {name: main, actions: []}\n" + document)
    assert_names(refused(path), file=path, field="numbers", says=says)


def test_an_unquoted_number_error_tells_the_author_to_quote_it(tmp_path):
    """YAML reads +1312... as an integer, and the error says to quote the number."""
    path = write(tmp_path, "flows:\n  - {name: main, actions: []}\nnumbers:\n  +13125550100: main\n")
    assert "quote it" in refused(path).reason


@pytest.mark.parametrize(("document", "says"), [
    pytest.param("default: [main]\n", "must be a flow name", id="not-a-name"),
    pytest.param("default: nowhere\n", "'nowhere' is not a flow", id="missing-flow"),
])
def test_a_bad_default_is_refused(tmp_path, document, says):
    """The default must name a flow that exists."""
    path = write(tmp_path, "flows:\n  - {name: main, actions: []}\n" + document)
    assert_names(refused(path), file=path, field="default", says=says)


def test_several_flows_and_no_default_is_refused(tmp_path):
    """With more than one flow the files must say which flow answers other numbers."""
    path = write(tmp_path, {"flows": [{"name": "a", "actions": []}, {"name": "b", "actions": []}]})
    assert_names(refused(path), file=path, field="default", says="several flows and no default")


@pytest.mark.parametrize(("first", "second", "field", "says"), [
    pytest.param({"flows": [{"name": "main", "actions": []}], "default": "main"},
                 {"flows": [{"name": "main", "actions": []}]},
                 "name", "a flow of this name is already in", id="duplicate-flow-name"),
    pytest.param({"flows": [{"name": "main", "actions": []}], "numbers": {"+13125550100": "main"}},
                 {"flows": [{"name": "other", "actions": []}], "numbers": {"+13125550100": "other"},
                  "default": "main"},
                 "numbers", "+13125550100 is already mapped in", id="same-number-twice"),
    pytest.param({"flows": [{"name": "main", "actions": []}], "default": "main"},
                 {"flows": [{"name": "other", "actions": []}], "default": "other"},
                 "default", "the default flow is already set in", id="two-defaults"),
])
def test_a_clash_between_two_files_names_both(tmp_path, first, second, field, says):
    """A name, number or default given twice in a folder is an error in the later file that
    names the earlier one."""
    earlier, later = write(tmp_path, first, "a.yaml"), write(tmp_path, second, "b.yml")
    err = refused(tmp_path)
    assert err.file == str(later)
    assert err.field == field
    assert says in err.reason
    assert str(earlier) in err.reason
    assert str(err).startswith(f"{later}: ")


# --- flows -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("flows", "flow", "field", "says"), [
    pytest.param([{"actions": []}], None, "name", "every flow needs a name", id="no-name"),
    pytest.param([{"name": "", "actions": []}], None, "name", "every flow needs a name",
                 id="empty-name"),
    pytest.param([{"name": "front desk", "actions": []}], "front desk", "name",
                 "every flow needs a name (letters, digits, - and _)", id="name-with-space"),
    pytest.param([{"name": "1st", "actions": []}], "1st", "name", "needs a name",
                 id="name-starts-with-digit"),
    pytest.param([{"name": 5, "actions": []}], "5", "name", "needs a name", id="name-not-text"),
    pytest.param([{"name": "main", "steps": []}], "main", None, "unknown key 'steps'",
                 id="unknown-flow-key"),
    pytest.param([{"name": "main", "actions": []}, {"name": "main", "actions": []}], "main",
                 "name", "a flow of this name is already in", id="duplicate-name"),
    pytest.param([{"name": "main", "id": "not-a-uuid", "actions": []}], "main", "id",
                 "must be a UUID, got 'not-a-uuid'", id="id-not-uuid"),
    pytest.param([{"name": "main", "id": 12, "actions": []}], "main", "id", "must be a UUID",
                 id="id-number"),
    pytest.param([{"name": "a", "id": OWNER, "actions": []},
                  {"name": "b", "id": OWNER.upper(), "actions": []}], "b", "id",
                 "flow 'a' has the same id", id="duplicate-id"),
    pytest.param([{"name": "a", "actions": []},
                  {"name": "b", "id": flow_id_for("a"), "actions": []}], "b", "id",
                 "flow 'a' has the same id", id="id-equal-to-a-derived-id"),
    pytest.param([{"name": "main"}], "main", "actions", "must be a list of actions",
                 id="no-actions"),
    pytest.param([{"name": "main", "actions": {"say": "hi"}}], "main", "actions",
                 "must be a list of actions", id="actions-mapping"),
    pytest.param([{"name": "main", "actions": "say hi"}], "main", "actions",
                 "must be a list of actions", id="actions-text"),
])
def test_a_bad_flow_header_is_refused(tmp_path, flows, flow, field, says):
    """A flow's name, id and actions are checked, and the error names the flow."""
    path = write(tmp_path, {"flows": flows, "default": "a"})
    assert_names(refused(path), file=path, flow=flow, field=field, says=says)


# --- actions: shape --------------------------------------------------------------------------


@pytest.mark.parametrize(("actions", "action", "field", "says"), [
    pytest.param(["say hi"], "actions[0]", None, "an action is a mapping", id="not-a-mapping"),
    pytest.param([{"say": "hi"}, None], "actions[1]", None, "an action is a mapping",
                 id="empty-item"),
    pytest.param([{"name": "start"}], "actions[0]", None, "this has nothing", id="no-kind"),
    pytest.param([{"say": "hi", "pause": 500}], "actions[0]", None, "this has say, pause",
                 id="two-kinds"),
    pytest.param([{"speak": "hi"}], "actions[0]", None, "an action has exactly one of say, play",
                 id="unknown-kind"),
    pytest.param([{"say": "hi"}, {"speak": "hi"}], "actions[1]", None, "this has speak",
                 id="unknown-kind-second"),
    pytest.param([{"name": "1st", "say": "hi"}], "actions[0]", "name",
                 "an action name is letters, digits, - and _", id="label-starts-with-digit"),
    pytest.param([{"name": "the end", "say": "hi"}], "actions[0]", "name", "an action name is",
                 id="label-with-space"),
    pytest.param([{"name": 7, "say": "hi"}], "actions[0]", "name", "an action name is",
                 id="label-number"),
    pytest.param([{"name": "again", "say": "a"}, {"name": "again", "say": "b"}], "actions[1]",
                 "name", "another action is already named 'again'", id="duplicate-label"),
    pytest.param([{"name": "again", "say": "a"},
                   {"menu": {"timeout": [{"name": "again", "say": "b"}]}}],
                 "actions[1] (menu).timeout[0]", "name", "already named 'again'",
                 id="duplicate-label-nested"),
])
def test_a_malformed_action_is_refused(tmp_path, actions, action, field, says):
    """Each action is a mapping with exactly one known kind and an optional unique name."""
    path = write(tmp_path, one_flow(actions))
    assert_names(refused(path), file=path, flow="main", action=action, field=field, says=says)


# --- actions: fields -------------------------------------------------------------------------

FIELD_ERRORS = [
    # a mapping where no shorthand applies
    ("say-null", {"say": None}, None, "say takes a mapping of its fields"),
    ("menu-text", {"menu": "press 1"}, None, "menu takes a mapping of its fields"),
    ("transfer-text", {"transfer": "+13125550100"}, None, "transfer takes a mapping"),
    # unknown fields, with what the action takes
    ("unknown-field", {"say": {"text": "hi", "colour": "red"}}, "colour",
     "unknown field; say takes language, loop, privacy_mode, text"),
    ("unknown-field-menu", {"menu": {"prompt": "hi", "option": {"1": "x"}}}, "option",
     "options, timeout, invalid, fallback"),
    ("unknown-field-transfer", {"transfer": {"to": "+13125550100", "fallback": []}}, "fallback",
     "unknown field; transfer takes caller_id, hold_message, send_digits, timeout, to, no_answer"),
    ("unknown-field-record-call", {"record_call": {"format": "mp3"}}, "format", "unknown field"),
    ("unknown-field-goto", {"goto": {"label": "x"}}, "label", "goto takes action, flow"),
    # required fields
    ("say-without-text", {"say": {"language": "en-US"}}, "text", "is required"),
    ("play-without-file", {"play": {"loop": 2}}, "file", "is required"),
    ("pause-without-length", {"pause": {}}, "length", "is required"),
    ("speech-menu-without-grammar", {"speech_menu": {"prompt": "Say sales"}}, "grammar_file",
     "is required"),
    ("transfer-without-to", {"transfer": {"timeout": 30}}, "to", "is required"),
    ("sms-without-text", {"sms": {"to": "+13125550100"}}, "text", "is required"),
    ("sms-without-to", {"sms": {"text": "hi"}}, "to", "is required"),
    # text
    ("text-list", {"say": ["a", "b"]}, "text", "must be text, not list"),
    ("text-bool", {"say": True}, "text", "must be text, not bool"),
    ("text-mapping", {"say": {"text": {"en": "hi"}}}, "text", "must be text, not dict"),
    ("prompt-list", {"menu": {"prompt": ["a"]}}, "prompt", "must be text"),
    # PerCL attribute rules
    ("say-language", {"say": {"text": "hi", "language": "xx"}}, "language", "must be one of"),
    ("say-loop-negative", {"say": {"text": "hi", "loop": -1}}, "loop", "must not be negative"),
    ("say-loop-text", {"say": {"text": "hi", "loop": "2"}}, "loop", "must be an integer, not str"),
    ("say-privacy", {"say": {"text": "hi", "privacy_mode": "yes"}}, "privacy_mode",
     "must be true or false"),
    ("play-loop", {"play": {"file": "https://example.com/a.wav", "loop": -1}}, "loop",
     "must not be negative"),
    ("pause-negative", {"pause": -1}, "length", "must not be negative (got -1)"),
    ("pause-text", {"pause": "500ms"}, "length", "must be an integer, not str"),
    ("max-digits-zero", {"menu": {"max_digits": 0}}, "max_digits", "must be at least 1"),
    ("min-digits-negative", {"menu": {"min_digits": -1}}, "min_digits", "must not be negative"),
    ("menu-finish-key", {"menu": {"finish_on_key": "x"}}, "finish_on_key", "must be one of"),
    ("menu-timeout-ms", {"menu": {"initial_timeout_ms": -5}}, "initial_timeout_ms",
     "must not be negative"),
    ("menu-flush-buffer", {"menu": {"flush_buffer": 1}}, "flush_buffer", "must be true or false"),
    ("speech-grammar-type", {"speech_menu": {"grammar_file": "https://example.com/g.xml",
                                             "grammar_type": "XML"}},
     "grammar_type", "must be one of URL, BUILTIN"),
    ("record-finish-key", {"record": {"finish_on_key": "x"}}, "finish_on_key", "must be one of"),
    ("record-max-length", {"record": {"max_length_sec": 0}}, "max_length_sec", "must be at least 1"),
    ("record-beep", {"record": {"play_beep": "yes"}}, "play_beep", "must be true or false"),
    ("transcribe-max-length", {"transcribe": {"max_length_sec": 61}}, "max_length_sec",
     "must be between 1 and 60"),
    ("hangup-reason", {"hangup": 5}, "reason", "must be a string, not int"),
    ("reject-reason", {"reject": {"reason": ["busy"]}}, "reason", "must be a string"),
    ("send-digits", {"transfer": {"to": "+13125550100", "send_digits": "12 34"}}, "send_digits",
     "must be"),
    # the loader's own rules
    ("retries-too-many", {"menu": {"retries": 11}}, "retries", "must be between 0 and 10"),
    ("retries-negative", {"menu": {"retries": -1}}, "retries", "must be between 0 and 10"),
    ("retries-text", {"menu": {"retries": "2"}}, "retries", "must be a whole number, not str"),
    ("retries-bool", {"menu": {"retries": True}}, "retries", "must be a whole number, not bool"),
    ("transfer-timeout-zero", {"transfer": {"to": "+13125550100", "timeout": 0}}, "timeout",
     "must be between 5 and 300"),
    ("transfer-timeout-short", {"transfer": {"to": "+13125550100", "timeout": 4}}, "timeout",
     "must be between 5 and 300"),
    ("transfer-timeout-long", {"transfer": {"to": "+13125550100", "timeout": 301}}, "timeout",
     "must be between 5 and 300"),
    ("transfer-hold-message", {"transfer": {"to": "+13125550100", "hold_message": ["x"]}},
     "hold_message", "must be text"),
    ("capture-dotted", {"menu": {"capture": "call.from"}}, "capture", "must be a variable name"),
    ("capture-digit-first", {"speech_menu": {"grammar_file": "https://example.com/g.xml",
                                             "capture": "1st"}},
     "capture", "must be a variable name"),
    ("capture-number", {"transcribe": {"capture": 5}}, "capture", "must be a variable name"),
    ("owner-not-mapping", {"record": {"owner": OWNER}}, "owner", "must be a mapping with id"),
    ("owner-without-id", {"record": {"owner": {"type": "agent"}}}, "owner",
     "must be a mapping with id"),
    ("owner-extra-key", {"record": {"owner": {"id": OWNER, "name": "Sales"}}}, "owner",
     "must be a mapping with id"),
    ("owner-id-not-uuid", {"record": {"owner": {"id": "sales-desk"}}}, "owner",
     "id must be a UUID, got 'sales-desk'"),
    ("owner-type", {"record": {"owner": {"type": "queue", "id": OWNER}}}, "owner",
     "type must be agent"),
    ("on-end-list", {"record": {"on_end": ["thanks"]}}, "on_end", "must be text"),
    ("transfer-to-local", {"transfer": {"to": "3125550100"}}, "to", "must be an E.164 number"),
    ("transfer-to-unquoted", {"transfer": {"to": 13125550100}}, "to", "must be an E.164 number"),
    ("transfer-caller-id", {"transfer": {"to": "+13125550100", "caller_id": "555-0100"}},
     "caller_id", "must be an E.164 number"),
    ("sms-to", {"sms": {"to": "+1-312-555-0100", "text": "hi"}}, "to", "must be an E.164 number"),
    ("sms-from", {"sms": {"to": "+13125550100", "from": "Example", "text": "hi"}}, "from",
     "must be an E.164 number"),
    # rules between fields, checked by building the PerCL command
    ("min-above-max", {"menu": {"min_digits": 3, "max_digits": 2}}, "min_digits",
     "must not exceed max_digits (2)"),
    ("builtin-grammar-not-builtin", {"speech_menu": {"grammar_file": "https://example.com/g.xml",
                                                     "grammar_type": "BUILTIN"}},
     "grammar_file", "must name a built-in grammar when grammar_type is BUILTIN"),
    ("url-grammar-not-url", {"speech_menu": {"grammar_file": "sales.xml"}}, "grammar_file",
     "when grammar_type is URL"),
    ("goto-null", {"goto": None}, None, "goto needs an action name or flow"),
    ("goto-empty", {"goto": {}}, None, "goto needs an action name or flow"),
    # menu options
    ("options-list", {"menu": {"options": ["1", "2"]}}, "options",
     "must map what the caller enters to where the call goes"),
    ("options-empty", {"menu": {"options": {}}}, "options", "must map what the caller enters"),
    ("options-letter", {"menu": {"options": {"a": []}}}, "options",
     "'a' is not a key sequence (0-9, * and #)"),
    ("options-with-space", {"menu": {"options": {"1 2": []}}}, "options", "is not a key sequence"),
    ("speech-options-text", {"speech_menu": {"grammar_file": "https://example.com/g.xml",
                                             "options": "sales"}},
     "options", "must map what the caller enters"),
    # targets that are neither a list of actions nor a name
    ("timeout-target-number", {"menu": {"timeout": 5}}, "timeout",
     "must be a list of actions or the name of an action or flow"),
    ("fallback-target-mapping", {"menu": {"fallback": {"say": "bye"}}}, "fallback",
     "must be a list of actions or the name"),
    ("invalid-target-bool", {"speech_menu": {"grammar_file": "https://example.com/g.xml",
                                             "invalid": True}},
     "invalid", "must be a list of actions or the name"),
    ("no-answer-target-mapping", {"transfer": {"to": "+13125550100", "no_answer": {"say": "x"}}},
     "no_answer", "must be a list of actions or the name"),
    ("else-target-number", {"branch": {"cases": [{"if": {"variable": "call.from", "equals": "x"},
                                                   "then": CASE_THEN}], "else": 5}},
     "else", "must be a list of actions or the name"),
    # set
    ("set-empty", {"set": {}}, None, "set takes a mapping of variable names to values"),
    ("set-null", {"set": None}, None, "set takes a mapping"),
    ("set-list", {"set": ["x"]}, None, "set takes a mapping"),
    ("set-dotted-name", {"set": {"call.from": "x"}}, "call.from", "must be a variable name"),
    ("set-name-with-dash", {"set": {"my-var": "x"}}, "my-var", "must be a variable name"),
    ("set-value-list", {"set": {"department": ["sales"]}}, "department", "must be text, not list"),
    ("set-malformed-placeholder", {"set": {"department": "{{ call.from"}}, "department",
     "has a '{{' that is not closed"),
    # malformed placeholders
    ("placeholder-unclosed", {"say": "Hello {{ call.from"}, "text", "has a '{{' that is not closed"),
    ("placeholder-empty", {"say": "Hello {{ }}"}, "text", "is not a placeholder of one name"),
    ("placeholder-in-prompt", {"menu": {"prompt": "Press {{ call.from"}}, "prompt", "not closed"),
    ("placeholder-in-phone", {"transfer": {"to": "{{ call.from"}}, "to", "not closed"),
]


@pytest.mark.parametrize(("item", "field", "says"),
                         [pytest.param(item, field, says, id=case)
                          for case, item, field, says in FIELD_ERRORS])
def test_a_bad_field_is_refused(tmp_path, item, field, says):
    """A field's value is checked with its action's rule, and the error names action and field."""
    path = write(tmp_path, one_flow([{"say": "Welcome"}, item]))
    kind = next(iter(item))
    assert_names(refused(path), file=path, flow="main", action=f"actions[1] ({kind})", field=field,
                 says=says)


def test_an_unknown_field_error_lists_the_allowed_fields(tmp_path):
    """The error for an unknown field lists every field the action takes, targets included."""
    path = write(tmp_path, one_flow([{"menu": {"colour": "red"}}]))
    err = refused(path)
    allowed = err.reason.split("menu takes ", 1)[1].split(", ")
    assert set(allowed) == {"prompt", "capture", "retries", "initial_timeout_ms", "digit_timeout_ms",
                            "max_digits", "min_digits", "finish_on_key", "flush_buffer",
                            "privacy_mode", "options", "timeout", "invalid", "fallback"}


# --- branch ----------------------------------------------------------------------------------


def _branch(condition: Any) -> dict[str, Any]:
    return {"branch": {"cases": [{"if": condition, "then": CASE_THEN}]}}


def _time(**window: Any) -> dict[str, Any]:
    return _branch({"time": window})


BRANCH_ERRORS = [
    ("no-cases", {"branch": {}}, None, "branch takes cases (a list of {if, then})"),
    ("only-else", {"branch": {"else": CASE_THEN}}, None, "branch takes cases"),
    ("not-mapping", {"branch": ["x"]}, None, "branch takes cases"),
    ("unknown-key", {"branch": {"cases": [{"if": {"variable": "call.from", "equals": "x"},
                                           "then": CASE_THEN}], "otherwise": []}},
     None, "branch takes cases"),
    ("cases-empty", {"branch": {"cases": []}}, "cases", "must be a non-empty list"),
    ("cases-mapping", {"branch": {"cases": {"if": "x"}}}, "cases", "must be a non-empty list"),
    ("case-without-then", {"branch": {"cases": [{"if": {"variable": "call.from", "equals": "x"}}]}},
     "cases[0]", "each case is a mapping with if and then"),
    ("case-without-if", {"branch": {"cases": [{"then": CASE_THEN}]}}, "cases[0]",
     "each case is a mapping with if and then"),
    ("case-extra-key", {"branch": {"cases": [{"if": {"variable": "call.from", "equals": "x"},
                                              "then": CASE_THEN, "else": CASE_THEN}]}},
     "cases[0]", "each case is a mapping with if and then"),
    ("case-not-mapping", {"branch": {"cases": ["call.from"]}}, "cases[0]", "each case is a mapping"),
    ("second-case", {"branch": {"cases": [{"if": {"variable": "call.from", "equals": "x"},
                                           "then": CASE_THEN}, {"then": CASE_THEN}]}},
     "cases[1]", "each case is a mapping"),
    ("condition-text", _branch("call.from == '+13125550100'"), "cases[0].if", "must be a mapping"),
    ("unknown-test", _branch({"variable": "call.from", "contains": "555"}), "cases[0].if",
     "must be {variable: NAME, and one of equals, in, matches, starts_with}"),
    ("two-tests", _branch({"variable": "call.from", "equals": "x", "starts_with": "+1"}),
     "cases[0].if", "and one of equals"),
    ("no-test", _branch({"variable": "call.from"}), "cases[0].if", "and one of equals"),
    ("no-variable", _branch({"equals": "+13125550100"}), "cases[0].if", "must be {variable: NAME"),
    ("time-and-variable", _branch({"time": {}, "variable": "call.from", "equals": "x"}),
     "cases[0].if", "must be {variable: NAME"),
    ("variable-malformed", _branch({"variable": "call..from", "equals": "x"}),
     "cases[0].if.variable", "must be a variable name such as call.from, got 'call..from'"),
    ("variable-placeholder", _branch({"variable": "{{ call.from }}", "equals": "x"}),
     "cases[0].if.variable", "must be a variable name"),
    ("variable-number", _branch({"variable": 5, "equals": "x"}), "cases[0].if.variable",
     "must be a variable name"),
    ("in-not-list", _branch({"variable": "call.from", "in": "+13125550100"}), "cases[0].if.in",
     "must be a non-empty list"),
    ("in-empty", _branch({"variable": "call.from", "in": []}), "cases[0].if.in",
     "must be a non-empty list"),
    ("bad-regex", _branch({"variable": "call.from", "matches": "(+1"}), "cases[0].if.matches",
     "is not a regular expression"),
    ("time-not-mapping", _branch({"time": "9-5"}), "cases[0].if.time",
     "takes days, from, to and timezone"),
    ("time-unknown-key", _time(hours="9-5"), "cases[0].if.time", "takes days, from, to and timezone"),
    ("days-not-list", _time(days="mon"), "cases[0].if.time.days", "must be a list of days from mon"),
    ("days-empty", _time(days=[]), "cases[0].if.time.days", "must be a list of days"),
    ("days-unknown", _time(days=["mon", "funday"]), "cases[0].if.time.days", "must be a list of days"),
    ("from-not-clock", _time(**{"from": "9am"}), "cases[0].if.time.from",
     "must be a time as HH:MM, got '9am'"),
    ("from-hour-25", _time(**{"from": "25:00"}), "cases[0].if.time.from", "must be a time as HH:MM"),
    ("from-one-digit-hour", _time(**{"from": "9:00"}), "cases[0].if.time.from",
     "must be a time as HH:MM"),
    ("to-minute-60", _time(to="17:60"), "cases[0].if.time.to", "must be a time as HH:MM"),
    ("to-after-midnight", _time(to="24:30"), "cases[0].if.time.to", "must be a time as HH:MM"),
    ("from-24", _time(**{"from": "24:00"}), "cases[0].if.time.to", "must be later than from"),
    ("from-after-to", _time(**{"from": "17:00", "to": "09:00"}), "cases[0].if.time.to",
     "must be later than from (split an overnight window in two cases)"),
    ("from-equals-to", _time(**{"from": "09:00", "to": "09:00"}), "cases[0].if.time.to",
     "must be later than from"),
    ("unknown-timezone", _time(timezone="Mars/Olympus_Mons"), "cases[0].if.time.timezone",
     "is not a time zone such as America/Chicago, got 'Mars/Olympus_Mons'"),
    ("empty-timezone", _time(timezone=""), "cases[0].if.time.timezone", "is not a time zone"),
    ("relative-timezone", _time(timezone="../etc/passwd"), "cases[0].if.time.timezone",
     "is not a time zone"),
]


@pytest.mark.parametrize(("item", "field", "says"),
                         [pytest.param(item, field, says, id=case)
                          for case, item, field, says in BRANCH_ERRORS])
def test_a_bad_branch_is_refused(tmp_path, item, field, says):
    """A branch's cases, conditions and time windows are checked, and the error names the spot."""
    path = write(tmp_path, one_flow([{"say": "Welcome"}, item]))
    assert_names(refused(path), file=path, flow="main", action="actions[1] (branch)", field=field,
                 says=says)


# --- errors inside nested blocks name the nested action --------------------------------------


@pytest.mark.parametrize(("item", "action", "field"), [
    pytest.param({"menu": {"options": {"1": [{"say": "sales"}, {"pause": -1}]}}},
                 "actions[0] (menu).options['1'][1] (pause)", "length", id="menu-option"),
    pytest.param({"menu": {"timeout": [{"say": "Hello {{ call.from"}]}},
                 "actions[0] (menu).timeout[0] (say)", "text", id="menu-timeout"),
    pytest.param({"menu": {"invalid": [{"say": {"text": "x", "loop": -1}}]}},
                 "actions[0] (menu).invalid[0] (say)", "loop", id="menu-invalid"),
    pytest.param({"menu": {"fallback": [{"goto": {"nothing": 1}}]}},
                 "actions[0] (menu).fallback[0] (goto)", "nothing", id="menu-fallback"),
    pytest.param({"speech_menu": {"grammar_file": "https://example.com/g.xml",
                                  "options": {"Sales": [{"record": {"max_length_sec": 0}}]}}},
                 "actions[0] (speech_menu).options['Sales'][0] (record)", "max_length_sec",
                 id="speech-option"),
    pytest.param({"transfer": {"to": "+13125550100", "no_answer": [{"sms": {"text": "x"}}]}},
                 "actions[0] (transfer).no_answer[0] (sms)", "to", id="transfer-no-answer"),
    pytest.param({"branch": {"cases": [{"if": {"variable": "call.to", "equals": "x"},
                                        "then": [{"say": "a"}, {"hangup": 5}]}]}},
                 "actions[0] (branch).cases[0].then[1] (hangup)", "reason", id="branch-then"),
    pytest.param({"branch": {"cases": [{"if": {"variable": "call.to", "equals": "x"},
                                        "then": CASE_THEN}],
                             "else": [{"menu": {"options": {"1": [{"play": {}}]}}}]}},
                 "actions[0] (branch).else[0] (menu).options['1'][0] (play)", "file",
                 id="two-levels-deep"),
])
def test_an_error_in_a_nested_block_names_the_nested_action(tmp_path, item, action, field):
    """An action inside a menu, transfer or branch block is named by its full path in the flow."""
    path = write(tmp_path, one_flow([item]))
    assert_names(refused(path), file=path, flow="main", action=action, field=field)


def test_a_nested_action_that_is_not_a_mapping_is_refused(tmp_path):
    """A block of actions under a menu option is checked like the flow's own list."""
    path = write(tmp_path, one_flow([{"menu": {"options": {"1": ["say sales"]}}}]))
    assert_names(refused(path), file=path, flow="main", action="actions[0] (menu).options['1'][0]",
                 says="an action is a mapping")


# --- names across the flows: targets, goto, on_end, placeholders ------------------------------

OTHER = {"name": "other", "actions": [{"name": "welcome", "say": "Hi"}]}

RESOLVE_ERRORS = [
    ("goto-missing-action", [{"goto": "nowhere"}], "actions[0] (goto)", "action",
     "'main' has no action named 'nowhere'"),
    ("goto-action-is-a-flow", [{"goto": {"action": "other"}}], "actions[0] (goto)", "action",
     "'main' has no action named 'other'"),
    ("goto-missing-flow", [{"goto": {"flow": "nowhere"}}], "actions[0] (goto)", "flow",
     "'nowhere' is not a flow"),
    ("goto-action-of-other-flow-missing", [{"name": "here", "say": "x"},
                                           {"goto": {"flow": "other", "action": "here"}}],
     "actions[1] (goto)", "action", "'other' has no action named 'here'"),
    ("goto-flow-placeholder", [{"goto": {"flow": "{{ call.to }}"}}], "actions[0] (goto)", "flow",
     "'{{ call.to }}' is not a flow"),
    ("on-end-missing-flow", [{"record": {"on_end": "thanks"}}], "actions[0] (record)", "on_end",
     "'thanks' is not a flow"),
    ("on-end-is-an-action", [{"name": "thanks", "say": "x"}, {"record": {"on_end": "thanks"}}],
     "actions[1] (record)", "on_end", "'thanks' is not a flow"),
    ("timeout-missing", [{"menu": {"timeout": "nowhere"}}], "actions[0] (menu)", "timeout",
     "'nowhere' is neither an action of this flow nor a flow"),
    ("fallback-missing", [{"menu": {"fallback": "nowhere"}}], "actions[0] (menu)", "fallback",
     "neither an action of this flow nor a flow"),
    ("invalid-missing", [{"menu": {"invalid": "nowhere"}}], "actions[0] (menu)", "invalid",
     "neither an action"),
    ("no-answer-missing", [{"transfer": {"to": "+13125550100", "no_answer": "nowhere"}}],
     "actions[0] (transfer)", "no_answer", "neither an action"),
    ("else-missing", [{"branch": {"cases": [{"if": {"variable": "call.from", "equals": "x"},
                                             "then": CASE_THEN}], "else": "nowhere"}}],
     "actions[0] (branch)", "else", "neither an action"),
    ("target-is-another-flows-action", [{"menu": {"timeout": "welcome"}}], "actions[0] (menu)",
     "timeout", "'welcome' is neither an action of this flow nor a flow"),
    ("placeholder-nothing-sets", [{"say": "Hello {{ nosuch }}"}], "actions[0] (say)", "text",
     "uses {{ nosuch }}, which nothing sets"),
    ("placeholder-unknown-call-name", [{"say": "{{ call.name }}"}], "actions[0] (say)", "text",
     "uses {{ call.name }}"),
    ("placeholder-in-prompt", [{"menu": {"prompt": "Hi {{ nosuch }}"}}], "actions[0] (menu)",
     "prompt", "uses {{ nosuch }}"),
    ("placeholder-in-phone", [{"transfer": {"to": "{{ agent_number }}"}}], "actions[0] (transfer)",
     "to", "uses {{ agent_number }}"),
    ("placeholder-in-sms", [{"sms": {"to": "+13125550100", "text": "From {{ caller }}"}}],
     "actions[0] (sms)", "text", "uses {{ caller }}"),
    ("placeholder-in-nested-block", [{"menu": {"timeout": [{"say": "{{ nosuch }}"}]}}],
     "actions[0] (menu).timeout[0] (say)", "text", "uses {{ nosuch }}"),
    ("placeholder-recording-before-any-record", [{"play": "{{ recording.url }}"}],
     "actions[0] (play)", "file", "uses {{ recording.url }}"),
]


@pytest.mark.parametrize(("actions", "action", "field", "says"),
                         [pytest.param(actions, action, field, says, id=case)
                          for case, actions, action, field, says in RESOLVE_ERRORS])
def test_a_name_that_leads_nowhere_is_refused(tmp_path, actions, action, field, says):
    """goto, on_end and branch targets must exist, and every placeholder must be one that some
    action sets."""
    path = write(tmp_path, {"flows": [{"name": "main", "actions": actions}, OTHER],
                            "default": "main"})
    assert_names(refused(path), file=path, flow="main", action=action, field=field, says=says)


def test_a_condition_on_a_variable_nothing_sets_is_refused(tmp_path):
    """A branch testing a variable that no action sets is an error naming the branch."""
    path = write(tmp_path, one_flow([_branch({"variable": "department", "equals": "1"})]))
    err = refused(path)
    assert (err.file, err.flow, err.action) == (str(path), "main", "actions[0] (branch)")
    assert err.field is not None and err.field.startswith("cases")
    assert "tests department, which nothing sets" in str(err)


# --- what loads ------------------------------------------------------------------------------


def test_shorthand_forms_stand_for_their_one_field(tmp_path):
    """A bare value stands for the action's main field, and an empty value for no fields."""
    path = write(tmp_path, """\
flows:
  - name: main
    actions:
      - name: start
        say: "Hi"
      - pause: 500
      - play: https://example.com/hold.wav
      - record_call:
      - goto: start
      - reject: busy
      - hangup:
""")
    nodes = list(load_flows(path).flows["main"].nodes.values())
    assert [(node.kind, node.params) for node in nodes] == [
        ("say", {"text": "Hi"}),
        ("pause", {"length": 500}),
        ("play", {"file": "https://example.com/hold.wav"}),
        ("record_call", {}),
        ("goto", {"action": "start"}),
        ("reject", {"reason": "busy"}),
        ("hangup", {}),
    ]
    assert [node.path for node in nodes] == [f"actions[{i}] ({node.kind})"
                                             for i, node in enumerate(nodes)]


def test_actions_run_in_order_and_names_are_labels(tmp_path):
    """Each action falls through to the next, the last ends the flow, and names become labels."""
    path = write(tmp_path, one_flow([{"say": "a"}, {"name": "second", "pause": 1}, {"hangup": None}]))
    flow = load_flows(path).flows["main"]
    assert flow.start == "0"
    assert flow.labels == {"second": "second"}
    assert [(node.id, node.next, node.label) for node in flow.nodes.values()] == [
        ("0", "second", None), ("second", "2", "second"), ("2", None, None)]


def test_an_empty_flow_loads(tmp_path):
    """A flow with no actions loads, with no start action."""
    flow = load_flows(write(tmp_path, one_flow([]))).flows["main"]
    assert (flow.start, flow.nodes) == (None, {})


def test_a_single_flow_without_default_is_the_default(tmp_path):
    """When the files hold one flow and no default, that flow answers every number."""
    flows = load_flows(write(tmp_path, one_flow([{"say": "hi"}])))
    assert flows.default == "main"
    assert flows.for_number("+13125550100").name == "main"
    assert flows.for_number(None).name == "main"


def test_numbers_choose_the_flow_and_the_default_takes_the_rest(tmp_path):
    """A called number in numbers gets its flow; any other number gets the default."""
    path = write(tmp_path, {"flows": [{"name": "main", "actions": []}, {"name": "sales", "actions": []}],
                            "numbers": {"+13125550150": "sales"}, "default": "main"})
    flows = load_flows(path)
    assert flows.numbers == {"+13125550150": "sales"}
    assert flows.for_number("+13125550150").name == "sales"
    assert flows.for_number("+13125550199").name == "main"
    assert flows.files == (str(path),)


def test_flow_ids_are_stable_uuids_derived_from_the_name(tmp_path):
    """Without an id a flow's id is a UUID derived from its name, the same on every load."""
    path = write(tmp_path, {"flows": [{"name": "main", "actions": []}, {"name": "sales", "actions": []}],
                            "default": "main"})
    first, second = load_flows(path), load_flows(path)
    for name in ("main", "sales"):
        flow_id = first.flows[name].id
        assert uuid.UUID(flow_id).version == 5
        assert flow_id == second.flows[name].id == flow_id_for(name)
        assert first.by_id(flow_id) is first.flows[name]
    assert first.flows["main"].id != first.flows["sales"].id


def test_a_given_flow_id_is_used(tmp_path):
    """A flow's own id is used (in canonical form) instead of the derived one."""
    path = write(tmp_path, {"flows": [{"name": "main", "id": OWNER.upper(), "actions": []}]})
    assert load_flows(path).flows["main"].id == OWNER


@pytest.mark.parametrize("actions", [
    pytest.param([{"set": {"greeting": "Hi"}}, {"say": "{{ greeting }}, {{greeting}}"}], id="set"),
    pytest.param([{"set": {"a": "x", "b": "{{ a }} and {{ call.from }}"}}, {"say": "{{ b }}"}],
                 id="set-from-set"),
    pytest.param([{"menu": {"capture": "department"}}, {"say": "{{ department }} {{ digits }}"}],
                 id="menu-capture-and-digits"),
    pytest.param([{"speech_menu": {"grammar_file": "https://example.com/g.xml", "capture": "desk"}},
                  {"say": "{{ desk }} {{ speech }} {{ confidence }}"}], id="speech-menu"),
    pytest.param([{"record": None}, {"play": "{{ recording.url }}"},
                  {"say": "{{ recording.id }} {{ recording.duration }} {{ recording.size }}"}],
                 id="record"),
    pytest.param([{"transcribe": {"capture": "words"}}, {"say": "{{ words }} {{ transcript }}"}],
                 id="transcribe"),
    pytest.param([{"transfer": {"to": "+13125550100", "no_answer": [{"say": "{{ transfer.status }}"}]}}],
                 id="transfer"),
    pytest.param([{"say": "{{ call.from }} {{ call.to }} {{ call.id }} {{ call.direction }} "
                          "{{ call.account_id }}"}], id="call-names"),
    pytest.param([{"set": {"agent": "+13125550111"}},
                  {"transfer": {"to": "{{ agent }}", "caller_id": "{{ call.to }}"}},
                  {"sms": {"to": "{{ call.from }}", "from": "{{ call.to }}", "text": "Bye"}}],
                 id="phone-placeholders"),
    pytest.param([{"menu": {"capture": "choice"}},
                  _branch({"variable": "choice", "in": ["1", 2]}),
                  _branch({"variable": "digits", "matches": "^[0-9]+$"})], id="branch-on-captured"),
    pytest.param([{"speech_menu": {"grammar_file": "{{ grammar }}"}}, {"set": {"grammar": "x"}}],
                 id="grammar-placeholder-skips-url-check"),
])
def test_placeholders_that_some_action_sets_are_accepted(tmp_path, actions):
    """A placeholder is known when a call attribute, set, capture, menu, record or transfer
    provides it."""
    assert load_flows(write(tmp_path, one_flow(actions))).flows["main"].nodes


def test_targets_resolve_to_actions_or_flows(tmp_path):
    """A branch target names an action of the flow, or else another flow; a list runs inline."""
    path = write(tmp_path, {
        "flows": [
            {"name": "main", "actions": [
                {"name": "ask", "menu": {"options": {"1": "sales", "2": "ask", "3": [{"say": "three"}]},
                                         "timeout": [{"say": "Again"}], "fallback": "sales"}},
                {"hangup": None},
            ]},
            {"name": "sales", "actions": [{"say": "Sales"}]},
        ],
        "default": "main",
    })
    flow = load_flows(path).flows["main"]
    branches = flow.nodes["ask"].branches
    assert branches["option:1"] == Target(flow="sales")
    assert branches["option:2"] == Target(node="ask")
    assert branches["option:3"] == Target(node="ask/option:3/0")
    assert branches["fallback"] == Target(flow="sales")
    assert branches["timeout"] == Target(node="ask/timeout/0")
    assert flow.nodes["ask/timeout/0"].next == "ask"  # said, then the menu again
    assert flow.nodes["ask/option:3/0"].next == "1"  # then what follows the menu


def test_a_folder_loads_every_yaml_and_yml_file_in_name_order(tmp_path):
    """A folder's .yaml and .yml files are read in name order; other files are ignored."""
    write(tmp_path, {"flows": [{"name": "b", "actions": []}], "default": "b"}, "2-b.yml")
    write(tmp_path, {"flows": [{"name": "a", "actions": []}]}, "1-a.yaml")
    write(tmp_path, "not: [yaml", "notes.txt")
    flows = load_flows(tmp_path)
    assert list(flows.flows) == ["a", "b"]
    assert flows.files == (str(tmp_path / "1-a.yaml"), str(tmp_path / "2-b.yml"))
    assert flows.flows["a"].file == str(tmp_path / "1-a.yaml")


def test_a_flow_in_one_file_can_use_a_flow_in_another(tmp_path):
    """goto, on_end and numbers may name a flow that another file of the folder defines."""
    write(tmp_path, {"flows": [{"name": "main", "actions": [
        {"record": {"on_end": "thanks", "owner": {"id": OWNER}}}, {"goto": {"flow": "thanks"}}]}],
        "default": "main"}, "a.yaml")
    write(tmp_path, {"flows": [{"name": "thanks", "actions": [{"say": "Thanks"}]}],
                     "numbers": {"+13125550100": "main"}}, "b.yaml")
    flows = load_flows(tmp_path)
    assert flows.flows["main"].nodes["0"].params["owner"] == {"type": "agent", "id": OWNER}
    assert flows.for_number("+13125550100").name == "main"


def test_the_example_flows_load():
    """The flows shipped in flows/ load together, with voicemail as the default."""
    flows = load_flows(EXAMPLES)
    assert set(flows.flows) == {"voicemail", "departments", "message-taken", "front-desk"}
    assert flows.default == "voicemail"
    assert flows.numbers == {"+13125550150": "departments", "+13125550160": "front-desk"}
    assert len(flows.files) == len(list(EXAMPLES.glob("*.yaml")))


# --- through the app -------------------------------------------------------------------------


@pytest.fixture
def start(tmp_path, monkeypatch):
    """create_app with a fresh store, signatures on, and no flow or voicemail settings inherited."""
    for name in ("FLOWS_PATH", "VOICEMAIL_GREETING", "VOICEMAIL_THANKS", "VOICEMAIL_LANGUAGE",
                 "VOICEMAIL_MAX_LENGTH_SEC", "VOICEMAIL_FINISH_KEY", "VOICEMAIL_PLAY_BEEP"):
        monkeypatch.delenv(name, raising=False)

    def start(**config: str):
        return create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"),
                           "FREECLIMB_SIGNING_SECRET": SECRET, **config})
    return start


def answer(app, **call: Any) -> list[dict[str, Any]]:
    """The PerCL the app answers an inbound call with."""
    response = post(app.test_client(), "/freeclimb/voice", inbound_call(freeclimb_id("CA"), **call))
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize("content", [
    pytest.param("flows: [\n", id="not-yaml"),
    pytest.param({"flows": [{"name": "main", "actions": [{"say": {"text": "hi", "loop": -1}}]}]},
                 id="bad-field"),
    pytest.param({"flows": [{"name": "main", "actions": [{"goto": "nowhere"}]}]}, id="bad-goto"),
])
def test_the_app_refuses_to_start_on_an_invalid_flow_file(tmp_path, start, content):
    """create_app raises ConfigError naming FLOWS_PATH and the file when the flows do not load."""
    path = write(tmp_path, content, "broken-flows.yaml")
    with pytest.raises(ConfigError) as info:
        start(FLOWS_PATH=str(path))
    assert str(info.value).startswith("FLOWS_PATH: ")
    assert str(path) in str(info.value)


def test_the_app_refuses_to_start_on_an_invalid_folder(tmp_path, start):
    """A folder whose second file is broken stops the app, and the message names that file."""
    folder = tmp_path / "flows"
    folder.mkdir()
    write(folder, {"flows": [{"name": "main", "actions": []}]}, "a.yaml")
    write(folder, {"flows": [{"name": "main", "actions": []}]}, "b.yaml")
    with pytest.raises(ConfigError) as info:
        start(FLOWS_PATH=str(folder))
    assert str(folder / "b.yaml") in str(info.value)
    assert "already in" in str(info.value)


def test_a_missing_flows_path_falls_back_to_voicemail_with_a_warning(tmp_path, start, caplog):
    """FLOWS_PATH naming nothing logs a warning and answers calls with the built-in voicemail."""
    missing = tmp_path / "no-such-flows.yaml"
    with caplog.at_level(logging.WARNING):
        app = start(FLOWS_PATH=str(missing))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and str(missing) in r.getMessage()]
    assert len(warnings) == 1
    assert "voicemail" in warnings[0].getMessage()
    assert list(app.extensions["flows"].flows) == ["voicemail"]
    percl = answer(app)
    assert [next(iter(command)) for command in percl] == ["Say", "RecordUtterance"]


def test_without_flows_path_the_voicemail_flow_follows_the_settings(start, caplog):
    """With FLOWS_PATH unset, calls get the voicemail flow built from the VOICEMAIL_* settings."""
    with caplog.at_level(logging.WARNING):
        app = start(VOICEMAIL_GREETING="Leave it at the tone.", VOICEMAIL_MAX_LENGTH_SEC="30",
                    VOICEMAIL_FINISH_KEY="*", VOICEMAIL_PLAY_BEEP="false",
                    VOICEMAIL_LANGUAGE="es-ES")
    assert not [r for r in caplog.records if "FLOWS_PATH" in r.getMessage()]
    flows = app.extensions["flows"]
    assert (list(flows.flows), flows.default) == (["voicemail"], "voicemail")
    say, record = answer(app)
    assert say == {"Say": {"text": "Leave it at the tone.", "language": "es-ES"}}
    assert {k: v for k, v in record["RecordUtterance"].items() if k != "actionUrl"} == {
        "maxLengthSec": 30, "finishOnKey": "*", "playBeep": False}


def test_the_app_runs_the_flows_at_flows_path(start):
    """FLOWS_PATH naming the example folder answers each number with its own flow."""
    app = start(FLOWS_PATH=str(EXAMPLES))
    assert app.extensions["flows"].default == "voicemail"
    assert "GetDigits" in answer(app, to="+13125550150")[-1]
    assert [next(iter(c)) for c in answer(app, to="+13125550199")] == ["Say", "RecordUtterance"]


@pytest.mark.parametrize("action, field, reason", [
    ({"say": "Hello {{ call.from call.to }}"}, "text", "not a placeholder of one name"),
    ({"say": "Hello {{ 1 }}"}, "text", "not a placeholder of one name"),
    ({"say": "Hello {{ call-from }}"}, "text", "not a placeholder of one name"),
    ({"play": "not-a-url"}, "file", "absolute http or https URL"),
    ({"say": "x" * 4097}, "text", "at most 4096 bytes"),
    ({"menu": {"prompt": "é" * 2049, "options": {"1": [{"hangup": None}]}}}, "prompt", "at most 4096 bytes"),
    ({"sms": {"to": "+13125550100", "text": "x" * 161}}, "text", "at most 160 characters"),
    ({"record_call": "garbage"}, None, "takes no value"),
    ({"menu": {"options": {"1": [{"hangup": None}], 1: [{"hangup": None}]}}}, "options", "quote option keys"),
    ({"speech_menu": {"grammar_file": "https://g.example/g.grxml",
                      "options": {"Sales": [{"hangup": None}], "sales": [{"hangup": None}]}}},
     "options['sales']", "given twice"),
    ({"menu": {"options": {"1": 5}}}, "options['1']", "must be a list of actions or the name"),
    ({"menu": {"options": {"1": "nowhere"}}}, "options['1']", "neither an action of this flow nor a flow"),
    ({"branch": {"cases": [{"if": {"variable": "call.from", "equals": "x"}, "then": 5}]}},
     "cases[0].then", "must be a list of actions or the name"),
    ({"branch": {"cases": [{"if": {"variable": "call.from", "equals": "x"}, "then": "nowhere"}]}},
     "cases[0].then", "neither an action of this flow nor a flow"),
    ({"set": {"greeting": "Hello {{ nosuch }}"}}, "greeting", "which nothing sets"),
    ({"branch": {"cases": [{"if": {"variable": "nosuch", "equals": "x"}, "then": [{"hangup": None}]}]}},
     "cases[0].if.variable", "which nothing sets"),
    ({"branch": {"cases": [{"if": {"time": {"timezone": "America"}}, "then": [{"hangup": None}]}]}},
     "cases[0].if.time.timezone", "is not a time zone"),
], ids=["two-names", "number", "dash", "play-not-url", "say-too-long", "prompt-too-long",
        "sms-too-long", "record-call-value", "option-int-and-text", "speech-option-case",
        "option-target-type", "option-target-missing", "case-then-type", "case-then-missing",
        "set-unknown-placeholder", "condition-unknown-variable", "timezone-folder"])
def test_what_would_fail_on_every_call_fails_at_load(tmp_path, action, field, reason):
    """Fixed text FreeClimb would refuse, malformed placeholders and ambiguous options stop the load, named precisely."""
    import yaml

    path = tmp_path / "flows.yaml"
    path.write_text(yaml.safe_dump({"flows": [{"name": "main", "actions": [{"say": "Hi"}, action]}]}))
    with pytest.raises(FlowError) as caught:
        load_flows(path)
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert caught.value.action.startswith("actions[1]")


@pytest.mark.parametrize("document", [
    "1: x\nfoo: y\n",
    "flows:\n  - {name: a, actions: [], 1: x, foo: y}\n",
], ids=["file", "flow"])
def test_unknown_keys_of_mixed_types_are_reported(tmp_path, document):
    """Unknown keys that mix numbers and words give a FlowError, not a TypeError."""
    path = tmp_path / "flows.yaml"
    path.write_text(document)
    with pytest.raises(FlowError, match="unknown key"):
        load_flows(path)



@pytest.mark.parametrize("text, reason", [
    ('flows:\n  - name: m\n    actions:\n      - menu:\n          options:\n            "1": [{hangup: }]\n'
     '            "1": [{say: x}]\n', "is given twice"),
    ("flows:\n  - name: m\n    actions:\n      - speech_menu:\n          grammar_file: https://g.example/g\n"
     "          options:\n            yes: [{hangup: }]\n", "quote option keys"),
    ("flows:\n  - name: m\n    actions:\n      - branch:\n          cases:\n            - if: {time: {from: 09:00, to: 17:00}}\n"
     "              then: [{hangup: }]\n", "quote times"),
], ids=["repeated-key", "yes-as-boolean", "unquoted-time"])
def test_yaml_surprises_are_refused_at_load(tmp_path, text, reason):
    """A key written twice, yes read as a boolean or 17:00 read as a number stop the load."""
    path = tmp_path / "flows.yaml"
    path.write_text(text)
    with pytest.raises(FlowError, match=reason):
        load_flows(path)
