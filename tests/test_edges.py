"""Edge cases across webhooks, the mirror, the CLI and the linter that once crashed or misbehaved."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import yaml

from app import create_app
from handlers.calls import call_recording_id
from handlers.mirror import Mirror, Source, audio_path
from percl.interpreter import wav_bytes
from storage.recordings import blank_entry, timestamp
from tests.freeclimb import (
    SECRET,
    call_status,
    freeclimb_id,
    inbound_call,
    path_of,
    post,
    record,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def app(tmp_path):
    return create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"),
                       "FREECLIMB_SIGNING_SECRET": SECRET, "API_TOKEN": "t" * 24})


@pytest.mark.parametrize("leg", ["", "/dial", "/connect"])
def test_a_request_type_that_is_not_text_is_refused(app, leg):
    """A JSON list as requestType on a flow or transfer URL gets 400 naming it, not a 500."""
    response = post(app.test_client(), f"/freeclimb/flows/{uuid.uuid4()}/1{leg}",
                    {"requestType": ["x"], "callId": "CA1"})
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("requestType")


def test_a_call_recording_for_another_call_is_refused(app):
    """A callStatus reporting a whole-call recording whose entry belongs to another call gets 400."""
    client = app.test_client()
    recording = freeclimb_id("RE")
    first = call_status(freeclimb_id("CA"), recordingId=recording, recordingSize="44",
                        recordingUrl="https://fc.example/a.wav")
    assert post(client, "/freeclimb/status", first).status_code == 204
    other = call_status(freeclimb_id("CA"), recordingId=recording, recordingSize="44",
                        recordingUrl="https://fc.example/a.wav")
    response = post(client, "/freeclimb/status", other)
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("callId")
    assert call_recording_id(recording)  # the entry stays the first call's


def test_a_call_recording_url_that_is_not_a_url_is_refused(app):
    """A callStatus recordingUrl that is not an http(s) URL gets 400 naming it."""
    body = call_status(freeclimb_id("CA"), recordingId=freeclimb_id("RE"),
                       recordingUrl="http://[::1/a")
    response = post(app.test_client(), "/freeclimb/status", body)
    assert response.status_code == 400
    assert "recordingUrl" in response.get_json()["message"]


def test_deleting_a_pending_recording_stops_its_download(app):
    """A pending recording that is deleted leaves the pending list for good."""
    client = app.test_client()
    call_id = freeclimb_id("CA")
    answer = post(client, "/freeclimb/voice", inbound_call(call_id)).get_json()
    path = path_of(answer[-1]["RecordUtterance"]["actionUrl"])
    post(client, path, record(call_id, freeclimb_id("RE")))
    entry_id = path.rsplit("/", 1)[1]
    recordings = app.extensions["store"].recordings
    assert [e["id"] for e in recordings.pending_mirrors()] == [entry_id]
    assert client.delete(f"/recordings/{entry_id}", headers={"Authorization": "Bearer " + "t" * 24}).status_code == 200
    assert recordings.pending_mirrors() == []
    assert recordings.get(entry_id)["mirror_state"] is None


def test_a_recording_deleted_while_it_was_made_is_not_fetched(app):
    """Deleted while recording, the entry keeps its tm_delete and is not queued when the callback comes."""
    client = app.test_client()
    call_id = freeclimb_id("CA")
    answer = post(client, "/freeclimb/voice", inbound_call(call_id)).get_json()
    path = path_of(answer[-1]["RecordUtterance"]["actionUrl"])
    entry_id = path.rsplit("/", 1)[1]
    client.delete(f"/recordings/{entry_id}", headers={"Authorization": "Bearer " + "t" * 24})
    assert post(client, path, record(call_id, freeclimb_id("RE"))).status_code == 200
    entry = app.extensions["store"].recordings.get(entry_id)
    assert entry["tm_delete"] != "9999-01-01 00:00:00.000000"
    assert entry["mirror_state"] is None


def _pending(recordings, **fields):
    with recordings.atomic() as changes:
        entry = blank_entry(str(uuid.uuid4()), timestamp())
        entry.update(mirror_state="pending", **fields)
        changes.save(entry)
    return entry["id"]


def test_a_worker_whose_claim_lapsed_does_not_overwrite_the_next_one(app, tmp_path):
    """A download that outlived its claim does not settle over the worker that took over."""
    recordings = app.extensions["store"].recordings
    entry_id = _pending(recordings, recording_url="http://127.0.0.1:9/x.wav")
    slow, fast = (Mirror(recordings, tmp_path / "data", Source("http://127.0.0.1:9")) for _ in range(2))
    assert slow._claim(entry_id, timestamp()) is not None
    with recordings.atomic() as changes:  # the claim lapses
        entry = changes.get(entry_id)
        entry["mirror_claim"]["until"] = "2000-01-01 00:00:00.000000"
        changes.save(entry)
    assert fast._claim(entry_id, timestamp()) is not None
    slow._settle(entry_id, mirror_state="failed", mirror_error="too slow")
    entry = recordings.get(entry_id)
    assert entry["mirror_state"] == "pending" and entry["mirror_claim"]["by"] == fast.claim_id


def test_a_privacy_recording_arriving_mid_pass_goes_next(app, tmp_path, monkeypatch):
    """A privacy-mode recording completed during a pass is fetched before the older ones left."""
    import handlers.mirror as mirror_module

    recordings = app.extensions["store"].recordings
    older = [_pending(recordings, recording_url=f"http://127.0.0.1:9/{n}.wav", tm_end=f"2026-01-01 00:00:0{n}.000000")
             for n in range(3)]
    order: list[str] = []
    late: list[str] = []

    def fake_download(source, entry, target):
        order.append(entry["id"])
        if not late:  # during the first download a privacy recording arrives
            late.append(_pending(recordings, recording_url="http://127.0.0.1:9/p.wav", privacy_mode=True,
                                 tm_end="2026-01-01 00:00:09.000000"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"x")
        return "0" * 64, 1

    monkeypatch.setattr(mirror_module, "download", fake_download)
    mirror = Mirror(recordings, tmp_path / "data", Source("http://127.0.0.1:9"))
    assert mirror.run_once() == 4
    assert order[0] == older[0] and order[1] == late[0]


class _Server:
    def __init__(self, handler):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_credentials_do_not_follow_a_redirect_to_another_host(tmp_path):
    """FreeClimb's API redirecting a download elsewhere does not get our API key sent there."""
    seen: dict[str, str | None] = {}
    body = wav_bytes(1)

    class Storage(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen["authorization"] = self.headers.get("Authorization")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    storage = _Server(Storage)

    class Api(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen["api_auth"] = self.headers.get("Authorization")
            self.send_response(302)
            self.send_header("Location", f"{storage.url}/blob.wav")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    api = _Server(Api)
    try:
        from handlers.mirror import download

        source = Source(api.url, "AC1", "secret-key")
        sha, size = download(source, {"recording_id": "RE1", "recording_size": len(body)},
                             tmp_path / "a.wav")
        assert size == len(body)
        assert seen["api_auth"].startswith("Basic ")
        assert seen["authorization"] is None
    finally:
        api.close()
        storage.close()


def run_flask(tmp_path, *args, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("FLOWS_PATH", "RETENTION_DAYS")}
    environment.update(DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", str(ROOT / "app.py"), *args],
                          capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=60)


@pytest.mark.parametrize("args, message", [
    (("recordings", "purge", "--days", "1000000"), "1000000 is not in the range"),
    (("simulate", "--step", "record:abc"), "record takes whole seconds"),
    (("simulate", "--step", "answer:x"), "answer takes whole seconds"),
    (("simulate", "--url", "http://127.0.0.1:9", "--step", "record:2"), "could not be reached"),
])
def test_cli_mistakes_get_a_message_not_a_traceback(tmp_path, args, message):
    """Bad CLI arguments and an unreachable app give one clear line and a non-zero exit."""
    result = run_flask(tmp_path, *args)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output
    assert "Traceback" not in output


def test_retention_beyond_a_century_stops_the_app(tmp_path):
    """RETENTION_DAYS past 36500 is refused at start."""
    from handlers.config import ConfigError

    with pytest.raises(ConfigError, match="RETENTION_DAYS"):
        create_app({"DATA_DIR": str(tmp_path), "RETENTION_DAYS": "99999999"})


def test_cli_download_of_a_deleted_recording_or_into_a_missing_folder_is_refused(app, tmp_path):
    """Downloading a deleted recording, or into a folder that does not exist, says why."""
    recordings = app.extensions["store"].recordings
    entry_id = _pending(recordings, recording_url="http://127.0.0.1:9/x.wav")
    target = audio_path(app.config["DATA_DIR"], entry_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(wav_bytes(1))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["recordings", "download", entry_id, str(tmp_path / "nope" / "x.wav")])
    assert result.exit_code != 0 and "cannot write" in result.output
    with recordings.atomic() as changes:
        entry = changes.get(entry_id)
        entry["tm_delete"] = timestamp()
        changes.save(entry)
    result = runner.invoke(args=["recordings", "download", entry_id, str(tmp_path / "x.wav")])
    assert result.exit_code != 0 and "was deleted" in result.output


def test_linting_many_branches_looks_at_each_action_a_bounded_number_of_times(tmp_path, monkeypatch):
    """Forty branches in a row (each with two ways on) are linted with work linear in the actions."""
    import handlers.flows.lint as lint_module
    from handlers.flows import load_flows

    actions = [{"branch": {"cases": [{"if": {"variable": "call.from", "equals": str(n)},
                                      "then": [{"say": "x"}]}]}} for n in range(40)] + [{"hangup": None}]
    path = tmp_path / "f.yaml"
    path.write_text(yaml.safe_dump({"flows": [{"name": "m", "actions": actions}]}))
    flows = load_flows(path)
    calls = []
    real = lint_module.successors
    monkeypatch.setattr(lint_module, "successors", lambda *a: calls.append(1) or real(*a))
    assert lint_module.lint(flows) == []
    # every path through 40 two-way branches is 2**40; a linear walk asks a few times per action
    assert len(calls) <= 5 * len(flows.flows["m"].nodes)
