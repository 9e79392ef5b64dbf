"""Audio safekeeping: our own copy of every recording, fetched from a fake FreeClimb on 127.0.0.1.

The fake FreeClimb REST API serves real WAVs at ``/Accounts/{acc}/Recordings/{rid}/Download``
(HTTP Basic auth checked) and at a public ``/files/{rid}.wav`` (a recordingUrl), and can be told
to fail, reset the connection, answer slowly, serve a wrong body, or expire a privacy-mode file.
It counts every try and every complete download per recording.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import re
import socket
import struct
import threading
import time
import wave
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from handlers.mirror import MAX_ATTEMPTS, Mirror, audio_path, backoff_s
from handlers.simulate import Simulator
from percl.interpreter import CallParams, Step, wav_bytes
from storage import open_store
from storage.recordings import timestamp
from tests.freeclimb import (
    ACCOUNT_ID,
    SECRET,
    call_status,
    freeclimb_id,
    inbound_call,
    path_of,
    post,
    record,
)

API_KEY = "fc-api-key-0123456789abcdef"
API_TOKEN = "recordings-api-token-0123456789"
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
BASIC = "Basic " + base64.b64encode(f"{ACCOUNT_ID}:{API_KEY}".encode()).decode()

_DOWNLOAD = re.compile(r"^/Accounts/([^/]+)/Recordings/([^/]+)/Download$")
_PUBLIC = re.compile(r"^/files/([^/]+)\.wav$")
_RECORDING = re.compile(r"^/Accounts/([^/]+)/Recordings/([^/]+)$")


# --- a fake FreeClimb REST API on 127.0.0.1 ---------------------------------------------------


@dataclass
class Plan:
    """How the fake answers for one recording."""

    body: bytes
    fail_first: int = 0  # HTTP 500 for the first N tries
    reset_first: int = 0  # then a connection reset for the next N tries
    delay_s: float = 0.0  # sleep before a good answer
    served: bytes | None = None  # a wrong body served in place of ``body``
    expires_after_s: float | None = None  # 404 this long after registration (privacy mode)
    registered: float = field(default_factory=time.monotonic)


@dataclass
class Hit:
    method: str
    path: str
    recording_id: str | None
    headers: dict[str, str]
    at: float


class FakeFreeClimb:
    """FreeClimb's recording downloads, served by a ThreadingHTTPServer on 127.0.0.1:0."""

    def __init__(self) -> None:
        self.plans: dict[str, Plan] = {}
        self.tries: Counter[str] = Counter()
        self.downloads: Counter[str] = Counter()  # complete 200 answers
        self.downloaded_at: dict[str, float] = {}
        self.hits: list[Hit] = []
        self.deleted: list[str] = []
        self.unauthorized = 0
        self.overlaps: list[str] = []  # recordings fetched by two clients at once
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                fake._get(self)

            def do_DELETE(self) -> None:  # noqa: N802
                fake._delete(self)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away mid-answer is no failure of the fake

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def download_url(self, recording_id: str) -> str:
        return f"{self.url}/Accounts/{ACCOUNT_ID}/Recordings/{recording_id}/Download"

    def public_url(self, recording_id: str) -> str:
        return f"{self.url}/files/{recording_id}.wav"

    def add(self, recording_id: str, body: bytes, **plan: Any) -> bytes:
        with self._lock:
            self.plans[recording_id] = Plan(body=body, **plan)
        return body

    def hits_for(self, recording_id: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.recording_id == recording_id]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # --- answering ---------------------------------------------------------------------------

    def _note(self, handler: http.server.BaseHTTPRequestHandler, recording_id: str | None) -> None:
        with self._lock:
            self.hits.append(Hit(handler.command, handler.path, recording_id,
                                 dict(handler.headers.items()), time.monotonic()))

    def _authorized(self, handler: http.server.BaseHTTPRequestHandler, account: str) -> bool:
        if handler.headers.get("Authorization") == BASIC and account == ACCOUNT_ID:
            return True
        with self._lock:
            self.unauthorized += 1
        _answer(handler, 401, b'{"message":"bad credentials"}', "application/json",
                extra={"WWW-Authenticate": 'Basic realm="FreeClimb"'})
        return False

    def _get(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        match = _DOWNLOAD.match(handler.path)
        public = _PUBLIC.match(handler.path)
        recording_id = match.group(2) if match else public.group(1) if public else None
        self._note(handler, recording_id)
        if match and not self._authorized(handler, match.group(1)):
            return
        with self._lock:
            plan = self.plans.get(recording_id or "")
            if plan is None:
                _answer(handler, 404, b'{"message":"no such recording"}', "application/json")
                return
            self.tries[recording_id] += 1
            attempt = self.tries[recording_id]
            self._in_flight[recording_id] += 1
            if self._in_flight[recording_id] > 1:
                self.overlaps.append(recording_id)
        try:
            self._serve(handler, recording_id, plan, attempt)
        finally:
            with self._lock:
                self._in_flight[recording_id] -= 1

    def _serve(self, handler: http.server.BaseHTTPRequestHandler, recording_id: str, plan: Plan,
               attempt: int) -> None:
        if plan.expires_after_s is not None and time.monotonic() - plan.registered > plan.expires_after_s:
            _answer(handler, 404, b'{"message":"the recording has expired"}', "application/json")
            return
        if attempt <= plan.fail_first:
            _answer(handler, 500, b'{"message":"internal error"}', "application/json")
            return
        if attempt <= plan.fail_first + plan.reset_first:
            # close with SO_LINGER 0: the client sees a reset, not an answer
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.close_connection = True
            return
        if plan.delay_s:
            time.sleep(plan.delay_s)
        _answer(handler, 200, plan.served if plan.served is not None else plan.body, "audio/wav")
        with self._lock:
            self.downloads[recording_id] += 1
            self.downloaded_at[recording_id] = time.monotonic()

    def _delete(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        match = _RECORDING.match(handler.path)
        self._note(handler, match.group(2) if match else None)
        if match is None:
            _answer(handler, 404, b'{"message":"not found"}', "application/json")
            return
        if not self._authorized(handler, match.group(1)):
            return
        with self._lock:
            self.deleted.append(match.group(2))
        handler.send_response(204)
        handler.send_header("Content-Length", "0")
        handler.end_headers()


def _answer(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes, content_type: str,
            extra: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (extra or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def wav_of(rate: int, channels: int, seconds: float = 1.0) -> bytes:
    """A 16-bit WAV of another shape than FreeClimb records."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x10\x00" * int(rate * seconds) * channels)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from each test's config only: nothing inherited from the shell."""
    for name in ("FREECLIMB_ACCOUNT_ID", "FREECLIMB_API_KEY", "FREECLIMB_API_URL", "API_TOKEN",
                 "RETENTION_DAYS", "DATA_DIR", "PUBLIC_BASE_URL", "FLOWS_PATH"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def freeclimb() -> Iterator[FakeFreeClimb]:
    fake = FakeFreeClimb()
    yield fake
    fake.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_app(freeclimb: FakeFreeClimb, data_dir: Path) -> Iterator[Callable[..., Flask]]:
    """Apps pointed at the fake FreeClimb; their mirrors are stopped before the fake shuts down."""
    apps: list[Flask] = []

    def make(*, credentials: bool = True, **extra: Any) -> Flask:
        config: dict[str, Any] = {
            "TESTING": True, "DATA_DIR": str(data_dir), "FREECLIMB_SIGNING_SECRET": SECRET,
            "PUBLIC_BASE_URL": "https://voice.example.com", "FREECLIMB_API_URL": freeclimb.url,
            "API_TOKEN": API_TOKEN}
        if credentials:
            config.update(FREECLIMB_ACCOUNT_ID=ACCOUNT_ID, FREECLIMB_API_KEY=API_KEY)
        config.update(extra)
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["mirror"].stop()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The app with FreeClimb credentials and MIRROR_AUDIO off: tests drive the mirror."""
    return make_app()


def record_call(client: Any, fake: FakeFreeClimb, *, body: bytes | None = None, privacy: bool = False,
                public: bool = False, **plan: Any) -> str:
    """A voicemail call whose recording the fake serves; the entry id of the recording."""
    call_id, recording_id = freeclimb_id("CA"), freeclimb_id("RE")
    answer = post(client, "/freeclimb/voice", inbound_call(call_id))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    action = path_of(answer.get_json()[1]["RecordUtterance"]["actionUrl"])
    content = fake.add(recording_id, body if body is not None else wav_bytes(1), **plan)
    url = fake.public_url(recording_id) if public else fake.download_url(recording_id)
    response = post(client, action, record(call_id, recording_id, recordingUrl=url,
                                           recordingSize=str(len(content)), privacyMode=privacy))
    assert response.status_code == 200, response.get_data(as_text=True)
    return action.rsplit("/", 1)[1]


def part_files(folder: Path) -> list[Path]:
    """Temporary download files (hidden or not) left in a folder."""
    return sorted(p for p in folder.iterdir() if p.name.endswith(".part")) if folder.is_dir() else []


def audio_parts(data_dir: Path) -> list[Path]:
    return part_files(data_dir / "audio")


def assert_mirrored(entry: dict[str, Any], data_dir: Path, fake: FakeFreeClimb) -> None:
    """The entry is mirrored and its file is FreeClimb's audio, as reported and hashed."""
    expected = fake.plans[entry["recording_id"]].body
    path = audio_path(data_dir, entry["id"])
    assert entry["mirror_state"] == "mirrored", entry
    assert entry["mirror_error"] is None
    assert entry["local_path"] == str(path)
    content = path.read_bytes()
    assert content == expected
    assert len(content) == entry["recording_size"] == entry["local_size"]
    assert sha256(content) == entry["sha256"]


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# --- many calls, several workers ----------------------------------------------------------------


def test_hundreds_of_recordings_end_mirrored_once_with_several_workers(make_app, freeclimb, data_dir):
    """200 recordings fetched by four concurrent mirrors through 500s, resets and slow answers all end mirrored and verified, each downloaded exactly once."""
    app = make_app()
    client = app.test_client()
    expected_tries: dict[str, int] = {}
    ids = []
    for n in range(200):
        plan: dict[str, Any] = {}
        if n % 5 == 0:
            plan["fail_first"] = 1
        if n % 7 == 0:
            plan["reset_first"] = 1
        if n % 9 == 0:
            plan["delay_s"] = 0.05
        entry_id = record_call(client, freeclimb, body=wav_bytes(0.25 + (n % 4) * 0.25), **plan)
        ids.append(entry_id)
        rid = app.extensions["store"].recordings.get(entry_id)["recording_id"]
        expected_tries[rid] = 1 + plan.get("fail_first", 0) + plan.get("reset_first", 0)

    recordings = app.extensions["store"].recordings
    assert len(recordings.pending_mirrors()) == 200
    clock = Clock()
    stores = [open_store(data_dir) for _ in range(3)]
    source = app.extensions["mirror"].source
    mirrors = [app.extensions["mirror"], *(Mirror(store.recordings, data_dir, source) for store in stores)]
    for mirror in mirrors:
        mirror.clock = clock
    made: list[int] = []
    errors: list[BaseException] = []

    def work(mirror: Mirror) -> None:
        try:
            made.append(mirror.run_once())
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    try:
        for _ in range(6):
            threads = [threading.Thread(target=work, args=(mirror,)) for mirror in mirrors]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert not errors, errors
            if not recordings.pending_mirrors():
                break
            clock.advance(backoff_s(MAX_ATTEMPTS))
    finally:
        for store in stores:
            store.documents.close()

    assert recordings.pending_mirrors() == []
    assert sum(made) == 200
    for entry_id in ids:
        assert_mirrored(recordings.get(entry_id), data_dir, freeclimb)
    assert freeclimb.downloads == Counter({rid: 1 for rid in expected_tries})
    assert dict(freeclimb.tries) == expected_tries  # no recording was tried once more than needed
    assert freeclimb.overlaps == []
    assert freeclimb.unauthorized == 0
    assert audio_parts(data_dir) == []
    assert len(list((data_dir / "audio").iterdir())) == 200


# --- privacy mode ---------------------------------------------------------------------------------


def test_privacy_mode_recordings_are_fetched_first_within_their_window(app, freeclimb, data_dir):
    """A privacy-mode recording completed after five slow ordinary ones is fetched first, before its 1.5 s window closes."""
    client = app.test_client()
    older = [record_call(client, freeclimb, delay_s=0.3) for _ in range(5)]
    private = record_call(client, freeclimb, privacy=True, expires_after_s=1.5)
    recordings = app.extensions["store"].recordings
    private_rid = recordings.get(private)["recording_id"]

    assert app.extensions["mirror"].run_once() == 6

    downloads = [hit.recording_id for hit in freeclimb.hits if hit.method == "GET"]
    assert downloads[0] == private_rid
    # served at all means inside the window: the fake answers 404 once it has passed
    assert recordings.get(private)["privacy_mode"] is True
    for entry_id in [private, *older]:
        assert_mirrored(recordings.get(entry_id), data_dir, freeclimb)


def test_privacy_mode_recording_expired_at_freeclimb_fails_once_with_a_reason(app, freeclimb, data_dir):
    """A privacy-mode file gone (404) before it is fetched ends failed after one try, and its audio route answers 404 with a reason."""
    client = app.test_client()
    entry_id = record_call(client, freeclimb, privacy=True, expires_after_s=0.2)
    time.sleep(0.3)
    mirror = app.extensions["mirror"]
    recordings = app.extensions["store"].recordings
    rid = recordings.get(entry_id)["recording_id"]

    assert mirror.run_once() == 0
    entry = recordings.get(entry_id)
    assert entry["mirror_state"] == "failed"
    assert "404" in entry["mirror_error"]
    assert entry["mirror_attempts"] == 1
    assert entry["mirror_next_at"] is None
    mirror.clock = lambda: datetime.now(UTC) + timedelta(hours=1)
    assert mirror.run_once() == 0
    assert freeclimb.tries[rid] == 1  # not retried, however long we wait
    assert recordings.pending_mirrors() == []
    assert not audio_path(data_dir, entry_id).exists()

    response = client.get(f"/recordingfiles/{entry_id}", headers=BEARER)
    assert response.status_code == 404
    assert "privacy-mode" in response.get_json()["message"]


def test_privacy_mode_recording_still_failing_after_two_minutes_fails_for_good(app, freeclimb, data_dir):
    """A privacy-mode recording whose download keeps failing is given up once FreeClimb's two-minute window has passed."""
    client = app.test_client()
    entry_id = record_call(client, freeclimb, privacy=True, fail_first=100)
    mirror = app.extensions["mirror"]
    recordings = app.extensions["store"].recordings
    clock = Clock()
    mirror.clock = clock

    assert mirror.run_once() == 0
    assert recordings.get(entry_id)["mirror_state"] == "pending"
    clock.advance(121)
    assert mirror.run_once() == 0
    entry = recordings.get(entry_id)
    assert entry["mirror_state"] == "failed"
    assert "HTTP 500" in entry["mirror_error"] and "privacy window" in entry["mirror_error"]
    assert entry["mirror_attempts"] == 2
    assert not audio_path(data_dir, entry_id).exists()
    assert audio_parts(data_dir) == []


# --- failures ---------------------------------------------------------------------------------------


def test_http_500_is_retried_after_backoff_and_then_mirrored(app, freeclimb, data_dir):
    """Two HTTP 500s are retried only once mirror_next_at has come, counted in mirror_attempts, and the third try mirrors the audio."""
    client = app.test_client()
    entry_id = record_call(client, freeclimb, fail_first=2)
    mirror = app.extensions["mirror"]
    recordings = app.extensions["store"].recordings
    rid = recordings.get(entry_id)["recording_id"]
    clock = Clock()
    start = clock.now
    mirror.clock = clock

    assert mirror.run_once() == 0
    entry = recordings.get(entry_id)
    assert (entry["mirror_state"], entry["mirror_attempts"]) == ("pending", 1)
    assert entry["mirror_error"] == "HTTP 500 from FreeClimb"
    assert entry["mirror_next_at"] == timestamp(start + timedelta(seconds=backoff_s(1)))
    assert entry["mirror_claim"] is None
    assert not audio_path(data_dir, entry_id).exists()

    clock.advance(backoff_s(1) - 0.1)
    assert mirror.run_once() == 0
    assert freeclimb.tries[rid] == 1  # not before mirror_next_at

    clock.advance(0.1)
    assert mirror.run_once() == 0
    entry = recordings.get(entry_id)
    assert (entry["mirror_state"], entry["mirror_attempts"]) == ("pending", 2)
    assert entry["mirror_next_at"] == timestamp(clock.now + timedelta(seconds=backoff_s(2)))
    assert freeclimb.tries[rid] == 2

    clock.advance(backoff_s(2) - 1)
    assert mirror.run_once() == 0
    assert freeclimb.tries[rid] == 2
    clock.advance(1)
    assert mirror.run_once() == 1
    entry = recordings.get(entry_id)
    assert entry["mirror_attempts"] == 3
    assert entry["mirror_next_at"] is None
    assert_mirrored(entry, data_dir, freeclimb)
    assert freeclimb.tries[rid] == 3 and freeclimb.downloads[rid] == 1
    assert audio_parts(data_dir) == []


def test_connection_reset_is_retried(app, freeclimb, data_dir):
    """A connection reset counts as a failed attempt with a reason, and the retry mirrors the audio."""
    client = app.test_client()
    entry_id = record_call(client, freeclimb, reset_first=1)
    mirror = app.extensions["mirror"]
    recordings = app.extensions["store"].recordings
    clock = Clock()
    mirror.clock = clock

    assert mirror.run_once() == 0
    entry = recordings.get(entry_id)
    assert entry["mirror_state"] == "pending" and entry["mirror_attempts"] == 1
    assert entry["mirror_error"].startswith("download failed")
    clock.advance(backoff_s(1))
    assert mirror.run_once() == 1
    assert_mirrored(recordings.get(entry_id), data_dir, freeclimb)


WRONG_BODIES = {
    "size mismatch": (lambda: {"body": wav_bytes(1), "served": wav_bytes(1)[:8000]},
                      "got 8000 bytes, FreeClimb reported"),
    "not a WAV": (lambda: {"body": b"ID3\x04" + bytes(16040)}, "not a WAV file"),
    "16 kHz WAV": (lambda: {"body": wav_of(16000, 1)}, "16000 Hz"),
    "stereo WAV": (lambda: {"body": wav_of(8000, 2)}, "2 channel(s)"),
    "HTTP 500 every time": (lambda: {"fail_first": 100}, "HTTP 500 from FreeClimb"),
}


@pytest.mark.parametrize("kind", WRONG_BODIES)
def test_bad_downloads_leave_no_file_and_fail_after_max_attempts(app, freeclimb, data_dir, kind):
    """A download that keeps giving a wrong body or an error never leaves a file or a .part, and fails with the reason after MAX_ATTEMPTS."""
    make_plan, reason = WRONG_BODIES[kind]
    client = app.test_client()
    entry_id = record_call(client, freeclimb, **make_plan())
    mirror = app.extensions["mirror"]
    recordings = app.extensions["store"].recordings
    rid = recordings.get(entry_id)["recording_id"]
    clock = Clock()
    mirror.clock = clock
    target = audio_path(data_dir, entry_id)

    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert mirror.run_once() == 0
        entry = recordings.get(entry_id)
        assert entry["mirror_attempts"] == attempt
        assert reason in entry["mirror_error"]
        assert not target.exists()
        assert audio_parts(data_dir) == []
        if attempt < MAX_ATTEMPTS:
            assert entry["mirror_state"] == "pending"
            clock.advance(backoff_s(attempt))

    assert entry["mirror_state"] == "failed"
    assert entry["mirror_next_at"] is None
    assert entry["sha256"] is None and entry["local_path"] is None
    clock.advance(3600)
    assert mirror.run_once() == 0
    assert freeclimb.tries[rid] == MAX_ATTEMPTS
    assert recordings.pending_mirrors() == []


# --- restart and the background thread ----------------------------------------------------------


def test_downloads_pending_at_a_restart_are_fetched_by_the_new_apps_thread(make_app, freeclimb, data_dir,
                                                                          monkeypatch):
    """Entries left pending by an app that did not fetch them are all mirrored by the background thread of a new app on the same DATA_DIR."""
    first = make_app()
    client = first.test_client()
    ids = [record_call(client, freeclimb, **({"fail_first": 1} if n == 3 else {})) for n in range(20)]
    assert len(first.extensions["store"].recordings.pending_mirrors()) == 20
    assert sum(freeclimb.tries.values()) == 0  # MIRROR_AUDIO off: nothing fetched

    monkeypatch.setenv("MIRROR_AUDIO", "on")
    second = make_app()
    recordings = second.extensions["store"].recordings
    wait_for(lambda: all(recordings.get(i)["mirror_state"] == "mirrored" for i in ids), 15,
             "the restarted app to mirror every pending recording")
    second.extensions["mirror"].stop()

    for entry_id in ids:
        assert_mirrored(recordings.get(entry_id), data_dir, freeclimb)
    assert set(freeclimb.downloads.values()) == {1} and len(freeclimb.downloads) == 20
    assert audio_parts(data_dir) == []


def test_record_webhook_answers_without_waiting_for_the_download(make_app, freeclimb, data_dir,
                                                                monkeypatch):
    """With FreeClimb slow to serve the audio, the record callback is answered before the download completes, and the background thread mirrors it afterwards."""
    monkeypatch.setenv("MIRROR_AUDIO", "on")
    app = make_app()
    client = app.test_client()
    recordings = app.extensions["store"].recordings
    call_id, recording_id = freeclimb_id("CA"), freeclimb_id("RE")
    answer = post(client, "/freeclimb/voice", inbound_call(call_id))
    action = path_of(answer.get_json()[1]["RecordUtterance"]["actionUrl"])
    entry_id = action.rsplit("/", 1)[1]
    body = freeclimb.add(recording_id, wav_bytes(1), delay_s=2.0)

    response = post(client, action, record(call_id, recording_id, recordingSize=str(len(body)),
                                           recordingUrl=freeclimb.download_url(recording_id)))
    assert response.status_code == 200
    # answered while the download was still under way: nothing served yet, still pending
    assert freeclimb.downloads[recording_id] == 0
    assert recordings.get(entry_id)["mirror_state"] == "pending"

    wait_for(lambda: recordings.get(entry_id)["mirror_state"] == "mirrored", 10,
             "the background thread to mirror the slow recording")
    assert_mirrored(recordings.get(entry_id), data_dir, freeclimb)
    assert freeclimb.downloads[recording_id] == 1


def test_a_whole_call_recording_reported_in_call_status_is_mirrored(make_app, freeclimb, data_dir,
                                                                    monkeypatch):
    """A StartRecordCall recording reported with callStatus answers at once and is mirrored by the woken background thread."""
    monkeypatch.setenv("MIRROR_AUDIO", "on")
    app = make_app()
    client = app.test_client()
    call_id, recording_id = freeclimb_id("CA"), freeclimb_id("RE")
    body = freeclimb.add(recording_id, wav_bytes(2), delay_s=1.5)

    response = post(client, "/freeclimb/status", call_status(
        call_id, recordingId=recording_id, recordingUrl=freeclimb.download_url(recording_id),
        recordingSize=str(len(body)), recordingDurationSec=2, recordingFormat="audio/wav"))
    assert response.status_code == 204
    assert freeclimb.downloads[recording_id] == 0  # answered before the slow download finished
    recordings = app.extensions["store"].recordings
    assert recordings.by_recording_id(recording_id)["mirror_state"] == "pending"

    wait_for(lambda: recordings.by_recording_id(recording_id)["mirror_state"] == "mirrored", 10,
             "the background thread to mirror the whole-call recording")
    assert_mirrored(recordings.by_recording_id(recording_id), data_dir, freeclimb)
    assert freeclimb.downloads[recording_id] == 1


# --- without credentials: the recordingUrl ------------------------------------------------------


def test_without_credentials_the_recording_url_is_fetched_without_authorization(make_app, freeclimb, data_dir):
    """With no FreeClimb credentials the mirror downloads the recordingUrl and sends no Authorization header there."""
    app = make_app(credentials=False)
    client = app.test_client()
    ids = [record_call(client, freeclimb, public=True) for _ in range(3)]

    assert app.extensions["mirror"].run_once() == 3
    recordings = app.extensions["store"].recordings
    for entry_id in ids:
        entry = recordings.get(entry_id)
        assert_mirrored(entry, data_dir, freeclimb)
        hits = freeclimb.hits_for(entry["recording_id"])
        assert [hit.path for hit in hits] == [f"/files/{entry['recording_id']}.wav"]
        assert all("authorization" not in {name.lower() for name in hit.headers} for hit in hits)
    assert freeclimb.unauthorized == 0


def test_without_credentials_recordings_from_the_simulator_are_mirrored(make_app, data_dir):
    """Recordings of simulated calls are mirrored from the simulator's loopback recordingUrl, byte for byte."""
    app = make_app(credentials=False)
    with Simulator(app=app) as simulator:
        for seconds in (1, 2, 3):
            result = simulator.call([Step("record", seconds=seconds)], call=CallParams())
            assert result.ok, result.transcript()
        assert app.extensions["mirror"].run_once() == 3
        served = dict(simulator.recordings.files)
    recordings = app.extensions["store"].recordings
    entries = recordings.all()
    assert len(entries) == 3
    for entry in entries:
        content = audio_path(data_dir, entry["id"]).read_bytes()
        assert entry["mirror_state"] == "mirrored"
        assert content == served[entry["recording_id"]]
        assert sha256(content) == entry["sha256"]
        assert len(content) == entry["recording_size"]


# --- deleted entries ------------------------------------------------------------------------------


def test_an_entry_deleted_through_the_api_is_not_fetched_and_its_file_is_removed(app, freeclimb, data_dir):
    """DELETE /recordings/{id} keeps a pending entry from being fetched and removes a mirrored entry's file."""
    client = app.test_client()
    mirrored = record_call(client, freeclimb)
    assert app.extensions["mirror"].run_once() == 1
    assert audio_path(data_dir, mirrored).is_file()
    pending = record_call(client, freeclimb)
    recordings = app.extensions["store"].recordings

    for entry_id in (mirrored, pending):
        response = client.delete(f"/recordings/{entry_id}", headers=BEARER)
        assert response.status_code == 200, response.get_data(as_text=True)
    assert app.extensions["mirror"].run_once() == 0

    pending_rid = recordings.get(pending)["recording_id"]
    assert freeclimb.tries[pending_rid] == 0
    assert not audio_path(data_dir, mirrored).exists()
    assert not audio_path(data_dir, pending).exists()
    assert sorted(freeclimb.deleted) == sorted(recordings.get(i)["recording_id"] for i in (mirrored, pending))
    for entry_id in (mirrored, pending):
        assert client.get(f"/recordingfiles/{entry_id}", headers=BEARER).status_code == 404


def test_an_entry_deleted_from_the_cli_is_not_fetched_and_its_file_is_removed(app, freeclimb, data_dir):
    """`flask recordings delete` keeps a pending entry from being fetched and removes a mirrored entry's file."""
    client = app.test_client()
    mirrored = record_call(client, freeclimb)
    assert app.extensions["mirror"].run_once() == 1
    pending = record_call(client, freeclimb)
    recordings = app.extensions["store"].recordings
    runner = app.test_cli_runner()

    for entry_id in (mirrored, pending):
        result = runner.invoke(args=["recordings", "delete", entry_id])
        assert result.exit_code == 0, result.output
        assert f"deleted {entry_id} at " in result.output
        assert "FreeClimb's copy deleted" in result.output
        assert recordings.get(entry_id)["tm_delete"] == result.output.split(" at ", 1)[1].split(";")[0]
    assert app.extensions["mirror"].run_once() == 0

    assert freeclimb.tries[recordings.get(pending)["recording_id"]] == 0
    assert not audio_path(data_dir, mirrored).exists()
    assert not audio_path(data_dir, pending).exists()


# --- the CLI ------------------------------------------------------------------------------------


def cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["recordings", *args])


def test_cli_show_prints_the_entry_as_json(app, freeclimb):
    """`flask recordings show ID` prints every field of the entry as JSON."""
    entry_id = record_call(app.test_client(), freeclimb)
    app.extensions["mirror"].run_once()
    result = cli(app, "show", entry_id)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown == app.extensions["store"].recordings.get(entry_id)
    assert shown["mirror_state"] == "mirrored" and shown["sha256"]


def test_cli_download_copies_our_file(app, freeclimb, data_dir, tmp_path):
    """`flask recordings download ID PATH` copies our mirrored file without asking FreeClimb again."""
    entry_id = record_call(app.test_client(), freeclimb)
    app.extensions["mirror"].run_once()
    rid = app.extensions["store"].recordings.get(entry_id)["recording_id"]
    target = tmp_path / "out.wav"

    result = cli(app, "download", entry_id, str(target))
    assert result.exit_code == 0, result.output
    assert "from our copy" in result.output
    assert target.read_bytes() == audio_path(data_dir, entry_id).read_bytes() == freeclimb.plans[rid].body
    assert freeclimb.tries[rid] == 1


def test_cli_download_fetches_from_freeclimb_when_we_hold_no_copy(app, freeclimb, data_dir, tmp_path):
    """`flask recordings download ID PATH` fetches the audio from FreeClimb when we have not mirrored it."""
    entry_id = record_call(app.test_client(), freeclimb)
    rid = app.extensions["store"].recordings.get(entry_id)["recording_id"]
    target = tmp_path / "out.wav"

    result = cli(app, "download", entry_id, str(target))
    assert result.exit_code == 0, result.output
    body = freeclimb.plans[rid].body
    assert f"({len(body)} bytes from FreeClimb, sha256 {sha256(body)})" in result.output
    assert target.read_bytes() == body
    assert freeclimb.downloads[rid] == 1
    assert not audio_path(data_dir, entry_id).exists()


@pytest.mark.parametrize(("plan", "reason"), [({"fail_first": 100}, "HTTP 500 from FreeClimb"),
                                             ({"reset_first": 100}, "download failed: ")],
                         ids=["HTTP 500", "connection reset"])
def test_cli_download_says_why_when_freeclimb_fails(app, freeclimb, tmp_path, plan, reason):
    """`flask recordings download` exits 1 naming FreeClimb's failure, and leaves no file at PATH."""
    entry_id = record_call(app.test_client(), freeclimb, **plan)
    target = tmp_path / "out.wav"

    result = cli(app, "download", entry_id, str(target))
    assert result.exit_code == 1
    assert f"Error: recording {entry_id}: {reason}" in result.output
    assert not target.exists()
    assert part_files(tmp_path) == []


def test_cli_unknown_ids_give_a_clear_error(app, tmp_path):
    """show, download and delete of an unknown id exit 1 saying there is no such recording."""
    unknown = "0b6f0c7e-4c7a-4f4e-9a0e-3c1f3a5b2d11"
    for args in (["show", unknown], ["download", unknown, str(tmp_path / "x.wav")], ["delete", unknown]):
        result = cli(app, *args)
        assert result.exit_code == 1, (args, result.output)
        assert f"Error: no recording {unknown}" in result.output
    assert not (tmp_path / "x.wav").exists()


def age(app: Flask, entry_id: str, days: float) -> None:
    """Pretend the entry was created ``days`` ago."""
    recordings = app.extensions["store"].recordings
    with recordings.atomic() as changes:
        entry = changes.get(entry_id)
        entry["tm_create"] = timestamp(datetime.now(UTC) - timedelta(days=days))
        changes.save(entry)


def test_cli_purge_soft_deletes_older_entries_and_removes_their_audio(app, freeclimb, data_dir):
    """`flask recordings purge --days 5` soft-deletes the entries created more than 5 days ago and removes their audio."""
    client = app.test_client()
    old = [record_call(client, freeclimb) for _ in range(2)]
    new = record_call(client, freeclimb)
    assert app.extensions["mirror"].run_once() == 3
    for entry_id in old:
        age(app, entry_id, 10)
    recordings = app.extensions["store"].recordings

    result = cli(app, "purge", "--days", "5")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("purged 2 recordings created before ")
    for entry_id in old:
        assert recordings.get(entry_id)["tm_delete"] != "9999-01-01 00:00:00.000000"
        assert not audio_path(data_dir, entry_id).exists()
    assert recordings.get(new)["tm_delete"] == "9999-01-01 00:00:00.000000"
    assert audio_path(data_dir, new).is_file()

    again = cli(app, "purge", "--days", "5")
    assert again.exit_code == 0 and again.output.startswith("purged 0 recordings")


def test_cli_purge_without_a_retention_period_errors(app, freeclimb, data_dir):
    """`flask recordings purge` without RETENTION_DAYS and without --days exits 1 and deletes nothing."""
    entry_id = record_call(app.test_client(), freeclimb)
    app.extensions["mirror"].run_once()
    age(app, entry_id, 1000)

    result = cli(app, "purge")
    assert result.exit_code == 1
    assert "RETENTION_DAYS is not set" in result.output and "--days" in result.output
    assert app.extensions["store"].recordings.get(entry_id)["tm_delete"] == "9999-01-01 00:00:00.000000"
    assert audio_path(data_dir, entry_id).is_file()


def test_cli_purge_uses_retention_days(make_app, freeclimb, data_dir):
    """With RETENTION_DAYS=1, `flask recordings purge` needs no --days and purges entries older than a day."""
    app = make_app(RETENTION_DAYS="1")
    client = app.test_client()
    old, new = record_call(client, freeclimb), record_call(client, freeclimb)
    assert app.extensions["mirror"].run_once() == 2
    age(app, old, 2)

    result = cli(app, "purge")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("purged 1 recording created before ")
    recordings = app.extensions["store"].recordings
    assert recordings.get(old)["tm_delete"] != "9999-01-01 00:00:00.000000"
    assert not audio_path(data_dir, old).exists()
    assert audio_path(data_dir, new).is_file()


def test_cli_mirror_runs_one_pass_and_reports_counts(app, freeclimb, data_dir):
    """`flask recordings mirror` fetches what is due in one pass and reports how many were mirrored and how many are still pending."""
    client = app.test_client()
    good = [record_call(client, freeclimb) for _ in range(2)]
    flaky = record_call(client, freeclimb, fail_first=1)

    result = cli(app, "mirror")
    assert result.exit_code == 0, result.output
    assert result.output == "mirrored 2; 1 still pending\n"
    recordings = app.extensions["store"].recordings
    for entry_id in good:
        assert_mirrored(recordings.get(entry_id), data_dir, freeclimb)
    assert recordings.get(flaky)["mirror_state"] == "pending"

    assert cli(app, "mirror").output == "mirrored 0; 1 still pending\n"  # backing off
    app.extensions["mirror"].clock = lambda: datetime.now(UTC) + timedelta(seconds=backoff_s(1) + 1)
    assert cli(app, "mirror").output == "mirrored 1; 0 still pending\n"
    assert_mirrored(recordings.get(flaky), data_dir, freeclimb)


def test_a_recording_deleted_during_its_download_keeps_no_copy(app, freeclimb, data_dir):
    """When a recording is deleted while its audio downloads, the finished copy is removed, not kept."""
    client = app.test_client()
    entry_id = record_call(client, freeclimb, delay_s=1.0)
    mirror = app.extensions["mirror"]
    worker = threading.Thread(target=mirror.run_once)
    worker.start()
    wait_for(lambda: sum(freeclimb.tries.values()) == 1, 5, "the download to start")
    response = client.delete(f"/recordings/{entry_id}", headers=BEARER)
    assert response.status_code == 200
    worker.join(10)
    entry = app.extensions["store"].recordings.get(entry_id)
    assert entry["mirror_state"] is None and entry["local_path"] is None
    assert "deleted" in entry["mirror_error"]
    assert not audio_path(data_dir, entry_id).exists()
    assert audio_parts(data_dir) == []


def test_a_worker_respects_another_workers_backoff(app, freeclimb, data_dir):
    """After one worker's attempt fails, another does not claim the entry before its next_at."""
    client = app.test_client()
    entry_id = record_call(client, freeclimb, fail_first=1)
    first = app.extensions["mirror"]
    assert first.run_once() == 0  # HTTP 500: backed off
    second = Mirror(app.extensions["store"].recordings, data_dir, first.source, clock=first.clock)
    assert second._claim(entry_id, timestamp(first.clock())) is None
    assert second.run_once() == 0
    recording_id = app.extensions["store"].recordings.get(entry_id)["recording_id"]
    assert freeclimb.tries[recording_id] == 1
