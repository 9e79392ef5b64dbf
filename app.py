"""The Flask app: ``create_app()`` for tests and tools, ``app`` for ``gunicorn app:app``."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from handlers.health import health


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(DATA_DIR=os.environ.get("DATA_DIR", "./data"))
    if test_config:
        app.config.update(test_config)
    app.register_blueprint(health)
    return app


app = create_app()
