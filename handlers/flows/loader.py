"""Reading flow files: YAML in, checked :class:`FlowSet` out, or a FlowError naming the spot.

A flow file holds any of three keys::

    flows:            # a list of flows
      - name: main
        actions: [...]
    numbers:          # which flow answers each called number (quote the numbers)
      "+13125550199": main
    default: main     # the flow for every other number

``FLOWS_PATH`` names one such file or a folder of them (``*.yaml``/``*.yml``, read in name
order). Every action is checked when the files load: an app with a broken flow does not start.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

import percl
from handlers.flows import templates
from handlers.flows.model import BLOCKING, Flow, FlowError, FlowSet, Node, Target, flow_id_for
from percl.attributes import Invalid

LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            repeated = key in mapping
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark) from None
        if repeated:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


class _Bad(Exception):
    """A field's value refused; the loader adds file, flow and action."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


# --- field checks ---------------------------------------------------------------------------

Check = Callable[[Any], Any]


def _percl(command: type[percl.Command], attribute: str) -> Check:
    """Check a value with the rule of the PerCL attribute it becomes (one source of truth)."""
    kind = command.attributes[attribute].kind

    def check(value: Any) -> Any:
        try:
            return kind.check(value)
        except Invalid as exc:
            raise ValueError(str(exc)) from None
    return check


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"must be text, not {type(value).__name__}")
    text = str(value)
    templates.names_in(text)  # raises on a malformed placeholder
    return text


def _whole(minimum: int, maximum: int | None = None) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, not {type(value).__name__}")
        if value < minimum or (maximum is not None and value > maximum):
            raise ValueError(f"must be between {minimum} and {maximum}" if maximum is not None
                             else f"must be at least {minimum}")
        return value
    return check


def _variable(value: Any) -> str:
    if not isinstance(value, str) or not VARIABLE.fullmatch(value):
        raise ValueError("must be a variable name (letters, digits and _)")
    return value


def _phone(value: Any) -> str:
    text = _text(value)
    if not templates.names_in(text) and not E164.fullmatch(text):
        raise ValueError("must be an E.164 number such as +13125550100, or a {{ placeholder }}")
    return text


def _owner(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) - {"type", "id"} or "id" not in value:
        raise ValueError("must be a mapping with id (a UUID) and optionally type (agent)")
    owner_type = value.get("type", "agent")
    if owner_type != "agent":
        raise ValueError("type must be agent")
    try:
        owner_id = str(uuid.UUID(str(value["id"])))
    except ValueError:
        raise ValueError(f"id must be a UUID, got {value['id']!r}") from None
    return {"type": owner_type, "id": owner_id}


GET_DIGITS_OPTIONS = {name: _percl(percl.GetDigits, name) for name in (
    "initial_timeout_ms", "digit_timeout_ms", "max_digits", "min_digits", "finish_on_key",
    "flush_buffer", "privacy_mode")}
GET_SPEECH_OPTIONS = {name: _percl(percl.GetSpeech, name) for name in (
    "grammar_type", "grammar_rule", "play_beep", "no_input_timeout_ms", "recognition_timeout_ms",
    "confidence_threshold", "sensitivity_level", "speech_complete_timeout_ms",
    "speech_incomplete_timeout_ms", "privacy_mode")}
_MENU_COMMON = {"prompt": _text, "capture": _variable, "retries": _whole(0, 10)}

