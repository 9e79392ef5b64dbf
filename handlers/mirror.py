"""Keeping our own copy of every recording's audio, before FreeClimb deletes it.

The record callback only marks an entry ``pending``; a downloader thread in each worker
process does the fetching, so the webhook answer never waits for it. The state lives on the
entry in the store, not in memory: downloads pending when a worker stops are picked up by
whichever worker looks next. A worker claims an entry (a lease written in the store) before it
downloads, so two workers never fetch the same file at once.

A download goes to a temporary file, is checked (size against recordingSize, a WAV header of
8 kHz, 16-bit, mono), hashed, and only then renamed into place: a failed download never leaves
a half file where the audio belongs. Failures are retried with backoff; privacy-mode
recordings, which FreeClimb keeps for two minutes only, go first.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from handlers.freeclimb_api import FreeClimbApi
from storage.recordings import TIME_FORMAT, RecordingRepository, is_deleted, timestamp

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE_S = 120
#: A download must finish well inside the claim, or another worker could start the same one.
DOWNLOAD_LIMIT_S = LEASE_S - 20
#: How long FreeClimb keeps a privacy-mode recording.
PRIVACY_WINDOW_S = 120


class MirrorFailure(Exception):
    """A download that did not give a good copy; ``final`` when retrying cannot help."""

    def __init__(self, reason: str, *, final: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.final = reason, final


@dataclass(frozen=True)
class Source:
    """Where the audio comes from: FreeClimb's REST API (credentials) or the recordingUrl."""

    api_url: str
    account_id: str | None = None
    api_key: str | None = None
    timeout_s: float = 30.0

    def request_for(self, entry: dict[str, Any]) -> urllib.request.Request:
        if self.account_id and self.api_key and entry.get("recording_id"):
            api = FreeClimbApi(self.api_url, self.account_id, self.api_key)
            return api.download_request(entry["recording_id"])
        url = entry.get("recording_url") or ""
        if url.startswith("/"):
            url = self.api_url + url
        if not url.startswith(("http://", "https://")):
            raise MirrorFailure("the entry has no recording URL to download from", final=True)
        try:
            return urllib.request.Request(url)
        except ValueError:
            raise MirrorFailure("the recording URL is not a URL we can fetch", final=True) from None


class _NoCredentialsElsewhere(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never carry our FreeClimb credentials to another origin."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, D102
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl)[:2] != urlsplit(req.full_url)[:2]:
            new.remove_header("Authorization")
        return new


_opener = urllib.request.build_opener(_NoCredentialsElsewhere)


def audio_path(data_dir: str | Path, entry_id: str) -> Path:
    return Path(data_dir) / "audio" / f"{entry_id}.wav"


def check_wav(path: Path, expected_size: int | None) -> None:
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise MirrorFailure(f"got {size} bytes, FreeClimb reported {expected_size}")
    try:
        with wave.open(str(path), "rb") as audio:
            shape = (audio.getframerate(), audio.getsampwidth() * 8, audio.getnchannels())
    except (wave.Error, EOFError) as exc:
        raise MirrorFailure(f"not a WAV file ({exc})") from None
    if shape != (8000, 16, 1):
        raise MirrorFailure(f"a WAV of {shape[0]} Hz, {shape[1]}-bit, {shape[2]} channel(s); "
                            "FreeClimb records 8000 Hz, 16-bit, mono")


def download(source: Source, entry: dict[str, Any], target: Path) -> tuple[str, int]:
    """Fetch, check and put in place; the sha256 and size of the copy."""
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    digest = hashlib.sha256()
    deadline = time.monotonic() + DOWNLOAD_LIMIT_S
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            request = source.request_for(entry)
            # a read waits at most this long, so the deadline below is checked in time
            timeout = min(source.timeout_s, 10.0)
            with _opener.open(request, timeout=timeout) as response, open(partial, "wb") as out:
                # read1: whatever has arrived, so a trickling server cannot hold one read open
                while chunk := response.read1(64 * 1024):
                    if time.monotonic() > deadline:  # past it, our claim could lapse mid-download
                        raise MirrorFailure(f"the download took over {DOWNLOAD_LIMIT_S} s")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except urllib.error.HTTPError as exc:
            exc.close()
            gone = exc.code in (404, 410)
            raise MirrorFailure(f"HTTP {exc.code} from FreeClimb", final=gone and bool(
                entry.get("privacy_mode"))) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise MirrorFailure(f"download failed: {getattr(exc, 'reason', exc)}") from None
        except (ValueError, http.client.HTTPException) as exc:  # a URL or answer urllib cannot use
            raise MirrorFailure(f"download failed: {type(exc).__name__}", final=True) from None
        check_wav(partial, entry.get("recording_size"))
        size = partial.stat().st_size
        os.replace(partial, target)
        return digest.hexdigest(), size
    finally:
        partial.unlink(missing_ok=True)


def _later(now: str, seconds: float) -> str:
    moment = datetime.strptime(now, TIME_FORMAT).replace(tzinfo=UTC) + timedelta(seconds=seconds)
    return timestamp(moment)


def backoff_s(attempts: int) -> float:
    return min(2 ** attempts, 300)


