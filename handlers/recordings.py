"""What the recordings API does, without Flask: list, find, soft-delete, locate the audio."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers.freeclimb_api import FreeClimbApi, FreeClimbError
from handlers.mirror import audio_path
from percl.attributes import Invalid, Url
from storage.recordings import FILTERS, RecordingRepository, is_deleted

log = logging.getLogger(__name__)


class BadPageToken(ValueError):
    """A page_token this API did not give for these filters."""


def _fingerprint(query: dict[str, Any]) -> str:
    shown = {k: v for k, v in sorted(query.items()) if k not in ("page_token", "page_size")}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode_token(before: int, query: dict[str, Any]) -> str:
    raw = json.dumps({"b": before, "f": _fingerprint(query)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, query: dict[str, Any]) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        before, fingerprint = data["b"], data["f"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise BadPageToken("is not a page token this API gave") from None
    if isinstance(before, bool) or not isinstance(before, int) or before < 1:
        raise BadPageToken("is not a page token this API gave")
    if fingerprint != _fingerprint(query):
        raise BadPageToken("was given for other filters; start again without it")
    return before


def list_recordings(recordings: RecordingRepository, query: dict[str, Any]) -> dict[str, Any]:
    """A page of entries for a parsed query, with the token of the next page (or None)."""
    before = decode_token(query["page_token"], query) if query.get("page_token") else None
    filters = {name: query[name] for name in FILTERS if query.get(name) is not None}
    entries, last = recordings.page(filters, since=query.get("since"), until=query.get("until"),
                                    deleted=query.get("deleted", False), before=before,
                                    size=query.get("page_size", 50))
    return {"recordings": entries,
            "next_page_token": encode_token(last, query) if last is not None else None}


def delete_recording(recordings: RecordingRepository, entry_id: str, data_dir: str,
                     freeclimb: FreeClimbApi | None, now: str) -> dict[str, Any] | None:
    """Soft-delete an entry: tm_delete set, our audio removed, FreeClimb's copy deleted when
    credentials are configured. Repeating it changes nothing more. None: no such entry."""
    with recordings.atomic() as changes:
        entry = changes.get(entry_id)
        if entry is None:
            return None
        if not is_deleted(entry):
            entry.update(tm_delete=now, tm_update=now)
            if entry.get("mirror_state") == "pending":
                entry.update(mirror_state=None, mirror_error="deleted before the copy was kept")
            changes.save(entry)
    path = audio_path(data_dir, entry['id'])
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    if freeclimb is not None and entry.get("recording_id") and entry.get("freeclimb_deleted") is not True:
        try:
            freeclimb.delete_recording(entry["recording_id"])
        except FreeClimbError as exc:
            log.warning("recording %s: FreeClimb's copy was not deleted: %s", entry_id, exc)
            return entry
        with recordings.atomic() as changes:
            entry = changes.get(entry_id) or entry
            entry.update(freeclimb_deleted=True)
            changes.save(entry)
    return entry


@dataclass(frozen=True)
class AudioSource:
    """Where a recording's audio can be had: our file, FreeClimb's URL, or why neither."""

    path: Path | None = None
    redirect: str | None = None
    unavailable: str | None = None


def locate_audio(entry: dict[str, Any], data_dir: str, freeclimb_api_url: str) -> AudioSource:
    if is_deleted(entry):
        return AudioSource(unavailable="the recording was deleted")
    path = audio_path(data_dir, entry['id'])
    if path.is_file():
        return AudioSource(path=path)
    if entry.get("privacy_mode"):
        return AudioSource(unavailable="a privacy-mode recording: FreeClimb keeps it for two "
                                       "minutes only and our copy is not there")
    url = entry.get("recording_url")
    if not url:
        return AudioSource(unavailable="FreeClimb has not reported the recording's URL yet")
    if url.startswith("/"):  # FreeClimb's API path form
        url = freeclimb_api_url + url
    try:
        Url().check(url)
    except Invalid:
        return AudioSource(unavailable="the URL FreeClimb reported is not one we can send you to")
    return AudioSource(redirect=url)
