"""The app skeleton: the factory, the module-level app gunicorn serves, the health route."""

from __future__ import annotations

import importlib


def test_healthz_says_the_app_is_up(client):
    """GET /healthz answers 200 with a JSON status."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_module_level_app_is_what_gunicorn_serves():
    """`app:app` is a Flask app with the same routes as the factory builds."""
    module = importlib.import_module("app")
    rules = {rule.rule for rule in module.app.url_map.iter_rules()}
    assert "/healthz" in rules


def test_factory_takes_test_config(tmp_path):
    """create_app(test_config) overrides the configuration read from the environment."""
    from app import create_app

    app = create_app({"DATA_DIR": str(tmp_path)})
    assert app.config["DATA_DIR"] == str(tmp_path)
