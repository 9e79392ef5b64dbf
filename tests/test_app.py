"""The app skeleton: the factory, the module-level app gunicorn serves, the health route."""

from __future__ import annotations

import importlib


def test_healthz_says_the_app_is_up(client):
    """GET /healthz answers 200 with a JSON status."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_module_level_app_is_what_gunicorn_serves(tmp_path, monkeypatch):
    """`app:app` is built on first use from the environment, with the factory's routes."""
    module = importlib.import_module("app")
    monkeypatch.setattr(module, "_app", None)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "served"))
    served = module.app
    assert module.app is served  # built once
    assert served.config["DATA_DIR"] == str(tmp_path / "served")
    rules = {rule.rule for rule in served.url_map.iter_rules()}
    assert {"/healthz", "/freeclimb/voice", "/freeclimb/status", "/freeclimb/record/<entry_id>"} <= rules


def test_importing_the_factory_opens_no_store(tmp_path, monkeypatch):
    """Importing app for create_app does not create a store in the working directory."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(root)!r}); "
                    "from app import create_app"], cwd=tmp_path, check=True)
    assert not (tmp_path / "data").exists()


def test_factory_takes_test_config(tmp_path):
    """create_app(test_config) overrides the configuration read from the environment."""
    from app import create_app

    app = create_app({"DATA_DIR": str(tmp_path)})
    assert app.config["DATA_DIR"] == str(tmp_path)
