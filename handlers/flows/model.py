"""Flows as the engine runs them: each flow a graph of nodes, one node per action."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

#: Actions that wait for FreeClimb to call back (their PerCL ends the script).
BLOCKING = frozenset({"menu", "speech_menu", "record", "transcribe", "transfer"})
#: Actions that end the call.
ENDING = frozenset({"hangup", "reject"})

FLOW_NAMESPACE = uuid.UUID("0b6f7f0e-3a53-4bb4-8f43-52a7d0c3e1a9")


def flow_id_for(name: str) -> str:
    """A flow's id when its file gives none: derived from its name, so stable across restarts."""
    return str(uuid.uuid5(FLOW_NAMESPACE, name))


class FlowError(Exception):
    """A flow file the app cannot run; the message names file, flow, action and field."""

    def __init__(self, message: str, *, file: str | None = None, flow: str | None = None,
                 action: str | None = None, field: str | None = None) -> None:
        self.file, self.flow, self.action, self.field = file, flow, action, field
        where = [part for part in (
            file,
            f"flow {flow!r}" if flow else None,
            f"action {action}" if action else None,
            f"field {field!r}" if field else None,
        ) if part]
        self.reason = message
        super().__init__(f"{': '.join(where)}: {message}" if where else message)


@dataclass(frozen=True)
class Target:
    """Where a branch goes: a node of the same flow, or the start of another flow."""

    node: str | None = None  # None with flow None: fall through to the action's next
    flow: str | None = None  # another flow's name (its start, or ``node`` in it)


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    params: dict[str, Any]
    next: str | None  # None: the end of the flow
    branches: dict[str, Target] = field(default_factory=dict)
    label: str | None = None  # the author's name for the action, if any
    path: str = ""  # where it stands in the file, for messages: "actions[2].options['1'][0]"


@dataclass(frozen=True)
class Flow:
    id: str
    name: str
    file: str
    start: str | None  # first node, None for an empty flow
    nodes: dict[str, Node]
    labels: dict[str, str]  # the author's action names -> node ids


@dataclass(frozen=True)
class FlowSet:
    """Every loaded flow and which one answers each called number."""

    flows: dict[str, Flow]  # by name
    numbers: dict[str, str]  # E.164 called number -> flow name
    default: str
    files: tuple[str, ...] = ()

    def by_id(self, flow_id: str) -> Flow | None:
        return next((flow for flow in self.flows.values() if flow.id == flow_id), None)

    def for_number(self, called: str | None) -> Flow:
        return self.flows[self.numbers.get(called or "", self.default)]


def successors(flows: FlowSet, flow: Flow, node: Node) -> list[tuple[Flow, str | None, str]]:
    """Where a call can go after ``node``: (flow, node id or None for its end, edge label)."""
    if node.kind in ENDING:
        return []
    if node.kind == "goto":
        target = flows.flows[node.params["flow"]] if "flow" in node.params else flow
        action = node.params.get("action")
        return [(target, target.labels[action] if action else target.start, "goto")]
    out: list[tuple[Flow, str | None, str]] = []
    for name, branch in node.branches.items():
        if branch.flow is not None:
            other = flows.flows[branch.flow]
            out.append((other, other.start, name))
        else:
            out.append((flow, branch.node, name))
    if node.kind == "record" and node.params.get("on_end"):
        other = flows.flows[node.params["on_end"]]
        return out + [(other, other.start, "on_end")]
    if node.kind == "branch" and "else" in node.branches:
        return out  # one of the cases or else always applies: nothing falls through
    if node.kind in ("menu", "speech_menu") and "fallback" in node.branches:
        return out
    if node.kind == "transfer" and "no_answer" in node.branches:
        return out  # answered, the call is bridged and the flow is done
    return out + [(flow, node.next, "")]
