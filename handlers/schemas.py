"""Webhook bodies as FreeClimb sends them, loosely typed, read into checked snake_case dicts.

FreeClimb sends recordingSize as a string in the record webhook, forms carry every value as a
string, and privacyMode may be a JSON boolean or "true"/"false". What is unambiguous is
coerced; anything else is refused with the field's name.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from percl.model import camel_case

_WHOLE = re.compile(r"\s*[0-9]{1,18}\s*")  # ASCII digits; a recording is never 10**18 bytes

CALL_ENDED = ("completed", "failed", "busy", "noAnswer", "canceled")
WAV_FORMATS = ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave")


class WholeNumber(fields.Integer):
    """A non-negative integer given as a JSON number or as a string of digits."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("must be a whole number, not a boolean")
        if isinstance(value, int) and abs(value) < 10**18:
            number = value
        elif isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
            number = int(value)
        elif isinstance(value, str) and _WHOLE.fullmatch(value):
            number = int(value)
        else:
            raise ValidationError(f"must be a whole number, got {value!r}")
        if number < 0:
            raise ValidationError("must not be negative")
        return number


class Flag(fields.Boolean):
    """true/false as a JSON boolean or the strings "true"/"false" (any case); nothing else."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValidationError(f"must be true or false, got {value!r}")


def _id(required: bool = False) -> fields.String:
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=128))
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))


class CallWebhookSchema(Schema):
    """The fields every FreeClimb call webhook carries."""

    class Meta:
        unknown = EXCLUDE  # FreeClimb adds fields over time; they are not errors

    request_type = fields.String(data_key="requestType", required=True)
    call_id = _id(required=True)
    account_id = _id()
    from_ = fields.String(data_key="from", load_default=None, allow_none=True)
    to = fields.String(load_default=None, allow_none=True)
    call_status = fields.String(data_key="callStatus", load_default=None, allow_none=True)
    direction = fields.String(load_default=None, allow_none=True)
    conference_id = _id()
    queue_id = _id()
    parent_call_id = _id()

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        if field_obj.data_key is None:
            field_obj.data_key = camel_case(field_name)

    @pre_load
    def _empty_ids_are_null(self, data: Any, **kwargs: Any) -> Any:
        # a form cannot say null: FreeClimb's "no conference" arrives as an empty value there
        if isinstance(data, dict):
            data = dict(data)
            for key in ("conferenceId", "queueId", "parentCallId", "accountId"):
                if data.get(key) in ("", "null"):
                    data[key] = None
        return data


class InboundCallSchema(CallWebhookSchema):
    pass


class CallStatusSchema(CallWebhookSchema):
    call_ended_reason = fields.String(load_default=None, allow_none=True)
    # a call recorded with StartRecordCall: FreeClimb reports the recording when the call ends
    recording_id = _id()
    recording_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"},
                               require_tld=False)
    recording_size = WholeNumber(load_default=None, allow_none=True)
    recording_format = fields.String(load_default="audio/wav", allow_none=True,
                                     validate=validate.OneOf(WAV_FORMATS))
    recording_duration_sec = WholeNumber(load_default=None, allow_none=True,
                                         validate=validate.Range(max=7 * 24 * 3600))


class RecordSchema(CallWebhookSchema):
    recording_id = _id(required=True)
    recording_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"},
                               require_tld=False)
    recording_size = WholeNumber(load_default=None, allow_none=True)
    recording_format = fields.String(load_default="audio/wav", allow_none=True,
                                     validate=validate.OneOf(WAV_FORMATS))
    recording_duration_sec = WholeNumber(load_default=None, allow_none=True,
                                         validate=validate.Range(max=7 * 24 * 3600))
    term_reason = fields.String(load_default=None, allow_none=True)
    privacy_mode = Flag(load_default=False)


def first_problem(messages: Any, prefix: str = "") -> str:
    """``"recordingSize: must be a whole number, got 'ten'"`` from marshmallow's error dict."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            return first_problem(value, f"{prefix}{key}")
    if isinstance(messages, list) and messages:
        return first_problem(messages[0], prefix)
    return f"{prefix}: {messages}" if prefix else str(messages)


class GetDigitsSchema(CallWebhookSchema):
    digits = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"[0-9*#xX]*", error="must be keys 0-9, * and # (or x when privacyMode hides them)"))
    reason = fields.String(load_default=None, allow_none=True)


class GetSpeechSchema(CallWebhookSchema):
    reason = fields.String(load_default=None, allow_none=True)
    recognition_result = fields.String(load_default=None, allow_none=True)
    confidence = WholeNumber(load_default=None, allow_none=True, validate=validate.Range(0, 100))


class TranscribeSchema(CallWebhookSchema):
    recording_id = _id()
    recording_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"},
                               require_tld=False)
    recording_size = WholeNumber(load_default=None, allow_none=True)
    recording_duration_ms = WholeNumber(load_default=None, allow_none=True)
    term_reason = fields.String(load_default=None, allow_none=True)
    transcript = fields.String(load_default=None, allow_none=True)


#: The schema of each webhook that may resume a flow, by requestType.
FLOW_WEBHOOKS = {"getDigits": GetDigitsSchema(), "getSpeech": GetSpeechSchema(),
                 "transcribe": TranscribeSchema()}


class OutDialStartSchema(CallWebhookSchema):
    dial_call_id = _id()


class OutDialConnectSchema(CallWebhookSchema):
    pass


class CreateConferenceSchema(CallWebhookSchema):
    conference_id = _id(required=True)


class RedirectSchema(CallWebhookSchema):
    pass


#: The webhooks of each leg of a transfer, by requestType.
TRANSFER_WEBHOOKS = {
    "dial": {"outDialStart": OutDialStartSchema(), "redirect": RedirectSchema()},
    "connect": {"outDialConnect": OutDialConnectSchema(), "createConference": CreateConferenceSchema()},
}
