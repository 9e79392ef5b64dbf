"""The recordings REST API: /recordings, /recordings/{id}, /recordingfiles/{id}, /openapi.json.

Views parse with marshmallow, call :mod:`handlers.recordings`, and serialise with the same
schemas the OpenAPI document is generated from (apispec), so the document cannot drift from
what the API does.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import Blueprint, Response, current_app, jsonify, redirect, request, send_file
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from handlers import recordings as logic
from handlers.schemas import first_problem
from storage.recordings import FIELDS, STATUSES

api = Blueprint("api", __name__)

_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_TIME_PATTERN = (r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                 r"([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
                 r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$")


class Timestamp(fields.String):
    """A time in a query: ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (UTC) or ISO 8601 with an offset."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
        except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
            raise ValidationError("must be a time such as 2026-11-21 10:00:00 or "
                                  "2026-11-21T10:00:00Z") from None
        # isoformat pads the year to four digits (strftime's %Y does not below 1000), so stored
        # and asked times compare correctly as text
        return moment.isoformat(sep=" ", timespec="microseconds")


class ListQuery(Schema):
    class Meta:
        unknown = RAISE  # a misspelt filter must not silently return everything

    status = fields.String(validate=validate.OneOf(STATUSES))
    reference_type = fields.String(validate=validate.OneOf(("call", "confbridge")))
    reference_id = fields.String(validate=validate.Regexp(_UUID, error="must be a UUID"))
    call_id = fields.String(validate=validate.Length(min=1, max=128))
    owner_type = fields.String(validate=validate.OneOf(("", "agent")))
    owner_id = fields.String(validate=validate.Regexp(_UUID, error="must be a UUID"))
    activeflow_id = fields.String(validate=validate.Regexp(_UUID, error="must be a UUID"))
    customer_id = fields.String(validate=validate.Regexp(_UUID, error="must be a UUID"))
    since = Timestamp(metadata={"description": "created at or after (UTC unless an offset is given)",
                                "pattern": _TIME_PATTERN})
    until = Timestamp(metadata={"description": "created at or before (UTC unless an offset is given)",
                                "pattern": _TIME_PATTERN})
    page_size = fields.Integer(load_default=50, validate=validate.Range(1, 1000), strict=False)
    page_token = fields.String(validate=validate.Length(min=1, max=200),
                               metadata={"description": "next_page_token of the previous page",
                                         "pattern": "^[A-Za-z0-9_-]+$"})
    deleted = fields.Boolean(load_default=False, truthy={"true", "1"}, falsy={"false", "0"},
                             metadata={"description": "include deleted recordings"})


class RecordingSchema(Schema):
    """A Recording entry: the Recording resource's fields and what FreeClimb reported."""

    id = fields.String(required=True, metadata={"format": "uuid"})
    customer_id = fields.String(required=True)
    owner_type = fields.String(required=True)
    owner_id = fields.String(required=True)
    activeflow_id = fields.String(required=True)
    reference_type = fields.String(required=True)
    reference_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    format = fields.String(required=True)
    on_end_flow_id = fields.String(required=True)
    tm_start = fields.String(required=True)
    tm_end = fields.String(required=True)
    tm_create = fields.String(required=True)
    tm_update = fields.String(required=True)
    tm_delete = fields.String(required=True)
    recording_id = fields.String(allow_none=True, required=True)
    recording_url = fields.String(allow_none=True, required=True)
    recording_size = fields.Integer(allow_none=True, required=True)
    duration_sec = fields.Integer(allow_none=True, required=True)
    term_reason = fields.String(allow_none=True, required=True)
    privacy_mode = fields.Boolean(required=True)
    parent_call_id = fields.String(allow_none=True, required=True)
    call_id = fields.String(allow_none=True, required=True)
    account_id = fields.String(allow_none=True, required=True)
    conference_id = fields.String(allow_none=True, required=True)
    queue_id = fields.String(allow_none=True, required=True)
    from_ = fields.String(allow_none=True, required=True, data_key="from")
    to = fields.String(allow_none=True, required=True)
    direction = fields.String(allow_none=True, required=True)
    call_status = fields.String(allow_none=True, required=True)
    freeclimb_deleted = fields.Boolean(metadata={"description": "FreeClimb's copy was deleted"})
    mirror_state = fields.String(allow_none=True, required=True, metadata={
        "description": "our copy of the audio: pending, mirrored, failed (null: nothing to fetch)"})
    mirror_error = fields.String(allow_none=True, required=True)
    sha256 = fields.String(allow_none=True, required=True)
    local_size = fields.Integer(allow_none=True, required=True)


class RecordingPageSchema(Schema):
    recordings = fields.List(fields.Nested(RecordingSchema), required=True)
    next_page_token = fields.String(allow_none=True, required=True)


class ErrorSchema(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)


_list_query = ListQuery()
_recording = RecordingSchema()
_page = RecordingPageSchema()


_SHOWN = set(FIELDS) | {"freeclimb_deleted", "mirror_state", "mirror_error", "sha256", "local_size"}


def _attributes(entry: dict[str, Any]) -> dict[str, Any]:
    # stored entries name the caller's number "from"; the schema's attribute is from_
    return {("from_" if key == "from" else key): value for key, value in entry.items()
            if key in _SHOWN}


def _serialise(entry: dict[str, Any]) -> dict[str, Any]:
    return _recording.dump(_attributes(entry))


def _error(status: int, error: str, message: str, **headers: str) -> Response:
    response = jsonify(error=error, message=message)
    response.status_code = status
    response.headers.update(headers)
    return response


