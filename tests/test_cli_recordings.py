"""``flask recordings list [--json]``: what an operator sees of the stored Recording entries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from app import create_app
from tests.freeclimb import SECRET, freeclimb_id, inbound_call, path_of, post, record

ROOT = Path(__file__).parents[1]


def voicemail(client: Any, *, finished: bool = True) -> str:
    """One voicemail call through signed webhooks; returns the entry id (ended unless told not)."""
    call_id = freeclimb_id("CA")
    response = post(client, "/freeclimb/voice", inbound_call(call_id))
    assert response.status_code == 200
    url = response.get_json()[1]["RecordUtterance"]["actionUrl"]
    if finished:
        assert post(client, path_of(url), record(call_id, freeclimb_id("RE"))).status_code == 200
    return path_of(url).rsplit("/", 1)[1]


def run_list(app: Any, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["recordings", "list", *args])
    assert result.exception is None, result.output
    assert result.exit_code == 0, result.output
    return result


def test_empty_store_says_so(app):
    """With nothing stored the table form prints a single 'No recordings stored.' line."""
    assert run_list(app).output == "No recordings stored.\n"


def test_empty_store_as_json_is_an_empty_array(app):
    """With nothing stored --json prints an empty JSON array."""
    assert json.loads(run_list(app, "--json").output) == []


def test_table_has_a_header_one_row_per_entry_and_a_count(app, client, recordings):
    """The table prints a header line, one row per entry (oldest first) with its fields, and the count."""
    ended = voicemail(client)
    running = voicemail(client, finished=False)
    lines = run_list(app).output.splitlines()

    assert len(lines) == 1 + 2 + 1
    header = lines[0].split()
    assert header == ["id", "status", "recording_id", "duration_sec", "recording_size", "tm_create"]
    rows = lines[1:3]
    assert [row.split()[0] for row in rows] == [ended, running]

    stored = recordings.get(ended)
    cells = rows[0].split()
    assert cells[:5] == [ended, "ended", stored["recording_id"], str(stored["duration_sec"]),
                         str(stored["recording_size"])]
    assert " ".join(cells[5:]) == stored["tm_create"]
    assert rows[1].split()[:2] == [running, "recording"]
    assert recordings.get(running)["tm_create"] in rows[1]
    assert lines[-1] == "2 recordings"


def test_table_count_is_singular_for_one_entry(app, client):
    """One stored entry is counted as '1 recording'."""
    voicemail(client)
    lines = run_list(app).output.splitlines()
    assert len(lines) == 3
    assert lines[-1] == "1 recording"


def test_json_output_is_the_stored_entries(app, client, recordings):
    """--json prints exactly the stored entries, every field included, oldest first."""
    voicemail(client)
    voicemail(client, finished=False)
    voicemail(client)
    printed = json.loads(run_list(app, "--json").output)
    assert printed == recordings.all()
    assert len(printed) == 3
    assert all(len(entry) == 38 for entry in printed)  # 30 fields, 8 about our audio copy
    assert [entry["status"] for entry in printed] == ["ended", "recording", "ended"]


def test_flask_command_in_a_real_process_reads_the_store_on_disk(tmp_path):
    """`flask --app app recordings list --json` in its own process prints the entries another app stored in DATA_DIR."""
    data_dir = tmp_path / "store"
    filler = create_app({"TESTING": True, "DATA_DIR": str(data_dir),
                         "FREECLIMB_SIGNING_SECRET": SECRET,
                         "PUBLIC_BASE_URL": "https://voice.example.com"})
    client = filler.test_client()
    ids = [voicemail(client), voicemail(client, finished=False)]
    expected = filler.extensions["store"].recordings.all()

    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("VOICEMAIL_", "FLASK_")) and key not in ("PUBLIC_BASE_URL",
                                                                          "SIGNATURE_TOLERANCE_S")}
    env.update(DATA_DIR=str(data_dir), FREECLIMB_SIGNING_SECRET=SECRET, PYTHONIOENCODING="utf-8")
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run([str(flask), "--app", "app", "recordings", "list", "--json"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                            check=False)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    printed = json.loads(result.stdout)
    assert printed == expected
    assert [entry["id"] for entry in printed] == ids
