"""Call logic: what the app answers to each webhook, and what it stores. No Flask here.

A :class:`CallFlow` chooses the PerCL of each step; this module does the bookkeeping around
it. The built-in flow is a voicemail line; the flow engine plugs in through the same two
methods, so the webhook handlers do not change when flows arrive.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from handlers.config import VoicemailSettings
from handlers.schemas import CALL_ENDED
from percl import Hangup, RecordUtterance, Say, Script
from storage.recordings import TIME_FORMAT, NIL_UUID, RecordingRepository, blank_entry, timestamp

# Our ids derived from FreeClimb's: the same account or call always gives the same UUID.
NAMESPACE = uuid.UUID("6f1d3c52-7d0e-4a53-9b64-2f0e8a1c5b7d")


def derived_id(kind: str, freeclimb_id: str | None) -> str:
    if not freeclimb_id:
        return NIL_UUID
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{freeclimb_id}"))


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


@dataclass
class Steps:
    """What a flow may do while choosing a step: start recordings bound to entries."""

    recordings: RecordingRepository
    urls: Urls
    now: str = field(default_factory=timestamp)

    def record(self, call: Call, key: str, **options: Any) -> RecordUtterance:
        """A RecordUtterance whose callback completes the entry created for it here.

        The entry's id is derived from the call and ``key``, so a repeated webhook reuses the
        entry instead of leaving a second one that never completes.
        """
        entry_id = str(uuid.uuid5(NAMESPACE, f"record:{call.call_id}:{key}"))
        command = RecordUtterance(self.urls.record(entry_id), **options)
        with self.recordings.atomic() as changes:
            if changes.get(entry_id) is None:
                entry = blank_entry(entry_id, self.now)
                entry.update(call.entry_fields(), status="recording", tm_start=self.now)
                changes.save(entry)
        return command


class CallFlow(Protocol):
    """Chooses what the caller hears and does next."""

    def start(self, call: Call, steps: Steps) -> Script:
        """The first step of an inbound call."""

    def after_recording(self, call: Call, entry: dict[str, Any], steps: Steps) -> Script:
        """The step after a recording ended (``entry`` is the completed Recording entry)."""


class VoicemailFlow:
    """Greeting, a recording, a thank-you, hang up."""

    def __init__(self, settings: VoicemailSettings) -> None:
        self.settings = settings
        # build the fixed parts once: a setting FreeClimb would refuse stops the app at start
        self._greeting = Say(settings.greeting, language=settings.language)
        self._goodbye = Script(Say(settings.thanks, language=settings.language), Hangup())

    def start(self, call: Call, steps: Steps) -> Script:
        return Script(self._greeting, steps.record(
            call, "voicemail", max_length_sec=self.settings.max_length_sec,
            finish_on_key=self.settings.finish_on_key, play_beep=self.settings.play_beep))

    def after_recording(self, call: Call, entry: dict[str, Any], steps: Steps) -> Script:
        return self._goodbye


def inbound_call(flow: CallFlow, call: Call, steps: Steps) -> Script:
    return flow.start(call, steps)


def record_callback(flow: CallFlow, steps: Steps, entry_id: str, payload: dict[str, Any]) -> Script:
    """Complete the Recording entry for FreeClimb's ``record`` webhook; the flow's next step.

    One FreeClimb recordingId maps to exactly one entry however often the webhook is delivered:
    a repeat changes nothing and gets the same answer. A callback whose entry is unknown (or
    already holds another recording) still gets an entry of its own.
    """
    call = Call.from_webhook(payload)
    now = steps.now
    with steps.recordings.atomic() as changes:
        entry = changes.by_recording_id(payload["recording_id"])
        if entry is None:
            entry = changes.get(entry_id)
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
            )
            changes.save(entry)
    return flow.after_recording(call, entry, steps)


def _started(now: str, duration_sec: int | None) -> str:
    """When a recording we did not see start began: its end less its duration."""
    if not duration_sec:
        return now
    end = datetime.strptime(now, TIME_FORMAT).replace(tzinfo=UTC)
    return timestamp(end - timedelta(seconds=duration_sec))


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
