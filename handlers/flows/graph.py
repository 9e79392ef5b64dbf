"""Drawing a flow: Mermaid text (always) and Graphviz DOT, turned into SVG where ``dot`` exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from handlers.flows.model import Flow, FlowSet, Node, successors

_SHAPES = {"menu": ("{", "}"), "speech_menu": ("{", "}"), "branch": ("{", "}"),
           "record": ("[(", ")]"), "transcribe": ("[(", ")]")}


def _caption(node: Node) -> str:
    params = node.params
    detail = ""
    for key in ("text", "prompt", "file", "to", "length", "reason"):
        if key in params:
            detail = str(params[key])
            break
    if node.kind == "goto":
        detail = " ".join(str(params[k]) for k in ("flow", "action") if k in params)
    if node.kind == "set":
        detail = ", ".join(f"{k} = {v}" for k, v in params["values"].items())
    if node.kind == "record" and params.get("owner"):
        detail = f"owner {params['owner']['id'][:8]}"
    detail = " ".join(detail.split())
    if len(detail) > 48:
        detail = detail[:45] + "..."
    name = f"{node.label}: " if node.label else ""
    return f"{name}{node.kind}" + (f"\n{detail}" if detail else "")


def _edges(flow: Flow, node: Node, flows: FlowSet) -> list[tuple[str, str]]:
    """(target key, edge label); keys are node ids of this flow, ``flow:NAME`` or ``end``."""
    edges = []
    for target_flow, target_id, name in successors(flows, flow, node):
        if target_flow is not flow:
            key = f"flow:{target_flow.name}"
        else:
            key = target_id or "end"
        label = name.removeprefix("option:")
        if name.startswith("case:"):
            label = "case " + name.removeprefix("case:")
        edges.append((key, label))
    return edges


def _mermaid_id(key: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", lambda m: f"_{ord(m.group()):x}_", key)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("\n", "<br/>")


def mermaid(flow: Flow, flows: FlowSet) -> str:
    lines = ["flowchart TD", f'  start(("{_mermaid_text(flow.name)}")) --> {_mermaid_id(flow.start or "end")}']
    extra: dict[str, str] = {}
    for node in flow.nodes.values():
        left, right = _SHAPES.get(node.kind, ("[", "]"))
        lines.append(f'  {_mermaid_id(node.id)}{left}"{_mermaid_text(_caption(node))}"{right}')
        for key, label in _edges(flow, node, flows):
            if key == "end" or key.startswith("flow:"):
                extra[key] = "end: hang up" if key == "end" else f"flow {key[5:]}"
            arrow = f"-->|{_mermaid_text(label)}|" if label else "-->"
            lines.append(f"  {_mermaid_id(node.id)} {arrow} {_mermaid_id(key)}")
    for key, caption in extra.items():
        lines.append(f'  {_mermaid_id(key)}(["{_mermaid_text(caption)}"])')
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def dot(flow: Flow, flows: FlowSet) -> str:
    shapes = {"menu": "diamond", "speech_menu": "diamond", "branch": "diamond",
              "record": "cylinder", "transcribe": "cylinder"}
    lines = [f'digraph "{_dot_text(flow.name)}" {{', "  rankdir=TB;",
             '  node [shape=box, style=rounded, fontname="Helvetica"];',
             f'  "start" [shape=circle, label="{_dot_text(flow.name)}"];',
             f'  "start" -> "{_dot_text(flow.start or "end")}";']
    extra: dict[str, str] = {}
    for node in flow.nodes.values():
        lines.append(f'  "{_dot_text(node.id)}" [label="{_dot_text(_caption(node))}", '
                     f'shape={shapes.get(node.kind, "box")}];')
        for key, label in _edges(flow, node, flows):
            if key == "end" or key.startswith("flow:"):
                extra[key] = "end: hang up" if key == "end" else f"flow {key[5:]}"
            lines.append(f'  "{_dot_text(node.id)}" -> "{_dot_text(key)}" [label="{_dot_text(label)}"];')
    for key, caption in extra.items():
        lines.append(f'  "{_dot_text(key)}" [label="{_dot_text(caption)}", shape=ellipse];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(flow: Flow, flows: FlowSet, directory: Path) -> list[Path]:
    """Write ``NAME.mmd`` and, when Graphviz's ``dot`` is installed, ``NAME.svg``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / f"{flow.name}.mmd"]
    written[0].write_text(mermaid(flow, flows), encoding="utf-8")
    dot_program = shutil.which("dot")
    if dot_program:
        svg = directory / f"{flow.name}.svg"
        result = subprocess.run([dot_program, "-Tsvg", "-o", str(svg)], input=dot(flow, flows),
                                text=True, capture_output=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"dot failed: {result.stderr.strip()}")
        written.append(svg)
    return written
