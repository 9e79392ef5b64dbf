"""Recording entries: the shape of the Recording resource, and the repository that keeps them.

An entry holds the 15 fields of the Recording resource (``id`` ... ``tm_delete``) and, beside
them, what FreeClimb told us about the recording and its call (``recording_id``, ``call_id``,
``from``, ...). Entries are plain JSON documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from storage.documents import DocumentStore, TableSpec, Transaction

NIL_UUID = "00000000-0000-0000-0000-000000000000"
#: A timestamp that has not happened yet (tm_end while recording, tm_delete while kept).
NOT_YET = "9999-01-01 00:00:00.000000"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

STATUSES = ("initiating", "recording", "stopping", "ended")

#: The Recording resource's fields, in its order.
RESOURCE_FIELDS = (
    "id", "customer_id", "owner_type", "owner_id", "activeflow_id", "reference_type",
    "reference_id", "status", "format", "on_end_flow_id", "tm_start", "tm_end", "tm_create",
    "tm_update", "tm_delete",
)
#: What FreeClimb reports about the recording and its call, kept beside the resource fields.
FREECLIMB_FIELDS = (
    "recording_id", "recording_url", "recording_size", "duration_sec", "term_reason",
    "privacy_mode", "parent_call_id", "call_id", "account_id", "conference_id", "queue_id",
    "from", "to", "direction", "call_status",
)
FIELDS = RESOURCE_FIELDS + FREECLIMB_FIELDS
#: Our copy of the audio: state (None: nothing to fetch yet, pending, mirrored, failed), the
#: download attempts and the lease of the worker fetching it, and the copy's path and hash.
MIRROR_FIELDS = ("mirror_state", "mirror_attempts", "mirror_error", "mirror_next_at",
                 "mirror_claim", "local_path", "local_size", "sha256")

TABLE = TableSpec("recordings", unique=("id", "recording_id"), indexed=(
    "call_id", "status", "reference_type", "reference_id", "owner_type", "owner_id",
    "activeflow_id", "customer_id", "mirror_state"))
#: The fields the REST API filters recordings by (each indexed).
FILTERS = ("status", "reference_type", "reference_id", "call_id", "owner_type", "owner_id",
           "activeflow_id", "customer_id")


def timestamp(moment: datetime | None = None) -> str:
    """UTC as ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def has_happened(value: str | None) -> bool:
    """False for the "not yet" sentinel and for the empty string older data may hold."""
    return bool(value) and value != NOT_YET


def is_deleted(entry: dict[str, Any]) -> bool:
    return has_happened(entry.get("tm_delete"))


def blank_entry(entry_id: str, now: str) -> dict[str, Any]:
    """An entry with every field present: nil owners and flows, nothing ended or deleted."""
    entry: dict[str, Any] = dict.fromkeys(FIELDS + MIRROR_FIELDS)
    entry.update(
        id=entry_id, customer_id=NIL_UUID, owner_type="", owner_id=NIL_UUID,
        activeflow_id=NIL_UUID, reference_type="call", reference_id=NIL_UUID,
        status="initiating", format="wav", on_end_flow_id=NIL_UUID, tm_start=NOT_YET,
        tm_end=NOT_YET, tm_create=now, tm_update=now, tm_delete=NOT_YET, privacy_mode=False,
        mirror_attempts=0,
    )
    return entry


class RecordingChanges:
    """Recording reads and writes inside one atomic change (see ``RecordingRepository.atomic``)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, entry_id: str) -> dict[str, Any] | None:
        found = self._tx.find_one(TABLE.name, "id", entry_id)
        return found[1] if found else None

    def by_recording_id(self, recording_id: str) -> dict[str, Any] | None:
        found = self._tx.find_one(TABLE.name, "recording_id", recording_id)
        return found[1] if found else None

    def for_call(self, call_id: str) -> list[dict[str, Any]]:
        return [doc for _, doc in self._tx.find(TABLE.name, "call_id", call_id)]

    def save(self, entry: dict[str, Any]) -> None:
        """Insert the entry, or replace the stored one with the same ``id``."""
        found = self._tx.find_one(TABLE.name, "id", entry["id"])
        if found is None:
            self._tx.insert(TABLE.name, entry)
        else:
            self._tx.put(TABLE.name, found[0], entry)


class RecordingRepository:
    """Recording entries in a DocumentStore, looked up by our id, FreeClimb's id or the call."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    def get(self, entry_id: str) -> dict[str, Any] | None:
        found = self._store.find_one(TABLE.name, "id", entry_id)
        return found[1] if found else None

    def by_recording_id(self, recording_id: str) -> dict[str, Any] | None:
        found = self._store.find_one(TABLE.name, "recording_id", recording_id)
        return found[1] if found else None

    def for_call(self, call_id: str) -> list[dict[str, Any]]:
        return [doc for _, doc in self._store.find(TABLE.name, "call_id", call_id)]

    def all(self) -> list[dict[str, Any]]:
        """Every entry, oldest first."""
        return [doc for _, doc in sorted(self._store.all(TABLE.name), key=lambda pair: pair[0])]

    def count(self) -> int:
        return self._store.count(TABLE.name)

    def pending_mirrors(self) -> list[dict[str, Any]]:
        """Entries whose audio we still have to fetch."""
        return [doc for _, doc in self._store.find(TABLE.name, "mirror_state", "pending")]

    def page(self, filters: dict[str, Any], *, since: str | None = None, until: str | None = None,
             deleted: bool = False, before: int | None = None,
             size: int = 50) -> tuple[list[dict[str, Any]], int | None]:
        """A page of entries, newest first, and the position to continue from (None: the end).

        ``filters`` are equality tests on FILTERS fields; ``since``/``until`` bound tm_create
        (inclusive); deleted entries are left out unless ``deleted``.
        """
        def accept(entry: dict[str, Any]) -> bool:
            created = entry.get("tm_create") or ""
            return ((deleted or not is_deleted(entry))
                    and (since is None or created >= since) and (until is None or created <= until))

        found = self._store.newest(TABLE.name, filters, before=before, accept=accept, limit=size + 1)
        more = len(found) > size
        page = found[:size]
        return [doc for _, doc in page], (page[-1][0] if more else None)

    @contextmanager
    def atomic(self) -> Iterator[RecordingChanges]:
        """Decide and write as one step no other worker can interleave with."""
        with self._store.transaction() as tx:
            yield RecordingChanges(tx)
