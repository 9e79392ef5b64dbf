"""Every example flow, driven through its scenario files by the call simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "flows" / "scenarios").glob("*.yaml"))


@pytest.fixture
def app(tmp_path):
    """The app running the example flows."""
    from app import create_app
    from tests.freeclimb import SECRET

    return create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"),
                       "FREECLIMB_SIGNING_SECRET": SECRET, "FLOWS_PATH": str(ROOT / "flows"),
                       "PUBLIC_BASE_URL": "https://voice.example.com"})


def test_every_example_flow_has_scenarios():
    """Each flow in flows/ is the first flow reached by at least one scenario's called number."""
    from handlers.flows import load_flows
    from handlers.simulate import load_scenario

    flows = load_flows(ROOT / "flows")
    reached = {flows.for_number(load_scenario(path).call.to).name for path in SCENARIOS}
    entry_flows = {flows.default, *flows.numbers.values()}
    assert entry_flows <= reached


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_scenario_passes(run_scenario, app, path):
    """The scenario's call passes every check and meets every expectation, and the store agrees."""
    run = run_scenario(path)
    store = app.extensions["store"]
    made = {r["recordingId"] for r in run.result.recordings}
    assert {e["recording_id"] for e in store.recordings.all()} == made
    assert {e["status"] for e in store.recordings.all()} <= {"ended"}
    (activeflow,) = store.activeflows.all()
    assert activeflow["status"] == "ended"
