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
    """Cycles made only of actions that do not wait for the caller (strongly connected parts of
    the graph of non-waiting actions; linear in the size of the flows)."""
    nodes = [(flow, node) for flow in flows.flows.values() for node in flow.nodes.values()
             if node.kind not in BLOCKING]
    key_of = {(flow.name, node.id): (flow, node) for flow, node in nodes}
    edges: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for flow, node in nodes:
        edges[(flow.name, node.id)] = [
            (target_flow.name, target_id) for target_flow, target_id, _ in successors(flows, flow, node)
            if target_id is not None and (target_flow.name, target_id) in key_of]

    # Tarjan's algorithm, iterative (flows can be long)
    index: dict[tuple[str, str], int] = {}
    low: dict[tuple[str, str], int] = {}
    on_stack: set[tuple[str, str]] = set()
    stack: list[tuple[str, str]] = []
    parts: list[list[tuple[str, str]]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            vertex, position = work.pop()
            if position == 0:
                index[vertex] = low[vertex] = counter
                counter += 1
                stack.append(vertex)
                on_stack.add(vertex)
            for offset, target in enumerate(edges[vertex][position:], start=position):
                if target not in index:
                    work.append((vertex, offset + 1))
                    work.append((target, 0))
                    break
                if target in on_stack:
                    low[vertex] = min(low[vertex], index[target])
            else:
                if low[vertex] == index[vertex]:
                    part = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        part.append(member)
                        if member == vertex:
                            break
                    parts.append(part)
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[vertex])

    findings = []
    for part in parts:
        looping = len(part) > 1 or part[0] in edges[part[0]]
        if not looping:
            continue
        flow, node = key_of[min(part, key=lambda k: (k[0], list(key_of).index(k)))]
        path = " -> ".join(f"{f}:{n}" for f, n in sorted(part, key=list(key_of).index))
        findings.append(Finding("error", "loops-without-waiting", flow.file, flow.name, node.path,
                                f"these actions lead back to each other without waiting for the "
                                f"caller: {path}"))
    return findings
