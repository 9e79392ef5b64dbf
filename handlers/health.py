"""``GET /healthz``: whether the app is up, and whether it checks webhook signatures."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    settings = current_app.config["SETTINGS"]
    body = {"status": "ok", "signature_verification": settings.verifies_signatures}
    if not settings.verifies_signatures:
        body["warning"] = "FREECLIMB_SIGNING_SECRET is not set: webhooks are not verified"
    return jsonify(body)
