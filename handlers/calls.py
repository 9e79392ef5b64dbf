"""Call bookkeeping shared by the webhook handlers and the flow engine. No Flask here.

What a webhook says about its call, the URLs the app hands to FreeClimb, and the Recording
entries: completed by the record callback, set ``stopping`` when the call ends first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers.schemas import CALL_ENDED
from storage.recordings import (
    NIL_UUID,
    TIME_FORMAT,
    RecordingChanges,
    RecordingRepository,
    blank_entry,
    is_deleted,
    timestamp,
)

# Our ids derived from FreeClimb's: the same account or call always gives the same UUID.
NAMESPACE = uuid.UUID("6f1d3c52-7d0e-4a53-9b64-2f0e8a1c5b7d")


class WrongCall(Exception):
    """A webhook naming a call other than the one its URL belongs to."""


def derived_id(kind: str, freeclimb_id: str | None) -> str:
    if not freeclimb_id:
        return NIL_UUID
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{freeclimb_id}"))


def call_recording_id(recording_id: str) -> str:
    """The entry id of a whole-call recording (StartRecordCall), derived from FreeClimb's id."""
    return str(uuid.uuid5(NAMESPACE, f"call-recording:{recording_id}"))


def is_entry_id(value: str) -> bool:
    """Whether ``value`` is a UUID in its canonical text form (the only ids we hand out)."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


@dataclass(frozen=True)
class Call:
    """What every webhook tells about the call (snake_case, from the webhook schemas)."""

    call_id: str
    account_id: str | None = None
    from_: str | None = None
    to: str | None = None
    call_status: str | None = None
    direction: str | None = None
    conference_id: str | None = None
    queue_id: str | None = None
    parent_call_id: str | None = None

    @classmethod
    def from_webhook(cls, payload: dict[str, Any]) -> Call:
        return cls(**{name: payload.get(name) for name in cls.__dataclass_fields__})

    def filled_from(self, entry: dict[str, Any]) -> Call:
        """This call with what the webhook left out taken from a stored entry of the same call."""
        stored = {name: entry.get("from" if name == "from_" else name)
                  for name in self.__dataclass_fields__}
        return Call(**{name: value if value is not None else stored[name]
                       for name, value in vars(self).items()})

    def filled_from_variables(self, variables: dict[str, Any]) -> Call:
        """This call with what the webhook left out taken from an activeflow's call variables."""
        stored = {"from_": variables.get("call.from"), "to": variables.get("call.to"),
                  "account_id": variables.get("call.account_id"),
                  "direction": variables.get("call.direction")}
        return Call(**{name: value if value is not None else stored.get(name)
                       for name, value in vars(self).items()})

    def entry_fields(self) -> dict[str, Any]:
        """The fields of a Recording entry that come from the call."""
        on_conference = bool(self.conference_id)
        return {
            "customer_id": derived_id("account", self.account_id),
            "reference_type": "confbridge" if on_conference else "call",
            "reference_id": (derived_id("conference", self.conference_id) if on_conference
                             else derived_id("call", self.call_id)),
            "call_id": self.call_id,
            "account_id": self.account_id,
            "conference_id": self.conference_id,
            "queue_id": self.queue_id,
            "parent_call_id": self.parent_call_id,
            "from": self.from_,
            "to": self.to,
            "direction": self.direction,
            "call_status": self.call_status,
        }


@dataclass(frozen=True)
class Urls:
    """The absolute URLs the app hands to FreeClimb inside PerCL."""

    base: str

    def record(self, entry_id: str) -> str:
        return f"{self.base}/freeclimb/record/{entry_id}"

    def flow_step(self, activeflow_id: str, seq: int, leg: str | None = None) -> str:
        url = f"{self.base}/freeclimb/flows/{activeflow_id}/{seq}"
        return f"{url}/{leg}" if leg else url


def complete_recording(changes: RecordingChanges, entry_id: str, payload: dict[str, Any],
                       now: str) -> dict[str, Any]:
    """The Recording entry for FreeClimb's ``record`` webhook, completed (inside a change).

    One FreeClimb recordingId maps to exactly one entry however often the webhook is delivered:
    a repeat finds the entry already completed and changes nothing. A callback whose entry is
    unknown (or already holds another recording) still gets an entry of its own.
    """
    entry = changes.by_recording_id(payload["recording_id"])
    if entry is not None:
        if entry.get("call_id") not in (None, payload["call_id"]):
            raise WrongCall(f"callId: recording {payload['recording_id']} belongs to another call")
        return entry
    call = Call.from_webhook(payload)
    entry = changes.get(entry_id)
    if entry is not None and entry.get("call_id") not in (None, call.call_id):
        raise WrongCall(f"callId: recording entry {entry_id} belongs to another call")
    if entry is None or entry.get("recording_id") not in (None, payload["recording_id"]):
        entry = blank_entry(entry_id if entry is None else str(uuid.uuid4()), now)
        entry["tm_start"] = _started(now, payload.get("recording_duration_sec"))
    entry.update(call.filled_from(entry).entry_fields())
    entry.update(
        status="ended",
        tm_end=now,
        tm_update=now,
        recording_id=payload["recording_id"],
        recording_url=payload.get("recording_url"),
        recording_size=payload.get("recording_size"),
        duration_sec=payload.get("recording_duration_sec"),
        term_reason=payload.get("term_reason"),
        privacy_mode=bool(payload.get("privacy_mode")),
        format="wav",
        # the mirror fetches our copy outside this request (a recording deleted while it was
        # being made is not fetched)
        mirror_state=None if is_deleted(entry) else "pending",
        mirror_next_at=None,
    )
    changes.save(entry)
    return entry


def _started(now: str, duration_sec: int | None) -> str:
    """When a recording we did not see start began: its end less its duration."""
    if not duration_sec:
        return now
    end = datetime.strptime(now, TIME_FORMAT).replace(tzinfo=UTC)
    try:
        return timestamp(end - timedelta(seconds=duration_sec))
    except OverflowError:  # a duration no recording has: keep the end as the start
        return now


def call_status(recordings: RecordingRepository, payload: dict[str, Any], now: str) -> None:
    """The call ended: recordings still capturing become ``stopping`` until their callback."""
    if payload.get("call_status") not in CALL_ENDED:
        return
    call_id = payload["call_id"]
    if not any(entry["status"] == "recording" for entry in recordings.for_call(call_id)):
        return  # the common case needs no write
    with recordings.atomic() as changes:
        for entry in changes.for_call(call_id):
            if entry["status"] == "recording":
                entry.update(status="stopping", tm_update=now, call_status=payload["call_status"])
                changes.save(entry)
