"""The authors' tools: `flask flows check` (load and lint) and `flask flows graph`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from handlers.flows import load_flows
from handlers.flows.graph import dot, mermaid, write_graph
from handlers.flows.lint import lint

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "flows"


def flows_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flows.yaml"
    path.write_text(text)
    return path


def findings(tmp_path: Path, text: str) -> list:
    return lint(load_flows(flows_file(tmp_path, text)))


def rules(found) -> list[tuple[str, str, str | None]]:
    return [(f.rule, f.severity, f.action) for f in found]


def test_the_example_flows_lint_clean():
    """The shipped example flows load with no lint findings at all."""
    assert lint(load_flows(EXAMPLES)) == []


def test_an_action_nothing_leads_to_is_unreachable(tmp_path):
    """An action after a hangup that no branch names is reported unreachable."""
    found = findings(tmp_path, """
flows:
  - name: main
    actions:
      - say: Hello
      - hangup:
      - say: Never heard
""")
    assert rules(found) == [("unreachable", "warning", "actions[2] (say)")]


def test_a_flow_nothing_runs_is_unreachable(tmp_path):
    """A flow that no number, default, goto or on_end reaches is reported."""
    found = findings(tmp_path, """
flows:
  - name: main
    actions: [{hangup: }]
  - name: orphan
    actions: [{hangup: }]
default: main
""")
    assert [(f.rule, f.flow, f.action) for f in found] == [("unreachable", "orphan", None)]


def test_a_path_that_runs_off_the_end_never_ends(tmp_path):
    """A branch whose actions stop without hangup, goto or record is reported where it ends."""
    found = findings(tmp_path, """
flows:
  - name: main
    actions:
      - branch:
          cases:
            - if: {variable: call.from, equals: "+13125550100"}
              then: [{say: Hello friend}]
          else: [{hangup: }]
""")
    assert rules(found) == [("never-ends", "warning", "actions[0] (branch).cases[0].then[0] (say)")]


def test_a_flow_ending_in_a_record_or_goto_is_fine(tmp_path):
    """A record or a goto as the last action is a deliberate ending, not a finding."""
    assert findings(tmp_path, """
flows:
  - name: main
    actions:
      - say: Leave a message
      - record:
  - name: other
    actions:
      - goto: {flow: main}
default: other
""") == []


def test_a_menu_without_timeout_handling_is_reported(tmp_path):
    """A menu with neither timeout nor fallback gets a menu-without-timeout warning."""
    found = findings(tmp_path, """
flows:
  - name: main
    actions:
      - menu:
          prompt: Press 1
          options: {"1": [{hangup: }]}
      - hangup:
""")
    assert rules(found) == [("menu-without-timeout", "warning", "actions[0] (menu)")]


def test_a_transfer_without_no_answer_is_reported(tmp_path):
    """A transfer with no no_answer branch gets a transfer-without-fallback warning."""
    found = findings(tmp_path, """
flows:
  - name: main
    actions:
      - transfer: {to: "+13125550111"}
      - hangup:
""")
    assert rules(found) == [("transfer-without-fallback", "warning", "actions[0] (transfer)")]


def test_actions_looping_without_waiting_are_an_error(tmp_path):
    """Gotos that lead back without a menu or recording between them are an error."""
    found = findings(tmp_path, """
flows:
  - name: main
    actions:
      - name: top
        say: Hello
      - goto: top
""")
    assert [(f.rule, f.severity) for f in found] == [("loops-without-waiting", "error")]
    assert "main:top" in found[0].message


def test_a_loop_through_a_menu_is_fine(tmp_path):
    """Going back to a menu is a loop that waits for the caller: no finding."""
    assert findings(tmp_path, """
flows:
  - name: main
    actions:
      - name: top
        menu:
          prompt: Press 1 to hear this again
          options: {"1": top}
          fallback: [{hangup: }]
