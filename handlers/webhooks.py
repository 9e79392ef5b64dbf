"""FreeClimb's webhooks: verify, parse, hand to the call logic, answer with PerCL.

Routes stay thin: the body is checked here (signature, content type, schema) and the decision
is made in :mod:`handlers.calls`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError

from handlers import calls
from handlers.responses import percl_response
from handlers.flows.engine import FlowEngine, FlowWebhookError
from handlers.schemas import (
    CALL_ENDED,
    FLOW_WEBHOOKS,
    TRANSFER_WEBHOOKS,
    CallStatusSchema,
    InboundCallSchema,
    RecordSchema,
    first_problem,
)
from percl import Hangup, Script
from percl.attributes import Invalid, Url
from storage import Store
from handlers.signatures import HEADER, SignatureError, verify

log = logging.getLogger(__name__)

webhooks = Blueprint("webhooks", __name__, url_prefix="/freeclimb")

#: FreeClimb's webhook bodies are a few hundred bytes; anything near this is not FreeClimb.
MAX_BODY_BYTES = 64 * 1024


class BadWebhook(Exception):
    """A webhook the app cannot act on; answered 4xx with the reason."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


@webhooks.errorhandler(BadWebhook)
def _bad_webhook(exc: BadWebhook) -> tuple[Response, int]:
    return jsonify(error=exc.error, message=exc.message), exc.status


@webhooks.before_request
def _verify_signature() -> tuple[Response, int] | None:
    settings = current_app.config["SETTINGS"]
    if not settings.verifies_signatures:
        return None
    body = request.get_data(cache=True)  # the raw bytes FreeClimb signed, never a re-encoding
    try:
        verify(request.headers.get(HEADER), body, settings.signing_secrets,
               settings.signature_tolerance_s)
    except SignatureError as exc:
        log.warning("webhook refused on %s: signature %s: %s", request.path, exc.reason, exc.message)
        return jsonify(error="invalid_signature", reason=exc.reason, message=exc.message), 401
    return None