class Mirror:
    """Claims, downloads and records copies; ``run_once`` does one pass (tests, the CLI)."""

    def __init__(self, recordings: RecordingRepository, data_dir: str | Path, source: Source,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.recordings = recordings
        self.data_dir = Path(data_dir)
        self.source = source
        self.clock = clock
        self.worker = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        self.claim_id = ""

    # --- choosing and claiming -------------------------------------------------------------

    def _due(self, now: str) -> list[dict[str, Any]]:
        pending = self.recordings.pending_mirrors()
        due = [e for e in pending if (e.get("mirror_next_at") or "") <= now
               and not (e.get("mirror_claim") and e["mirror_claim"]["until"] > now)]
        # privacy-mode first: FreeClimb deletes those after two minutes
        return sorted(due, key=lambda e: (not e.get("privacy_mode"), e.get("tm_end") or ""))

    def _claim(self, entry_id: str, now: str) -> dict[str, Any] | None:
        with self.recordings.atomic() as changes:
            entry = changes.get(entry_id)
            if entry is None or entry.get("mirror_state") != "pending" or is_deleted(entry):
                return None
            claim = entry.get("mirror_claim")
            if claim and claim["until"] > now:
                return None  # being fetched (by another worker, or another pass of this one)
            if (entry.get("mirror_next_at") or "") > now:
                return None  # another worker failed meanwhile: wait out its backoff
            self.claim_id = f"{self.worker}-{uuid.uuid4().hex[:8]}"
            entry["mirror_claim"] = {"by": self.claim_id, "until": _later(now, LEASE_S)}
            changes.save(entry)
            return entry

    def _ours(self, entry: dict[str, Any] | None) -> bool:
        claim = (entry or {}).get("mirror_claim")
        return bool(claim) and claim["by"] == self.claim_id

    def _settle(self, entry_id: str, **changes_to: Any) -> None:
        with self.recordings.atomic() as changes:
            entry = changes.get(entry_id)
            if not self._ours(entry):
                return  # our claim lapsed and another worker took over: its word counts
            entry.update(changes_to, mirror_claim=None)
            changes.save(entry)

    # --- one pass ----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Download every entry that is due; the number of copies made."""
        made = 0
        tried: set[str] = set()
        while True:
            now = timestamp(self.clock())
            # chosen afresh each time: a privacy-mode recording that arrives meanwhile goes next
            entry = next((claimed for candidate in self._due(now) if candidate["id"] not in tried
                          for claimed in [self._claim(candidate["id"], now)] if claimed), None)
            if entry is None:
                return made
            tried.add(entry["id"])
            made += self._mirror(entry)

    def _mirror(self, entry: dict[str, Any]) -> int:
        target = audio_path(self.data_dir, entry["id"])
        attempts = (entry.get("mirror_attempts") or 0) + 1
        now = timestamp(self.clock())
        try:
            sha256, size = download(self.source, entry, target)
        except MirrorFailure as exc:
            expired = entry.get("privacy_mode") and _age_s(entry, self.clock()) > PRIVACY_WINDOW_S
            if exc.final or attempts >= MAX_ATTEMPTS or expired:
                reason = exc.reason + (" (FreeClimb's two-minute privacy window has passed)"
                                       if expired else "")
                log.warning("recording %s not mirrored: %s", entry["id"], reason)
                self._settle(entry["id"], mirror_state="failed", mirror_error=reason,
                             mirror_attempts=attempts, mirror_next_at=None)
            else:
                self._settle(entry["id"], mirror_error=exc.reason, mirror_attempts=attempts,
                             mirror_next_at=_later(now, backoff_s(attempts)))
            return 0
        with self.recordings.atomic() as changes:
            current = changes.get(entry["id"])
            if not self._ours(current):
                return 0  # our claim lapsed: another worker fetches it; leave its file alone
            deleted = is_deleted(current)
            if not deleted:
                current.update(mirror_state="mirrored", mirror_error=None, sha256=sha256,
                               local_path=str(target), local_size=size, mirror_attempts=attempts,
                               mirror_next_at=None, mirror_claim=None)
                changes.save(current)
        if deleted:
            # deleted while we were downloading: the copy must not outlive the recording
            target.unlink(missing_ok=True)
            self._settle(entry["id"], mirror_state=None, mirror_error="deleted before the copy was kept")
            return 0
        return 1

    # --- the background thread -------------------------------------------------------------

    def wake(self) -> None:
        """A recording was completed: look now rather than at the next tick."""
        if self._thread is not None and self._thread_pid != os.getpid():
            self.start()  # forked (gunicorn --preload): threads do not survive a fork
        self._wake.set()

    def sweep(self) -> None:
        """Remove partial downloads older than a claim: their process died mid-download."""
        folder = self.data_dir / "audio"
        cutoff = time.time() - LEASE_S
        for partial in folder.glob(".*.part") if folder.is_dir() else ():
            try:
                if partial.stat().st_mtime < cutoff:
                    partial.unlink()
            except FileNotFoundError:
                pass

    def start(self, interval_s: float = 2.0) -> None:
        if self._thread is not None and self._thread.is_alive() and self._thread_pid == os.getpid():
            return
        self._thread_pid = os.getpid()
        self.worker = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._stop.clear()
        self.sweep()
        self._thread = threading.Thread(target=self._loop, args=(interval_s,), daemon=True,
                                        name="recording-mirror")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self, interval_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the thread must outlive one bad pass; the next one retries
                log.exception("the recording mirror pass failed")
            self._wake.wait(interval_s)
            self._wake.clear()


def _age_s(entry: dict[str, Any], now: datetime) -> float:
    ended = entry.get("tm_end")
    try:
        moment = datetime.strptime(ended, TIME_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return 0.0
    return (now - moment).total_seconds()


__all__ = ["Mirror", "MirrorFailure", "Source", "audio_path", "check_wav", "download"]
