from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from app import create_app
from tests.freeclimb import SECRET

pytest_plugins = ["handlers.testing"]  # the simulator and run_scenario fixtures

# Deterministic in CI, so a red build is reproducible; wider search locally.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _no_background_downloads(monkeypatch):
    """Apps built by tests (and servers they start) fetch no audio unless a test asks: the
    recording URLs in most tests are not on this machine, and tests talk to 127.0.0.1 only."""
    monkeypatch.setenv("MIRROR_AUDIO", "off")


@pytest.fixture
def app(tmp_path):
    """The app on a fresh store in a temporary directory, verifying signatures with SECRET."""
    return create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"),
                       "FREECLIMB_SIGNING_SECRET": SECRET,
                       "PUBLIC_BASE_URL": "https://voice.example.com"})


@pytest.fixture
def recordings(app):
    return app.extensions["store"].recordings


@pytest.fixture
def client(app):
    return app.test_client()