def _decode_body() -> dict[str, Any]:
    body = request.get_data(cache=True)
    mimetype = request.mimetype
    if mimetype == "application/json":
        try:
            data = json.loads(body, object_pairs_hook=_no_repeats)
        except BadWebhook:
            raise
        except (ValueError, RecursionError):
            raise BadWebhook(400, "invalid_body", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadWebhook(400, "invalid_body", "the JSON body must be an object")
        for key, value in data.items():
            if not _encodable(key) or not _encodable(value):
                # JSON may escape lone surrogates ("\ud800"); they are not text anywhere else
                raise BadWebhook(400, "invalid_webhook", f"{key}: is not valid Unicode text")
        return data
    if mimetype == "application/x-www-form-urlencoded":
        if _BAD_ESCAPE.search(body):
            raise BadWebhook(400, "invalid_body", "the form body has a % not followed by two hex digits")
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                              encoding="utf-8", errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise BadWebhook(400, "invalid_body", "the form body is not valid "
                             "application/x-www-form-urlencoded UTF-8") from None
        # a form cannot say null: an empty value is FreeClimb's "no value"
        return _no_repeats([(key, value if value != "" else None) for key, value in pairs])
    raise BadWebhook(415, "unsupported_media_type",
                     "send application/json or application/x-www-form-urlencoded, not "
                     f"{mimetype or 'no Content-Type'}")


def _encodable(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(item) for item in value)
    return True


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise BadWebhook(400, "invalid_body", f"the field {key} appears more than once")
        data[key] = value
    return data


_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def _read(schema: Schema, request_type: str) -> dict[str, Any]:
    data = _decode_body()
    sent_type = data.get("requestType")
    if isinstance(sent_type, str) and sent_type != request_type:
        # checked before the schema, so the answer names the real problem, not a missing field
        raise BadWebhook(400, "invalid_webhook", f"requestType: {sent_type!r} does not belong to "
                         f"{request.path} (expected {request_type!r})")
    try:
        payload = schema.load(data)
    except ValidationError as exc:
        raise BadWebhook(400, "invalid_webhook", first_problem(exc.messages)) from None
    return payload


def _urls() -> calls.Urls:
    settings = current_app.config["SETTINGS"]
    if settings.public_base_url:
        return calls.Urls(settings.public_base_url)
    base = request.host_url.rstrip("/")
    try:
        Url().check(base + "/")
    except Invalid:
        raise BadWebhook(400, "invalid_host", "the Host header does not make a URL FreeClimb "
                         "could call back; set PUBLIC_BASE_URL") from None
    return calls.Urls(base)


def _engine() -> FlowEngine:
    return current_app.extensions["flow_engine"]


def _store() -> Store:
    return current_app.extensions["store"]


_inbound_schema = InboundCallSchema()
_record_schema = RecordSchema()
_status_schema = CallStatusSchema()


@webhooks.errorhandler(FlowWebhookError)
def _flow_webhook_error(exc: FlowWebhookError) -> tuple[Response, int]:
    return jsonify(error="invalid_webhook" if exc.status == 400 else "not_found"
                   if exc.status == 404 else "conflict", message=exc.message), exc.status


@webhooks.post("/voice")
def voice() -> Response:
    payload = _read(_inbound_schema, "inboundCall")
    return percl_response(_engine().inbound_call(calls.Call.from_webhook(payload), payload, _urls()))


@webhooks.post("/record/<entry_id>")
def record(entry_id: str) -> Response:
    if not calls.is_entry_id(entry_id):
        raise BadWebhook(404, "not_found", f"no recording entry can have the id {entry_id!r}")
    payload = _read(_record_schema, "record")
    urls = _urls()
    engine = _engine()
    try:
        with _store().atomic() as changes:
            entry = calls.complete_recording(changes.recordings, entry_id, payload, engine.now())
            script = engine.recording_ended(entry, payload, changes, urls)
    except calls.WrongCall as exc:
        raise BadWebhook(400, "invalid_webhook", str(exc)) from None
    if current_app.config["SETTINGS"].mirror_audio:
        current_app.extensions["mirror"].wake()  # fetch the audio now, after this answer
    # a recording no flow waits for (made outside a flow, or its activeflow is gone): end politely
    return percl_response(script if script is not None else Script(Hangup()))


@webhooks.post("/flows/<activeflow_id>/<int:seq>")
def flow_step(activeflow_id: str, seq: int) -> Response:
    if not calls.is_entry_id(activeflow_id):
        raise BadWebhook(404, "not_found", f"no activeflow can have the id {activeflow_id!r}")
    data_type = _peek_request_type()
    schema = FLOW_WEBHOOKS.get(data_type) if isinstance(data_type, str) else None
    if schema is None:
        raise BadWebhook(400, "invalid_webhook", f"requestType: {data_type!r} does not resume a "
                         f"flow (expected one of {', '.join(FLOW_WEBHOOKS)})")
    payload = _read(schema, data_type)
    return percl_response(_engine().resume(activeflow_id, seq, payload, _urls()))


@webhooks.post("/flows/<activeflow_id>/<int:seq>/<any(dial, connect):leg>")
def transfer_leg(activeflow_id: str, seq: int, leg: str) -> Response:
    if not calls.is_entry_id(activeflow_id):
        raise BadWebhook(404, "not_found", f"no activeflow can have the id {activeflow_id!r}")
    request_type = _peek_request_type()
    schema = TRANSFER_WEBHOOKS[leg].get(request_type) if isinstance(request_type, str) else None
    if schema is None:
        raise BadWebhook(400, "invalid_webhook", f"requestType: {request_type!r} does not belong to "
                         f"a transfer's {leg} leg (expected one of {', '.join(TRANSFER_WEBHOOKS[leg])})")
    payload = _read(schema, request_type)
    return percl_response(_engine().transfer_leg(activeflow_id, seq, leg, payload, _urls()))


@webhooks.post("/status")
def status() -> tuple[str, int]:
    payload = _read(_status_schema, "callStatus")
    now = _engine().now()
    calls.call_status(_store().recordings, payload, now)
    if payload.get("recording_id"):  # the whole call was recorded (StartRecordCall)
        entry_id = calls.call_recording_id(payload["recording_id"])
        try:
            with _store().atomic() as changes:
                calls.complete_recording(changes.recordings, entry_id, payload, now)
        except calls.WrongCall as exc:
            raise BadWebhook(400, "invalid_webhook", str(exc)) from None
        if current_app.config["SETTINGS"].mirror_audio:
            current_app.extensions["mirror"].wake()
    if payload.get("call_status") in CALL_ENDED:
        _engine().call_ended(payload["call_id"], payload)
    return "", 204


def _peek_request_type() -> Any:
    data = _decode_body()
    return data.get("requestType")