""") == []


def run_flask(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    environment = {k: v for k, v in os.environ.items() if k not in ("FLOWS_PATH", "DATA_DIR")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "flask", "--app", str(ROOT / "app.py"), *args],
                          capture_output=True, text=True, cwd=cwd or ROOT, env=environment,
                          timeout=120)


def test_check_passes_the_examples():
    """`flask flows check flows` prints a summary and exits 0."""
    result = run_flask("flows", "check", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    assert "4 flows" in result.stdout and "0 errors, 0 warnings" in result.stdout


def test_check_reports_a_broken_file_without_a_traceback(tmp_path):
    """A flow that does not load is named with file, flow, action and field; exit 1."""
    path = flows_file(tmp_path, "flows:\n  - name: main\n    actions:\n      - say: '{{ nope }}'\n")
    result = run_flask("flows", "check", env={"FLOWS_PATH": str(path), "DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert f"{path}: flow 'main': action actions[0] (say): field 'text'" in result.stderr


def test_check_exits_non_zero_on_lint_errors(tmp_path):
    """Lint errors make the exit code 1; warnings alone do not."""
    looping = flows_file(tmp_path, "flows:\n  - name: m\n    actions:\n      - name: a\n        say: x\n      - goto: a\n")
    result = run_flask("flows", "check", str(looping))
    assert result.returncode == 1
    assert "loops-without-waiting" in result.stderr
    warned = tmp_path / "warned.yaml"
    warned.write_text("flows:\n  - name: m\n    actions:\n      - say: x\n")
    result = run_flask("flows", "check", str(warned))
    assert result.returncode == 0
    assert "never-ends" in result.stdout and "1 warning" in result.stdout


def test_check_of_a_missing_path_says_so(tmp_path):
    """A path that does not exist is named in a one-line error, exit non-zero."""
    result = run_flask("flows", "check", str(tmp_path / "nope.yaml"))
    assert result.returncode != 0
    assert "nope.yaml: no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_graph_writes_mermaid_for_a_flow(tmp_path):
    """`flask flows graph departments --stdout` prints a Mermaid flowchart of the menu."""
    result = run_flask("flows", "graph", "departments", "--path", str(EXAMPLES), "--stdout")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("flowchart TD\n")
    assert "-->|1| n_sales" in text and "-->|on_end| n_flow_3a_message_2d_taken" in text


def test_graph_of_an_unknown_flow_lists_the_flows():
    """Asking for a flow that does not exist names the ones that do."""
    result = run_flask("flows", "graph", "nosuch", "--path", str(EXAMPLES))
    assert result.returncode != 0
    assert "no flow named 'nosuch'" in result.stderr and "departments" in result.stderr


def test_mermaid_has_every_action_and_edge():
    """Every node of the flow appears, with an edge for each option, fallback and next."""
    flows = load_flows(EXAMPLES)
    flow = flows.flows["departments"]
    text = mermaid(flow, flows)
    for node_id in flow.nodes:
        assert f'{_mermaid_id(node_id)}' in text
    for label in ("|timeout|", "|invalid|", "|fallback|", "|goto|", "|0|", "|2|"):
        assert label in text


def _mermaid_id(node_id: str) -> str:
    from handlers.flows.graph import _mermaid_id as make

    return make(node_id)


def test_write_graph_without_graphviz_writes_only_mermaid(tmp_path, monkeypatch):
    """Where dot is not installed only FLOW.mmd is written."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    flows = load_flows(EXAMPLES)
    written = write_graph(flows.flows["voicemail"], flows, tmp_path / "out")
    assert written == [tmp_path / "out" / "voicemail.mmd"]
    assert (tmp_path / "out" / "voicemail.mmd").read_text().startswith("flowchart TD")


def test_write_graph_hands_dot_the_graph(tmp_path, monkeypatch):
    """Where dot is installed it gets the DOT text on stdin and writes FLOW.svg."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text("#!/bin/sh\n# stand-in for Graphviz: keep the input as the 'svg'\n"
                    'out=""\nwhile [ $# -gt 0 ]; do [ "$1" = "-o" ] && out="$2"; shift; done\n'
                    'cat > "$out"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    flows = load_flows(EXAMPLES)
    written = write_graph(flows.flows["departments"], flows, tmp_path / "out")
    assert [p.name for p in written] == ["departments.mmd", "departments.svg"]
    assert (tmp_path / "out" / "departments.svg").read_text() == dot(flows.flows["departments"], flows)


def test_real_graphviz_renders_svg(tmp_path):
    """With Graphviz installed the SVG is a real drawing naming the flow's actions."""
    if shutil.which("dot") is None:
        pytest.skip("Graphviz (dot) is not installed on this machine")
    flows = load_flows(EXAMPLES)
    written = write_graph(flows.flows["departments"], flows, tmp_path)
    svg = (tmp_path / "departments.svg").read_text()
    assert written[-1].suffix == ".svg"
    assert svg.lstrip().startswith("<?xml") and "main&#45;menu: menu" in svg  # dot escapes "-"
