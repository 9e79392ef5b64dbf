"""The Flask app: ``create_app()`` for tests and tools, ``app`` for ``gunicorn app:app``.

Configuration comes from the environment (see the README); ``test_config`` overrides it with
the same names.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from handlers.api import api
from handlers.cli import recordings_cli
from handlers.config import ConfigError, load_settings
from handlers.flows import FlowError, flows_for
from handlers.flows.engine import FlowEngine
from handlers.freeclimb_api import FreeClimbApi
from handlers.health import health
from handlers.mirror import Mirror, Source
from handlers.webhooks import MAX_BODY_BYTES, webhooks
from storage import StoreError, open_store

log = logging.getLogger("freeclimb_app")


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    env = {**os.environ, **{k: str(v) for k, v in (test_config or {}).items() if isinstance(v, (str, int))}}
    settings = load_settings(env)
    app.config.update(SETTINGS=settings, DATA_DIR=settings.data_dir, MAX_CONTENT_LENGTH=MAX_BODY_BYTES)
    if test_config:
        app.config.update(test_config)
    try:
        flows = flows_for(settings.flows_path, settings.voicemail)
    except FlowError as exc:
        raise ConfigError(f"FLOWS_PATH: {exc}") from None
    store = open_store(settings.data_dir)
    app.extensions["store"] = store
    mirror = Mirror(store.recordings, settings.data_dir, Source(
        settings.freeclimb_api_url, settings.freeclimb_account_id, settings.freeclimb_api_key))
    app.extensions["mirror"] = mirror
    credentials = settings.freeclimb_credentials
    app.extensions["freeclimb_api"] = (FreeClimbApi(settings.freeclimb_api_url, *credentials)
                                       if credentials else None)
    if settings.mirror_audio:
        mirror.start()  # in each worker: downloads left pending by a stopped worker resume here
    app.extensions["flows"] = flows
    app.extensions["flow_engine"] = FlowEngine(flows, store)

    if settings.trusted_proxies:
        # behind ngrok or a load balancer: callback URLs use the public scheme and host
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]
    app.register_blueprint(health)
    app.register_blueprint(webhooks)
    app.register_blueprint(api)
    app.cli.add_command(recordings_cli)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        response = jsonify(error=(exc.name or "error").lower().replace(" ", "_"),
                           message=exc.description)
        response.status_code = exc.code or 500
        for name, value in exc.get_headers():  # Allow on 405, Content-Range on 416, ...
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
        return response

    @app.errorhandler(413)
    def _too_large(exc: HTTPException):
        return jsonify(error="body_too_large",
                       message=f"the body is larger than {MAX_BODY_BYTES // 1024} KB"), 413

    @app.errorhandler(StoreError)
    def _store_error(exc: StoreError):
        log.error("store unavailable: %s", exc)
        return jsonify(error="store_unavailable", message="the recording store cannot be written"), 503

    if not settings.verifies_signatures:
        log.warning("FREECLIMB_SIGNING_SECRET is not set: webhook signatures are NOT verified; "
                    "anyone who finds the URLs can post fake calls")
    return app


_app: Flask | None = None


def __getattr__(name: str) -> Any:
    """``app.app``, built on first use: ``gunicorn app:app`` and ``flask --app app`` get the
    configured app, while importing ``create_app`` (tests, tools) opens no store."""
    global _app
    if name == "app":
        if _app is None:
            try:
                _app = create_app()
            except ConfigError as exc:
                # gunicorn and `flask run` show this line, not a traceback, and do not start
                raise SystemExit(f"cannot start: {exc}") from None
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
