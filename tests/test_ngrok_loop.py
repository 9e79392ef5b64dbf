"""The ngrok loop: URLs to paste, signatures behind a proxy, callback URLs from proxy headers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app import create_app
from tests.freeclimb import SECRET, encode, freeclimb_id, inbound_call, signed_headers

ROOT = Path(__file__).resolve().parents[1]


def run_flask(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PUBLIC_BASE_URL", "FREECLIMB_SIGNING_SECRET", "FLOWS_PATH")}
    environment.update({"DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run([sys.executable, "-m", "flask", "--app", str(ROOT / "app.py"), *args],
                          capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=60)


def test_freeclimb_urls_prints_what_to_paste(tmp_path):
    """`flask freeclimb urls` prints the voiceUrl and statusCallbackUrl for PUBLIC_BASE_URL."""
    result = run_flask("freeclimb", "urls", env={"PUBLIC_BASE_URL": "https://abc123.ngrok.app/",
                                                 "FREECLIMB_SIGNING_SECRET": SECRET}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "voiceUrl           https://abc123.ngrok.app/freeclimb/voice",
        "statusCallbackUrl  https://abc123.ngrok.app/freeclimb/status",
    ]
    assert result.stderr == ""


def test_freeclimb_urls_without_a_base_url_says_what_to_set(tmp_path):
    """Without PUBLIC_BASE_URL the command exits non-zero and says to set it."""
    result = run_flask("freeclimb", "urls", env={}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "PUBLIC_BASE_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_freeclimb_urls_warns_when_nothing_is_verified(tmp_path):
    """Without a signing secret the URLs come with a warning to set one."""
    result = run_flask("freeclimb", "urls", env={"PUBLIC_BASE_URL": "https://x.ngrok.app"},
                       tmp_path=tmp_path)
    assert result.returncode == 0
    assert "FREECLIMB_SIGNING_SECRET is not set" in result.stderr


def test_tunnel_without_pyngrok_explains_the_alternative(tmp_path):
    """`flask freeclimb tunnel` without pyngrok says how to install it or run ngrok by hand."""
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "pyngrok.py").write_text("raise ImportError('pyngrok is not installed')\n")
    result = run_flask("freeclimb", "tunnel", "--port", "5055",
                       env={"PYTHONPATH": str(stub)}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "pip install pyngrok" in result.stderr and "ngrok http 5055" in result.stderr


def test_tunnel_with_pyngrok_prints_the_public_urls(tmp_path):
    """With pyngrok present the tunnel's https address and the two FreeClimb URLs are printed."""
    stub = tmp_path / "stub" / "pyngrok"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("")
    (stub / "ngrok.py").write_text(
        "class _Tunnel:\n    public_url = 'http://stub.ngrok.app'\n"
        "def connect(port, proto):\n    assert (port, proto) == (5055, 'http')\n    return _Tunnel()\n"
        "class _Proc:\n    def wait(self):\n        return 0\n"
        "class _Process:\n    proc = _Proc()\n"
        "def get_ngrok_process():\n    return _Process()\n"
        "def disconnect(url):\n    print('closed', url)\n")
    result = run_flask("freeclimb", "tunnel", "--port", "5055",
                       env={"PYTHONPATH": str(stub.parent)}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "voiceUrl           https://stub.ngrok.app/freeclimb/voice" in result.stdout
    assert "closed http://stub.ngrok.app" in result.stdout


def test_signatures_verify_behind_a_proxy_that_rewrites_host_and_scheme(tmp_path, monkeypatch):
    """A signed webhook still verifies when a proxy changed Host and added X-Forwarded headers."""
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = create_app({"DATA_DIR": str(tmp_path), "FREECLIMB_SIGNING_SECRET": SECRET,
                      "TRUSTED_PROXIES": "1"})
    raw, content_type = encode(inbound_call(freeclimb_id("CA")))
    response = app.test_client().post("/freeclimb/voice", data=raw, headers={
        **signed_headers(raw, content_type), "Host": "127.0.0.1:5000",
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "abc123.ngrok.app",
        "X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 200
    action_url = response.get_json()[-1]["RecordUtterance"]["actionUrl"]
    assert action_url.startswith("https://abc123.ngrok.app/freeclimb/record/")


def test_without_trusted_proxies_forwarded_headers_are_ignored(tmp_path, monkeypatch):
    """X-Forwarded-Host does not steer callback URLs unless the app is told to trust a proxy."""
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = create_app({"DATA_DIR": str(tmp_path), "FREECLIMB_SIGNING_SECRET": SECRET})
    raw, content_type = encode(inbound_call(freeclimb_id("CA")))
    response = app.test_client().post("/freeclimb/voice", data=raw, headers={
        **signed_headers(raw, content_type), "Host": "127.0.0.1:5000",
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"})
    action_url = response.get_json()[-1]["RecordUtterance"]["actionUrl"]
    assert action_url.startswith("http://127.0.0.1:5000/freeclimb/record/")
