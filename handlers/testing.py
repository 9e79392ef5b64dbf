"""pytest fixtures for simulating calls: ``pytest_plugins = ["handlers.testing"]`` in a conftest.

``simulator`` runs calls against the ``app`` fixture of the test (in process, signed with its
secret); ``run_scenario(path)`` runs a scenario file and fails the test with the transcript
when the call fails or an expectation is not met.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from handlers.simulate import ScenarioRun, Simulator, load_scenario


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(app=request.getfixturevalue("app")) as simulator:
        yield simulator


@pytest.fixture
def run_scenario(simulator: Simulator) -> Callable[[str | Path], ScenarioRun]:
    def run(path: str | Path) -> ScenarioRun:
        result = simulator.run(load_scenario(path))
        if not result.ok:
            problems = [result.result.failure] if result.result.failure else []
            pytest.fail("\n".join([f"scenario {path} failed:", *problems, *result.unmet,
                                   result.result.transcript()]), pytrace=False)
        return result
    return run
