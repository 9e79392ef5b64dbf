"""Linting loaded flows: what loads fine but would surprise a caller.

Rules (each finding names file, flow and action):

- unreachable: an action nothing leads to, or a flow no number, default, goto or on_end runs;
- never-ends: a path that runs off the end of a flow without a hangup, goto or recording (the
  engine hangs up there, without a goodbye);
- menu-without-timeout: a menu with neither a timeout nor a fallback branch;
- transfer-without-fallback: a transfer with no no_answer branch;
- loops-without-waiting (an error): actions that lead back to themselves without anything that
  waits for the caller, which would spin until the engine gives up.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.flows.model import BLOCKING, ENDING, Flow, FlowSet, Node, successors

#: Actions after which falling off the end of the flow is a deliberate ending.
_ENDS_WELL = ENDING | {"goto", "record"}


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    rule: str
    file: str
    flow: str
    action: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: flow {self.flow!r}"
        if self.action:
            where += f": action {self.action}"
        return f"{where}: {self.severity}: {self.rule}: {self.message}"


def lint(flows: FlowSet) -> list[Finding]:
    findings: list[Finding] = []

    def add(severity: str, rule: str, flow: Flow, node: Node | None, message: str) -> None:
        findings.append(Finding(severity, rule, flow.file, flow.name,
                                node.path if node else None, message))

    # what runs: from every flow a call can start in, following every edge
    starts = {flows.default, *flows.numbers.values()}
    reached: set[tuple[str, str]] = set()
    entered: set[str] = set()
    pending = [(flows.flows[name], flows.flows[name].start) for name in starts]
    while pending:
        flow, node_id = pending.pop()
        entered.add(flow.name)
        if node_id is None or (flow.name, node_id) in reached:
            continue
        reached.add((flow.name, node_id))
        for target_flow, target_id, _ in successors(flows, flow, flow.nodes[node_id]):
            pending.append((target_flow, target_id))

    for flow in flows.flows.values():
        if flow.name not in entered:
            add("warning", "unreachable", flow, None,
                "no number, default, goto, branch or on_end ever runs this flow")
            continue
        for node in flow.nodes.values():
            if (flow.name, node.id) not in reached:
                add("warning", "unreachable", flow, node, "nothing leads to this action")
                continue
            if node.kind in ("menu", "speech_menu") and not {"timeout", "fallback"} & set(node.branches):
                add("warning", "menu-without-timeout", flow, node,
                    "a caller who enters nothing hears the menu again, then falls through; "
                    "add timeout or fallback")
            if node.kind == "transfer" and "no_answer" not in node.branches:
                add("warning", "transfer-without-fallback", flow, node,
                    "when nobody answers the call just goes on; add no_answer")
            for target_flow, target_id, label in successors(flows, flow, node):
                if target_id is None and target_flow is flow and node.kind not in _ENDS_WELL:
                    via = f" (after {label})" if label else ""
                    add("warning", "never-ends", flow, node,
                        f"the flow ends here{via} without hangup, goto or record")
    findings += _busy_loops(flows)
    return findings


def _busy_loops(flows: FlowSet) -> list[Finding]:
    """Cycles made only of actions that do not wait for the caller."""
    findings = []
    seen_cycles: set[frozenset[tuple[str, str]]] = set()
    for flow in flows.flows.values():
        for node in flow.nodes.values():
            if node.kind in BLOCKING:
                continue
            # depth-first search along non-waiting actions, back to where it started
            stack = [(flow, node.id, ((flow.name, node.id),))]
            while stack:
                here_flow, here_id, path = stack.pop()
                for target_flow, target_id, _ in successors(flows, here_flow, here_flow.nodes[here_id]):
                    if target_id is None or target_flow.nodes[target_id].kind in BLOCKING:
                        continue
                    key = (target_flow.name, target_id)
                    if key == (flow.name, node.id):
                        cycle = frozenset(path)
                        if cycle not in seen_cycles:
                            seen_cycles.add(cycle)
                            findings.append(Finding(
                                "error", "loops-without-waiting", flow.file, flow.name, node.path,
                                "these actions lead back here without waiting for the caller: "
                                + " -> ".join(f"{f}:{n}" for f, n in path)))
                    elif key not in path:
                        stack.append((target_flow, target_id, path + (key,)))
    return findings