#: For each action: its fields and how each is checked. "*" marks a required field.
FIELDS: dict[str, dict[str, Check]] = {
    "say": {"*text": _text, "language": _percl(percl.Say, "language"),
            "loop": _percl(percl.Say, "loop"), "privacy_mode": _percl(percl.Say, "privacy_mode")},
    "play": {"*file": _text, "loop": _percl(percl.Play, "loop"),
             "privacy_mode": _percl(percl.Play, "privacy_mode")},
    "pause": {"*length": _percl(percl.Pause, "length")},
    "menu": {**_MENU_COMMON, **GET_DIGITS_OPTIONS},
    "speech_menu": {**_MENU_COMMON, **GET_SPEECH_OPTIONS, "*grammar_file": _text},
    "record": {name: _percl(percl.RecordUtterance, name) for name in (
        "silence_timeout_ms", "finish_on_key", "max_length_sec", "play_beep", "auto_start",
        "privacy_mode")} | {"owner": _owner, "on_end": _text},
    "transcribe": {"prompt": _text, "capture": _variable,
                   "play_beep": _percl(percl.TranscribeUtterance, "play_beep"),
                   "privacy_for_logging": _percl(percl.TranscribeUtterance, "privacy_for_logging"),
                   "privacy_for_recording": _percl(percl.TranscribeUtterance, "privacy_for_recording"),
                   "save_recording": _percl(percl.TranscribeRecord, "save_recording"),
                   "max_length_sec": _percl(percl.TranscribeRecord, "max_length_sec"),
                   "rcrd_termination_silence_time_ms":
                       _percl(percl.TranscribeRecord, "rcrd_termination_silence_time_ms")},
    "record_call": {},
    "transfer": {"*to": _phone, "caller_id": _phone, "timeout": _whole(5, 300),
                 "hold_message": _text,
                 "send_digits": _percl(percl.OutDial, "send_digits")},
    "sms": {"*to": _phone, "from": _phone, "*text": _text},
    "goto": {"action": _text, "flow": _text},
    "set": {},
    "branch": {},
    "hangup": {"reason": _percl(percl.Hangup, "reason")},
    "reject": {"reason": _percl(percl.Reject, "reason")},
}
#: The one field a bare value stands for: ``say: "Hello"`` is ``say: {text: "Hello"}``.
SHORTHAND = {"say": "text", "play": "file", "pause": "length", "hangup": "reason",
             "reject": "reason", "goto": "action", "record_call": None}
#: Fields that lead somewhere: a list of actions, or the name of an action or flow.
TARGETS = {
    "menu": ("options", "timeout", "invalid", "fallback"),
    "speech_menu": ("options", "timeout", "invalid", "fallback"),
    "transfer": ("no_answer",),
    "branch": ("cases", "else"),
}


class _Loader:
    def __init__(self) -> None:
        self.raw_flows: list[tuple[str, dict[str, Any]]] = []  # (file, flow mapping)
        self.numbers: dict[str, tuple[str, str]] = {}  # number -> (flow, file)
        self.default: tuple[str, str] | None = None

    # --- files ---------------------------------------------------------------------------

    def read_file(self, path: Path) -> None:
        name = str(path)
        try:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506
        except OSError as exc:
            raise FlowError(f"cannot read: {exc.strerror}", file=name) from None
        except UnicodeDecodeError:
            raise FlowError("is not UTF-8 text", file=name) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise FlowError(f"is not valid YAML{where}: {getattr(exc, 'problem', exc)}",
                            file=name) from None
        self.read_document(document, name)

    def read_document(self, document: Any, name: str) -> None:
        if document is None:
            return
        if not isinstance(document, dict):
            raise FlowError("must be a mapping with flows, numbers and/or default", file=name)
        unknown = set(document) - {"flows", "numbers", "default"}
        if unknown:
            raise FlowError(f"unknown key {sorted(map(str, unknown))[0]!r}: a flow file holds flows, "
                            "numbers and default", file=name)
        flows = document.get("flows", [])
        if not isinstance(flows, list):
            raise FlowError("must be a list of flows", file=name, field="flows")
        for index, flow in enumerate(flows):
            if not isinstance(flow, dict):
                raise FlowError(f"flows[{index}] must be a mapping with name and actions", file=name)
            self.raw_flows.append((name, flow))
        numbers = document.get("numbers", {})
        if not isinstance(numbers, dict):
            raise FlowError("must map called numbers to flow names", file=name, field="numbers")
        for number, flow_name in numbers.items():
            if not isinstance(number, str) or not E164.fullmatch(number):
                raise FlowError(f"{number!r} is not an E.164 number such as \"+13125550100\" "
                                "(quote it: YAML reads +1312... as an integer)", file=name,
                                field="numbers")
            if not isinstance(flow_name, str):
                raise FlowError(f"{number} must map to a flow name", file=name, field="numbers")
            if number in self.numbers:
                raise FlowError(f"{number} is already mapped in {self.numbers[number][1]}",
                                file=name, field="numbers")
            self.numbers[number] = (flow_name, name)
        if "default" in document:
            if not isinstance(document["default"], str):
                raise FlowError("must be a flow name", file=name, field="default")
            if self.default is not None:
                raise FlowError(f"the default flow is already set in {self.default[1]}",
                                file=name, field="default")
            self.default = (document["default"], name)

    # --- flows ---------------------------------------------------------------------------

    def build(self, files: tuple[str, ...]) -> FlowSet:
        if not self.raw_flows:
            raise FlowError("no flows defined", file=files[0] if files else None)
        names: dict[str, str] = {}
        ids: dict[str, str] = {}
        headers = []
        for file, raw in self.raw_flows:
            unknown = set(raw) - {"name", "id", "actions", "description"}
            name = raw.get("name")
            if not isinstance(name, str) or not LABEL.fullmatch(name):
                raise FlowError("every flow needs a name (letters, digits, - and _)", file=file,
                                flow=str(name) if name else None, field="name")
            if unknown:
                raise FlowError(f"unknown key {sorted(map(str, unknown))[0]!r}", file=file, flow=name)
            if name in names:
                raise FlowError(f"a flow of this name is already in {names[name]}", file=file,
                                flow=name, field="name")
            names[name] = file
            flow_id = raw.get("id", flow_id_for(name))
            try:
                flow_id = str(uuid.UUID(str(flow_id)))
            except ValueError:
                raise FlowError(f"must be a UUID, got {flow_id!r}", file=file, flow=name,
                                field="id") from None
            if flow_id in ids:
                raise FlowError(f"flow {ids[flow_id]!r} has the same id", file=file, flow=name,
                                field="id")
            ids[flow_id] = name
            actions = raw.get("actions")
            if not isinstance(actions, list):
                raise FlowError("must be a list of actions", file=file, flow=name, field="actions")
            headers.append((file, name, flow_id, actions))

        flows = {name: _FlowCompiler(file, name, flow_id).compile(actions)
                 for file, name, flow_id, actions in headers}
        known_names = _known_names(flows)
        for flow in flows.values():
            _resolve(flow, flows, known_names)

        for number, (flow_name, file) in self.numbers.items():
            if flow_name not in flows:
                raise FlowError(f"{number} maps to {flow_name!r}, which is not a flow", file=file,
                                field="numbers")
        if self.default is None:
            if len(flows) == 1:
                default = next(iter(flows))
            else:
                raise FlowError("several flows and no default: say which answers other numbers",
                                file=files[0] if files else None, field="default")
        else:
            default, file = self.default
            if default not in flows:
                raise FlowError(f"{default!r} is not a flow", file=file, field="default")
        return FlowSet(flows=flows, numbers={n: f for n, (f, _) in self.numbers.items()},
                       default=default, files=files)