@api.before_request
def _authorise() -> Response | None:
    if request.path == "/openapi.json":
        return None
    token = current_app.config["SETTINGS"].api_token
    if token is None:
        return _error(503, "api_disabled", "the recordings API is disabled: set API_TOKEN to enable it")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return _error(401, "unauthorized", "send Authorization: Bearer <API_TOKEN>",
                      **{"WWW-Authenticate": 'Bearer realm="recordings"'})
    return None


def _store_recordings():
    return current_app.extensions["store"].recordings


@api.get("/recordings")
def list_recordings() -> Response:
    """List recordings, newest first.
    ---
    get:
      summary: List recordings, newest first
      security: [{bearer: []}]
      parameters:
      - in: query
        schema: ListQuery
      responses:
        200: {content: {application/json: {schema: RecordingPageSchema}}}
        400: {content: {application/json: {schema: ErrorSchema}}}
        401: {content: {application/json: {schema: ErrorSchema}}}
        503: {content: {application/json: {schema: ErrorSchema}}}
    """
    repeated = [name for name, values in request.args.lists() if len(values) > 1]
    if repeated:
        return _error(400, "invalid_query", f"{repeated[0]}: given more than once")
    try:
        query = _list_query.load(request.args.to_dict())
    except ValidationError as exc:
        return _error(400, "invalid_query", first_problem(exc.messages))
    try:
        page = logic.list_recordings(_store_recordings(), query)
    except logic.BadPageToken as exc:
        return _error(400, "invalid_query", f"page_token: {exc}")
    return jsonify(_page.dump({"recordings": [_attributes(e) for e in page["recordings"]],
                               "next_page_token": page["next_page_token"]}))


def _one(entry_id: str) -> dict[str, Any] | Response:
    if not re.fullmatch(_UUID, entry_id):
        return _error(404, "not_found", f"no recording {entry_id!r}: ids are UUIDs")
    entry = _store_recordings().get(entry_id)
    if entry is None:
        return _error(404, "not_found", f"no recording {entry_id}")
    return entry


@api.get("/recordings/<entry_id>")
def get_recording(entry_id: str) -> Response:
    """One recording.
    ---
    get:
      summary: One recording
      security: [{bearer: []}]
      parameters:
      - {in: path, name: entry_id, required: true, schema: {type: string}}
      responses:
        200: {content: {application/json: {schema: RecordingSchema}}}
        401: {content: {application/json: {schema: ErrorSchema}}}
        404: {content: {application/json: {schema: ErrorSchema}}}
        503: {content: {application/json: {schema: ErrorSchema}}}
    """
    found = _one(entry_id)
    return found if isinstance(found, Response) else jsonify(_serialise(found))


@api.delete("/recordings/<entry_id>")
def delete_recording(entry_id: str) -> Response:
    """Soft-delete a recording (repeating it is harmless).
    ---
    delete:
      summary: Soft-delete a recording, remove our audio and FreeClimb's copy
      security: [{bearer: []}]
      parameters:
      - {in: path, name: entry_id, required: true, schema: {type: string}}
      responses:
        200: {content: {application/json: {schema: RecordingSchema}}}
        401: {content: {application/json: {schema: ErrorSchema}}}
        404: {content: {application/json: {schema: ErrorSchema}}}
        503: {content: {application/json: {schema: ErrorSchema}}}
    """
    found = _one(entry_id)
    if isinstance(found, Response):
        return found
    entry = logic.delete_recording(_store_recordings(), found["id"],
                                   current_app.config["SETTINGS"].data_dir,
                                   current_app.extensions["freeclimb_api"],
                                   current_app.extensions["flow_engine"].now())
    return jsonify(_serialise(entry))


@api.get("/recordingfiles/<entry_id>")
def recording_file(entry_id: str) -> Response:
    """A recording's audio (WAV), with Range support; a 307 to FreeClimb when we hold no copy.
    ---
    get:
      summary: The audio of a recording
      security: [{bearer: []}]
      parameters:
      - {in: path, name: entry_id, required: true, schema: {type: string}}
      - {in: header, name: Range, required: false, schema: {type: string}}
      responses:
        200: {content: {audio/wav: {schema: {type: string, format: binary}}}}
        206: {content: {audio/wav: {schema: {type: string, format: binary}}}}
        307: {description: FreeClimb's copy (we hold none yet)}
        401: {content: {application/json: {schema: ErrorSchema}}}
        404: {content: {application/json: {schema: ErrorSchema}}}
        416: {description: the Range is outside the file}
        503: {content: {application/json: {schema: ErrorSchema}}}
    """
    found = _one(entry_id)
    if isinstance(found, Response):
        return found
    settings = current_app.config["SETTINGS"]
    source = logic.locate_audio(found, settings.data_dir, settings.freeclimb_api_url)
    if source.path is not None:
        try:
            return send_file(source.path, mimetype="audio/wav", conditional=True, max_age=0,
                             download_name=f"{found['id']}.wav")
        except FileNotFoundError:  # deleted between the look and the send
            return _error(404, "no_audio", f"no audio for recording {found['id']}: it was just removed")
    if source.redirect is not None:
        return redirect(source.redirect, code=307)
    return _error(404, "no_audio", f"no audio for recording {found['id']}: {source.unavailable}")


def openapi_document() -> dict[str, Any]:
    spec = APISpec(title="Recordings API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Recordings made by FreeClimb calls, and their audio."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for schema in (RecordingSchema, RecordingPageSchema, ErrorSchema, ListQuery):
        spec.components.schema(schema.__name__, schema=schema)
    for path, view in (("/recordings", list_recordings), ("/recordings/{entry_id}", get_recording),
                       ("/recordings/{entry_id}", delete_recording),
                       ("/recordingfiles/{entry_id}", recording_file)):
        spec.path(path=path, operations=load_operations_from_docstring(view.__doc__))
    return spec.to_dict()


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())
