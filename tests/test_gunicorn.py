"""The app under gunicorn with several worker processes, driven over real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from storage import open_store
from tests.freeclimb import SECRET, call_status, encode, freeclimb_id, inbound_call, path_of, record, signed_headers
from tests.oracle import sdk_accepts_script

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn serving app:app with 4 workers on a free loopback port; yields (port, data dir)."""
    port = _free_port()
    data_dir = tmp_path / "data"
    env = {**os.environ, "DATA_DIR": str(data_dir), "FREECLIMB_SIGNING_SECRET": SECRET,
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "4", "--threads", "4", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            status, _ = _request(port, "GET", "/healthz")
            if status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("gunicorn did not start:\n" + process.communicate()[0].decode())
        time.sleep(0.1)
    yield port, data_dir
    process.terminate()
    output = process.communicate(timeout=30)[0].decode()
    assert "Traceback" not in output, output


def _request(port: int, method: str, path: str, body: bytes = b"",
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _webhook(port: int, path: str, body: dict, form: bool = False) -> tuple[int, bytes]:
    raw, content_type = encode(body, form)
    return _request(port, "POST", path, raw, signed_headers(raw, content_type))


def _one_call(port: int, n: int) -> tuple[str, list[dict]]:
    """A whole voicemail call; every third record callback is delivered three times at once,
    and every fifth caller hangs up before the recording arrives."""
    call_id, recording_id = freeclimb_id("CA"), freeclimb_id("RE")
    form = n % 2 == 1
    status, body = _webhook(port, "/freeclimb/voice", inbound_call(call_id), form)
    assert status == 200, body
    greeting = json.loads(body)
    record_path = path_of(greeting[-1]["RecordUtterance"]["actionUrl"])
    if n % 5 == 0:  # the caller hangs up before FreeClimb posts the recording
        assert _webhook(port, "/freeclimb/status", call_status(call_id), form)[0] == 204
    answers = [greeting]
    deliveries = 3 if n % 3 == 0 else 1
    # duplicates arrive at once, on separate connections, so different workers race for them
    with ThreadPoolExecutor(max_workers=deliveries) as pool:
        replies = list(pool.map(lambda _: _webhook(port, record_path, record(call_id, recording_id), form),
                                range(deliveries)))
    for status, body in replies:
        assert status == 200, body
        answers.append(json.loads(body))
    assert all(answer == answers[1] for answer in answers[1:])  # every delivery, the same answer
    if n % 5 != 0:
        assert _webhook(port, "/freeclimb/status", call_status(call_id), form)[0] == 204
    return recording_id, answers


def test_concurrent_calls_across_workers_leave_one_ended_entry_per_recording(gunicorn):
    """300 concurrent calls over 4 gunicorn workers, duplicates included, end with one entry each."""
    port, data_dir = gunicorn
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda n: _one_call(port, n), range(300)))
    for _, answers in results:
        for answer in answers:
            sdk_accepts_script(answer)
    store = open_store(data_dir)
    entries = store.recordings.all()
    assert sorted(e["recording_id"] for e in entries) == sorted(rid for rid, _ in results)
    assert {e["status"] for e in entries} == {"ended"}
    assert len({e["id"] for e in entries}) == 300
    activeflows = store.activeflows.all()
    assert len(activeflows) == 300 and {a["status"] for a in activeflows} == {"ended"}
    # each activeflow answered its recording once, however many deliveries raced
    assert all(sum(step["webhook"]["request_type"] == "record" for step in a["executed_actions"]) == 1
               for a in activeflows)


def test_a_bad_request_under_gunicorn_gets_json_not_a_crash(gunicorn):
    """An unsigned webhook gets a 401 JSON body from a real worker."""
    port, _ = gunicorn
    status, body = _request(port, "POST", "/freeclimb/voice", b"{}", {"Content-Type": "application/json"})
    assert status == 401
    assert json.loads(body)["reason"] == "missing"