class _FlowCompiler:
    """One flow's actions into nodes: a list runs in order, then falls to what follows it."""

    def __init__(self, file: str, name: str, flow_id: str) -> None:
        self.file, self.name, self.flow_id = file, name, flow_id
        self.nodes: dict[str, Node] = {}
        self.labels: dict[str, str] = {}

    def error(self, message: str, path: str, field: str | None = None) -> FlowError:
        return FlowError(message, file=self.file, flow=self.name, action=path, field=field)

    def compile(self, actions: list[Any]) -> Flow:
        start = self.block(actions, "actions", "", after=None)
        return Flow(id=self.flow_id, name=self.name, file=self.file, start=start,
                    nodes=self.nodes, labels=self.labels)

    def block(self, actions: Any, path: str, prefix: str, after: str | None) -> str | None:
        """Compile a list of actions; returns its first node (or ``after`` when it is empty)."""
        if not isinstance(actions, list):
            raise self.error("must be a list of actions", path)
        ids = []
        for index, item in enumerate(actions):
            label = item.get("name") if isinstance(item, dict) else None
            if label is not None:
                if not isinstance(label, str) or not LABEL.fullmatch(label):
                    raise self.error("an action name is letters, digits, - and _, starting "
                                     "with a letter", f"{path}[{index}]", "name")
                if label in self.labels:
                    raise self.error(f"another action is already named {label!r}",
                                     f"{path}[{index}]", "name")
                self.labels[label] = label
            ids.append(label or f"{prefix}{index}")
        for index, item in enumerate(actions):
            following = ids[index + 1] if index + 1 < len(ids) else after
            self.action(item, f"{path}[{index}]", ids[index], following)
        return ids[0] if ids else after

    def action(self, item: Any, path: str, node_id: str, following: str | None) -> None:
        if not isinstance(item, dict):
            raise self.error("an action is a mapping such as {say: \"Hello\"}", path)
        kinds = [key for key in item if key != "name"]
        if len(kinds) != 1 or kinds[0] not in FIELDS:
            shown = ", ".join(map(str, kinds)) or "nothing"
            raise self.error(f"an action has exactly one of {', '.join(FIELDS)}; this has {shown}",
                             path)
        kind = kinds[0]
        path = f"{path} ({kind})"
        raw = item[kind]
        try:
            params, branches = self.params(kind, raw, node_id, path, following)
        except _Bad as exc:
            raise self.error(exc.message, path, exc.field) from None
        self.nodes[node_id] = Node(id=node_id, kind=kind, params=params, next=following,
                                   branches=branches, label=item.get("name"), path=path)

    def params(self, kind: str, raw: Any, node_id: str, path: str,
               following: str | None) -> tuple[dict[str, Any], dict[str, Target]]:
        if kind == "set":
            return self.set_params(raw), {}
        if kind == "branch":
            return self.branch_params(raw, node_id, path, following)
        if not isinstance(raw, dict):
            if kind in SHORTHAND and SHORTHAND[kind] is None and raw is not None:
                raise _Bad(None, f"{kind} takes no value (write `{kind}:` alone)")
            if kind in SHORTHAND and (raw is not None or SHORTHAND[kind] is None):
                raw = {} if SHORTHAND[kind] is None or raw is None else {SHORTHAND[kind]: raw}
            elif raw is None and not any(f.startswith("*") for f in FIELDS[kind]):
                raw = {}
            else:
                raise _Bad(None, f"{kind} takes a mapping of its fields")
        spec = FIELDS[kind]
        targets = TARGETS.get(kind, ())
        params: dict[str, Any] = {}
        branches: dict[str, Target] = {}
        for key, value in raw.items():
            if key in targets:
                branches.update(self.targets(kind, key, value, node_id, f"{path}.{key}", following))
                continue
            check = spec.get(key) or spec.get(f"*{key}")
            if check is None:
                allowed = sorted(f.lstrip("*") for f in spec) + list(targets)
                raise _Bad(str(key), f"unknown field; {kind} takes {', '.join(allowed)}")
            try:
                params[key] = check(value)
            except ValueError as exc:
                raise _Bad(key, f"{exc} (got {value!r})") from None
        for name in spec:
            if name.startswith("*") and name[1:] not in params:
                raise _Bad(name[1:], "is required")
        self.check_together(kind, params)
        return params, branches

    @staticmethod
    def check_together(kind: str, params: dict[str, Any]) -> None:
        """Rules between fields, by building the PerCL command once with a stand-in URL."""
        stand_in = "https://flows.invalid/check"
        try:
            if kind == "menu":
                percl.GetDigits(stand_in, **{k: v for k, v in params.items() if k in GET_DIGITS_OPTIONS})
            elif kind == "speech_menu" and not templates.names_in(params["grammar_file"]):
                percl.GetSpeech(stand_in, params["grammar_file"],
                                **{k: v for k, v in params.items() if k in GET_SPEECH_OPTIONS})
            elif kind == "goto" and not params:
                raise _Bad(None, "goto needs an action name or flow")
            # fixed text (no placeholders) is checked now, as FreeClimb would: a flow that would
            # fail on every call does not load
            fixed = {k: v for k, v in params.items()
                     if not (isinstance(v, str) and templates.names_in(v))}
            if kind == "say" and "text" in fixed:
                percl.Say(**{k: v for k, v in fixed.items() if k in percl.Say.attributes})
            elif kind == "play" and "file" in fixed:
                percl.Play(**{k: v for k, v in fixed.items() if k in percl.Play.attributes})
            elif kind in ("menu", "speech_menu", "transcribe") and "prompt" in fixed:
                percl.Say(fixed["prompt"])
            elif kind == "sms" and "text" in fixed:
                percl.Sms.attributes["text"].kind.check(fixed["text"])
        except percl.PerclError as exc:
            field = {"Say.text": "prompt"}.get(f"{exc.command}.{exc.attribute}") if kind != "say" else None
            raise _Bad(field or exc.attribute, exc.reason) from None
        except Invalid as exc:
            raise _Bad("text", str(exc)) from None

    def set_params(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not raw:
            raise _Bad(None, "set takes a mapping of variable names to values")
        values = {}
        for name, value in raw.items():
            try:
                values[_variable(name)] = _text(value)
            except ValueError as exc:
                raise _Bad(str(name), str(exc)) from None
        return {"values": values}

    def targets(self, kind: str, key: str, value: Any, node_id: str, path: str,
                following: str | None) -> dict[str, Target]:
        if key == "options":
            if not isinstance(value, dict) or not value:
                raise _Bad("options", "must map what the caller enters to where the call goes")
            found = {}
            for choice, target in value.items():
                if not isinstance(choice, str):
                    raise _Bad("options", f"{choice!r} is not text: quote option keys (YAML reads "
                               "yes/no/on/off as true/false and 010 as the number 8)")
                if kind == "menu" and not re.fullmatch(r"[0-9*#]+", choice):
                    raise _Bad("options", f"{choice!r} is not a key sequence (0-9, * and #)")
                name = f"option:{choice.lower() if kind == 'speech_menu' else choice}"
                if name in found:
                    raise _Bad(f"options[{choice!r}]", "is given twice (keys are compared as text"
                               + (", ignoring case)" if kind == "speech_menu" else ")"))
                found[name] = self.target(target, node_id, f"{path}[{choice!r}]", name, following)
            return found
        if kind in ("menu", "speech_menu") and key in ("timeout", "invalid"):
            # what is said before the caller tries again: the block ends back at the menu
            return {key: self.target(value, node_id, path, key, node_id)}
        return {key: self.target(value, node_id, path, key, following)}

    def target(self, value: Any, node_id: str, path: str, name: str, following: str | None) -> Target:
        if isinstance(value, str):
            # resolved once every flow is compiled: an action of this flow, or another flow
            return Target(node=value, flow="?")
        if isinstance(value, list):
            return Target(node=self.block(value, path, f"{node_id}/{name}/", following))
        raise _Bad(_branch_field(name), "must be a list of actions or the name of an action or flow")

    def branch_params(self, raw: Any, node_id: str, path: str,
                      following: str | None) -> tuple[dict[str, Any], dict[str, Target]]:
        if not isinstance(raw, dict) or "cases" not in raw or set(raw) - {"cases", "else"}:
            raise _Bad(None, "branch takes cases (a list of {if, then}) and optionally else")
        cases = raw["cases"]
        if not isinstance(cases, list) or not cases:
            raise _Bad("cases", "must be a non-empty list of {if: condition, then: actions}")
        conditions = []
        branches: dict[str, Target] = {}
        for index, case in enumerate(cases):
            where = f"cases[{index}]"
            if not isinstance(case, dict) or set(case) != {"if", "then"}:
                raise _Bad(where, "each case is a mapping with if and then")
            conditions.append(_condition(case["if"], where))
            branches[f"case:{index}"] = self.target(case["then"], node_id, f"{path}.{where}.then",
                                                    f"case:{index}", following)
        if "else" in raw:
            branches["else"] = self.target(raw["else"], node_id, f"{path}.else", "else", following)
        return {"conditions": conditions}, branches


def _condition(raw: Any, where: str) -> dict[str, Any]:
    """``{variable, equals|in|matches|starts_with}`` or ``{time: {days, from, to, timezone}}``."""
    if not isinstance(raw, dict):
        raise _Bad(f"{where}.if", "must be a mapping")
    if set(raw) == {"time"}:
        return {"time": _time_window(raw["time"], f"{where}.if.time")}
    tests = set(raw) - {"variable"}
    if "variable" not in raw or len(tests) != 1 or not tests <= {"equals", "in", "matches", "starts_with"}:
        raise _Bad(f"{where}.if", "must be {variable: NAME, and one of equals, in, matches, "
                   "starts_with} or {time: {...}}")
    variable = raw["variable"]
    if not isinstance(variable, str) or not templates.PLACEHOLDER.fullmatch("{{" + variable + "}}"):
        raise _Bad(f"{where}.if.variable", f"must be a variable name such as call.from, got {variable!r}")
    test = tests.pop()
    value = raw[test]
    if test == "in":
        if not isinstance(value, list) or not value:
            raise _Bad(f"{where}.if.in", "must be a non-empty list")
        value = [str(item) for item in value]
    elif test == "matches":
        try:
            re.compile(str(value))
        except re.error as exc:
            raise _Bad(f"{where}.if.matches", f"is not a regular expression: {exc}") from None
        value = str(value)
    else:
        value = str(value)
    return {"variable": variable, "test": test, "value": value}


def _time_window(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or set(raw) - {"days", "from", "to", "timezone"}:
        raise _Bad(where, "takes days, from, to and timezone")
    days = raw.get("days", list(DAYS))
    if not isinstance(days, list) or not days or any(str(d).lower()[:3] not in DAYS for d in days):
        raise _Bad(f"{where}.days", f"must be a list of days from {', '.join(DAYS)}")
    window: dict[str, Any] = {"days": sorted({DAYS.index(str(d).lower()[:3]) for d in days})}
    for end, default in (("from", "00:00"), ("to", "24:00")):
        value = raw.get(end, default)
        if not isinstance(value, str):
            raise _Bad(f"{where}.{end}", "quote times, as in \"17:00\" (YAML reads 17:00 unquoted "
                       f"as the number {value!r})")
        if not (CLOCK.fullmatch(value) or value == "24:00"):
            raise _Bad(f"{where}.{end}", f"must be a time as HH:MM, got {value!r}")
        hours, minutes = value.split(":")
        window[end] = int(hours) * 60 + int(minutes)
    if window["from"] >= window["to"]:
        raise _Bad(f"{where}.to", "must be later than from (split an overnight window in two cases)")
    timezone = raw.get("timezone", "UTC")
    try:
        zoneinfo.ZoneInfo(str(timezone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder
        raise _Bad(f"{where}.timezone", f"is not a time zone such as America/Chicago, got {timezone!r}") from None
    window["timezone"] = str(timezone)
    return window


def _branch_field(name: str) -> str:
    """A branch's internal name as the author wrote the field: "option:1" -> "options['1']"."""
    if name.startswith("option:"):
        return f"options[{name.removeprefix('option:')!r}]"
    if name.startswith("case:"):
        return f"cases[{name.removeprefix('case:')}].then"
    return name


def _known_names(flows: dict[str, Flow]) -> set[str]:
    """Placeholder names that can have a value: the call's, and whatever some action fills in."""
    names = set(templates.CALL_NAMES)
    for flow in flows.values():
        for node in flow.nodes.values():
            names |= templates.PRODUCED_BY.get(node.kind, set())
            if node.kind == "set":
                names |= set(node.params["values"])
            if "capture" in node.params:
                names.add(node.params["capture"])
    return names


def _resolve(flow: Flow, flows: dict[str, Flow], known: set[str]) -> None:
    """Check names across flows: goto and branch targets, on_end flows, placeholders."""
    def error(node: Node, message: str, field: str | None = None) -> FlowError:
        return FlowError(message, file=flow.file, flow=flow.name, action=node.path, field=field)

    for node in flow.nodes.values():
        for key, value in node.params.items():
            # a set action's values are named by their variables
            texts = value.items() if key == "values" else [(key, value)] if isinstance(value, str) else []
            for field, text in texts:
                for name in templates.names_in(text):
                    if name not in known:
                        raise error(node, f"uses {{{{ {name} }}}}, which nothing sets", field)
        for index, condition in enumerate(node.params.get("conditions", [])):
            if "variable" in condition and condition["variable"] not in known:
                raise error(node, f"tests {condition['variable']}, which nothing sets",
                            f"cases[{index}].if.variable")
        if node.kind == "goto":
            target_flow = node.params.get("flow")
            if target_flow is not None and target_flow not in flows:
                raise error(node, f"{target_flow!r} is not a flow", "flow")
            within = flows[target_flow] if target_flow else flow
            action = node.params.get("action")
            if action is not None and action not in within.labels:
                raise error(node, f"{within.name!r} has no action named {action!r}", "action")
        if node.kind == "record" and "on_end" in node.params and node.params["on_end"] not in flows:
            raise error(node, f"{node.params['on_end']!r} is not a flow", "on_end")
        for name, target in list(node.branches.items()):
            if target.flow == "?":
                if target.node in flow.labels:
                    node.branches[name] = Target(node=target.node)
                elif target.node in flows:
                    node.branches[name] = Target(flow=target.node)
                else:
                    raise error(node, f"{target.node!r} is neither an action of this flow nor a "
                                "flow", _branch_field(name))


def load_flows(path: str | Path) -> FlowSet:
    """Load and check the flow file, or every ``*.yaml``/``*.yml`` in the folder, at ``path``."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise FlowError("holds no .yaml or .yml files", file=str(path))
    else:
        files = [path]
    loader = _Loader()
    for file in files:
        loader.read_file(file)
    return loader.build(tuple(str(file) for file in files))


def flows_from_document(document: dict[str, Any], name: str) -> FlowSet:
    """A FlowSet from a flow document already in memory (the built-in flows)."""
    loader = _Loader()
    loader.read_document(document, name)
    return loader.build((name,))


__all__ = ["BLOCKING", "FlowError", "flows_from_document", "load_flows"]
