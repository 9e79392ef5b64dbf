"""The recordings REST API through HTTP: auth, /recordings filters and pages, one recording, soft
delete (with a fake FreeClimb REST API on 127.0.0.1), /recordingfiles with Range, /openapi.json,
and property-based runs against the OpenAPI document (schemathesis) and a plain Python oracle.
"""

from __future__ import annotations

import base64
import copy
import gc
import http.server
import io
import itertools
import json
import logging
import random
import shutil
import socket
import tempfile
import threading
import uuid
import wave
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jsonschema_rs
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    positive_data_acceptance,
)

from app import create_app
from handlers.config import ConfigError
from handlers.recordings import audio_path
from storage.recordings import NOT_YET, STATUSES, TIME_FORMAT, blank_entry
from tests.freeclimb import ACCOUNT_ID, SECRET, freeclimb_id, inbound_call, path_of, post, record

TOKEN = "api-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
API_KEY = "fc-api-key-NEVER-LOGGED-42"
FILTER_NAMES = ("status", "reference_type", "reference_id", "call_id", "owner_type", "owner_id",
                "activeflow_id", "customer_id")
_ENVIRONMENT = ("API_TOKEN", "FREECLIMB_ACCOUNT_ID", "FREECLIMB_API_KEY", "FREECLIMB_API_URL",
                "FREECLIMB_SIGNING_SECRET", "DATA_DIR", "PUBLIC_BASE_URL", "FLOWS_PATH",
                "TRUSTED_PROXIES", "RETENTION_DAYS", "MIRROR_AUDIO", "http_proxy", "HTTP_PROXY", "https_proxy",
                "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
_times = itertools.count()
_BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """Settings come only from each test's config, and no proxy sits between us and 127.0.0.1."""
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


# --- helpers -----------------------------------------------------------------------------


class BufferedClient(FlaskClient):
    """A test client that reads each answer whole and closes it (send_file leaves the file open otherwise)."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


def make_app(tmp_path: Path, **config: Any) -> Flask:
    """An app on a fresh store under tmp_path, signed with SECRET, the API on with TOKEN."""
    base = {"TESTING": True, "DATA_DIR": str(tmp_path / f"data-{uuid.uuid4().hex[:8]}"),
            "FREECLIMB_SIGNING_SECRET": SECRET, "API_TOKEN": TOKEN,
            "MIRROR_AUDIO": "false"}  # no background downloads: these tests place the audio
    base.update(config)
    app = create_app({k: v for k, v in base.items() if v is not None})
    app.test_client_class = BufferedClient
    return app


def next_time() -> str:
    """A fresh tm_create, later than every one before it in this test run."""
    return (_BASE_TIME + timedelta(milliseconds=next(_times))).strftime(TIME_FORMAT)


def seed(app: Flask, *overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """Stored entries, oldest first, each a blank entry with the given fields changed."""
    made = []
    with app.extensions["store"].recordings.atomic() as changes:
        for fields in overrides:
            fields = dict(fields)
            entry = blank_entry(fields.pop("id", str(uuid.uuid4())), fields.pop("tm_create", next_time()))
            entry.update(fields)
            changes.save(entry)
            made.append(entry)
    return made


def seed_many(app: Flask, count: int, **fields: Any) -> list[str]:
    """``count`` stored entries; their ids, oldest first."""
    return [entry["id"] for entry in seed(app, *({**fields} for _ in range(count)))]


def webhook_recording(client: Any, **record_fields: Any) -> dict[str, str]:
    """A recording made as FreeClimb makes it: a signed inbound call, then the record callback."""
    call_id, recording_id = freeclimb_id("CA"), freeclimb_id("RE")
    numbers = {"from": "+13125550111", "to": "+13125550122"}
    answer = post(client, "/freeclimb/voice", inbound_call(call_id, **numbers))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    action_url = next(command["RecordUtterance"]["actionUrl"] for command in answer.get_json()
                      if "RecordUtterance" in command)
    entry_id = path_of(action_url).rsplit("/", 1)[1]
    done = post(client, path_of(action_url),
                record(call_id, recording_id, **{**numbers, **record_fields}))
    assert done.status_code == 200, done.get_data(as_text=True)
    return {"id": entry_id, "call_id": call_id, "recording_id": recording_id}


def webhook_call_only(client: Any) -> str:
    """An inbound call whose record callback has not come yet; the entry's id."""
    answer = post(client, "/freeclimb/voice", inbound_call(freeclimb_id("CA")))
    action_url = next(command["RecordUtterance"]["actionUrl"] for command in answer.get_json()
                      if "RecordUtterance" in command)
    return path_of(action_url).rsplit("/", 1)[1]


def error_of(response: Any, status: int) -> dict[str, Any]:
    """The JSON error body of a response with the given status."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error", "message"}
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    return body


def listed(client: Any, query: dict[str, Any] | str = "") -> dict[str, Any]:
    """A 200 page of GET /recordings."""
    text = query if isinstance(query, str) else urlencode(query)
    response = client.get(f"/recordings?{text}", headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_json()
    assert set(page) == {"recordings", "next_page_token"}
    return page


def ids_of(page: dict[str, Any]) -> list[str]:
    return [entry["id"] for entry in page["recordings"]]


def walk(client: Any, query: dict[str, Any]) -> tuple[list[str], list[int]]:
    """Every id of every page for a query, and the size of each page."""
    ids: list[str] = []
    sizes: list[int] = []
    token = None
    while True:
        page = listed(client, {**query, **({"page_token": token} if token else {})})
        ids += ids_of(page)
        sizes.append(len(page["recordings"]))
        token = page["next_page_token"]
        if token is None:
            return ids, sizes
        assert isinstance(token, str) and token
        assert len(sizes) < 10_000


def wav_bytes(frames: int = 1000) -> bytes:
    """A WAV as FreeClimb records: 8 kHz, 16-bit, mono."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes((i * 7) % 256 for i in range(frames * 2)))
    return buffer.getvalue()


def our_copy(app: Flask, entry_id: str) -> Path:
    """Where our copy of an entry's audio lives."""
    return audio_path(app.config["SETTINGS"].data_dir, entry_id)


def place_audio(app: Flask, entry_id: str, data: bytes | None = None) -> bytes:
    """Our copy of an entry's audio, where the mirror puts it."""
    data = wav_bytes() if data is None else data
    path = our_copy(app, entry_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def json_schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A component schema of an OpenAPI 3.0 document as plain JSON Schema (nullable made a type)."""
    schema = copy.deepcopy(document["components"]["schemas"][name])
    for prop in schema["properties"].values():
        if prop.pop("nullable", False):
            prop["type"] = [prop["type"], "null"]
        if "$ref" in prop.get("items", {}):
            prop["items"] = json_schema(document, prop["items"]["$ref"].rsplit("/", 1)[1])
    return schema


def conforms(instance: Any, schema: dict[str, Any]) -> None:
    """Fail with the validator's message unless the instance matches the JSON Schema."""
    try:
        jsonschema_rs.Draft4Validator(schema).validate(instance)
    except jsonschema_rs.ValidationError as exc:
        raise AssertionError(f"does not match the document's schema: {exc.message}") from None


def close_leaked_freeclimb_sockets() -> None:
    """Collect now, with warnings as errors, so a socket left open after an error answer fails
    here rather than in whichever later test the collector happens to run in."""
    gc.collect()


class FakeFreeClimb:
    """FreeClimb's REST API on 127.0.0.1: records each request, answers with ``status``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 204
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_DELETE(self) -> None:  # noqa: N802 (http.server's naming)
                fake.requests.append({"method": "DELETE", "path": self.path,
                                      "authorization": self.headers.get("Authorization")})
                body = b"" if fake.status == 204 else json.dumps(
                    {"code": fake.status, "message": "fake FreeClimb"}).encode()
                self.send_response(fake.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/apiserver"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def freeclimb() -> Iterator[FakeFreeClimb]:
    fake = FakeFreeClimb()
    try:
        yield fake
    finally:
        fake.close()


def freeclimb_config(url: str) -> dict[str, str]:
    return {"FREECLIMB_ACCOUNT_ID": ACCOUNT_ID, "FREECLIMB_API_KEY": API_KEY, "FREECLIMB_API_URL": url}


# --- auth --------------------------------------------------------------------------------

ROUTES = [("GET", "/recordings"), ("GET", "/recordings/{id}"), ("DELETE", "/recordings/{id}"),
          ("GET", "/recordingfiles/{id}")]
ROUTE_IDS = [f"{method} {path}" for method, path in ROUTES]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("headers", [{}, AUTH], ids=["no-header", "bearer"])
def test_api_without_token_answers_503_disabled(tmp_path, method, path, headers):
    """With no API_TOKEN configured every API route answers 503 JSON saying the API is disabled."""
    app = make_app(tmp_path, API_TOKEN=None)
    entry_id = seed_many(app, 1)[0]
    response = app.test_client().open(path.format(id=entry_id), method=method, headers=headers)
    body = error_of(response, 503)
    assert body["error"] == "api_disabled"
    assert "disabled" in body["message"] and "API_TOKEN" in body["message"]
    assert app.extensions["store"].recordings.get(entry_id)["tm_delete"] == NOT_YET


def test_blank_api_token_leaves_the_api_disabled(tmp_path):
    """An API_TOKEN of blanks counts as unset: the API answers 503."""
    app = make_app(tmp_path, API_TOKEN="   ")
    error_of(app.test_client().get("/recordings", headers={"Authorization": "Bearer "}), 503)


def test_openapi_document_is_served_without_any_token(tmp_path):
    """/openapi.json answers 200 with no header, both with the API disabled and with a token set."""
    for token in (None, TOKEN):
        response = make_app(tmp_path, API_TOKEN=token).test_client().get("/openapi.json")
        assert response.status_code == 200
        assert response.get_json()["openapi"].startswith("3.")


BAD_AUTHORIZATION = {
    "missing": None,
    "empty": "",
    "basic-scheme": "Basic " + base64.b64encode(f"user:{TOKEN}".encode()).decode(),
    "token-without-scheme": TOKEN,
    "scheme-without-token": "Bearer",
    "bearer-blank": "Bearer ",
    "wrong-token": "Bearer " + "x" * len(TOKEN),
    "token-prefix": f"Bearer {TOKEN[:-1]}",
    "token-longer": f"Bearer {TOKEN}0",
    "other-case": f"Bearer {TOKEN.upper()}",
    "token-scheme": f"Token {TOKEN}",
}


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("authorization", list(BAD_AUTHORIZATION.values()), ids=list(BAD_AUTHORIZATION))
def test_wrong_or_missing_credentials_get_401_with_www_authenticate(tmp_path, method, path, authorization):
    """A missing header, another scheme or a wrong token gets 401 JSON with a Bearer WWW-Authenticate."""
    app = make_app(tmp_path)
    entry_id = seed_many(app, 1)[0]
    place_audio(app, entry_id)
    headers = {} if authorization is None else {"Authorization": authorization}
    response = app.test_client().open(path.format(id=entry_id), method=method, headers=headers)
    body = error_of(response, 401)
    assert body["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert app.extensions["store"].recordings.get(entry_id)["tm_delete"] == NOT_YET
    assert our_copy(app, entry_id).exists()


@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER {TOKEN}",
                                           f"Bearer  {TOKEN} "], ids=["canonical", "lower", "upper", "spaces"])
def test_right_token_opens_every_route(tmp_path, authorization):
    """The configured token, under the Bearer scheme in any case, opens every route."""
    app = make_app(tmp_path)
    client = app.test_client()
    entry_id = seed_many(app, 1)[0]
    place_audio(app, entry_id)
    headers = {"Authorization": authorization}
    assert client.get("/recordings", headers=headers).status_code == 200
    assert client.get(f"/recordings/{entry_id}", headers=headers).status_code == 200
    assert client.get(f"/recordingfiles/{entry_id}", headers=headers).status_code == 200
    assert client.delete(f"/recordings/{entry_id}", headers=headers).status_code == 200


@pytest.mark.parametrize("through", ["config", "environment"])
def test_api_token_shorter_than_16_characters_stops_the_app(tmp_path, monkeypatch, through):
    """An API_TOKEN of 15 characters is a ConfigError at create_app, whether configured or in the environment; 16 is enough."""
    def build(token: str) -> Flask:
        if through == "environment":
            monkeypatch.setenv("API_TOKEN", token)
            return make_app(tmp_path, API_TOKEN=None)
        return make_app(tmp_path, API_TOKEN=token)

    with pytest.raises(ConfigError, match="API_TOKEN"):
        build("a" * 15)
    app = build("b" * 16)
    assert app.test_client().get("/recordings", headers={"Authorization": "Bearer " + "b" * 16}).status_code == 200


# --- GET /recordings ---------------------------------------------------------------------


def test_recordings_are_listed_newest_first(tmp_path):
    """Recordings made through webhooks come back newest first, with the fields the callbacks gave."""
    app = make_app(tmp_path)
    client = app.test_client()
    made = [webhook_recording(client) for _ in range(3)]
    page = listed(client)
    assert ids_of(page) == [m["id"] for m in reversed(made)]
    assert [e["recording_id"] for e in page["recordings"]] == [m["recording_id"] for m in reversed(made)]
    assert page["next_page_token"] is None
    created = [e["tm_create"] for e in page["recordings"]]
    assert created == sorted(created, reverse=True)


U = [str(uuid.UUID(int=n)) for n in range(1, 9)]
#: Two values of each filter, and the entries that combine them.
FILTER_PAIRS = {
    "status": ("ended", "recording"),
    "reference_type": ("call", "confbridge"),
    "reference_id": (U[0], U[1]),
    "call_id": ("CA-first", "CA-second"),
    "owner_type": ("", "agent"),
    "owner_id": (U[2], U[3]),
    "activeflow_id": (U[4], U[5]),
    "customer_id": (U[6], U[7]),
}


def seed_filter_grid(app: Flask) -> list[dict[str, Any]]:
    """24 entries: each filter takes either of its two values, picked by a fixed-seed shuffle."""
    rng = random.Random(6)
    return seed(app, *({name: rng.choice(values) for name, values in FILTER_PAIRS.items()}
                       for _ in range(24)))


@pytest.mark.parametrize("name", FILTER_NAMES)
def test_each_filter_alone_returns_exactly_the_matching_entries(tmp_path, name):
    """Each filter on its own returns exactly the entries holding that value, newest first."""
    app = make_app(tmp_path)
    entries = seed_filter_grid(app)
    client = app.test_client()
    for value in FILTER_PAIRS[name]:
        expected = [e["id"] for e in reversed(entries) if e[name] == value]
        assert expected and len(expected) < len(entries)
        assert ids_of(listed(client, {name: value})) == expected


def test_filters_combine_as_and(tmp_path):
    """Several filters together return the entries matching all of them."""
    app = make_app(tmp_path)
    entries = seed_filter_grid(app)
    client = app.test_client()
    combos = [("status", "reference_type"), ("reference_id", "owner_type", "customer_id"),
              FILTER_NAMES, ("call_id", "activeflow_id", "owner_id")]
    for names in combos:
        for choice in range(4):
            query = {name: FILTER_PAIRS[name][(choice >> (i % 2)) % 2] for i, name in enumerate(names)}
            expected = [e["id"] for e in reversed(entries) if all(e[k] == v for k, v in query.items())]
            assert ids_of(listed(client, query)) == expected, query


def test_filter_matching_nothing_gives_an_empty_page(tmp_path):
    """A filter value no entry holds gives an empty page with no token."""
    app = make_app(tmp_path)
    seed_filter_grid(app)
    assert listed(app.test_client(), {"status": "stopping"}) == {"recordings": [], "next_page_token": None}
    assert listed(app.test_client(), {"call_id": "CA-nobody"}) == {"recordings": [], "next_page_token": None}


def test_filters_match_recordings_made_through_webhooks(tmp_path):
    """call_id, status and reference_type filters find a webhook-made recording among others."""
    app = make_app(tmp_path)
    client = app.test_client()
    made = [webhook_recording(client) for _ in range(2)]
    pending = webhook_call_only(client)
    assert ids_of(listed(client, {"call_id": made[0]["call_id"]})) == [made[0]["id"]]
    assert ids_of(listed(client, {"status": "ended"})) == [made[1]["id"], made[0]["id"]]
    assert ids_of(listed(client, {"status": "recording"})) == [pending]
    assert ids_of(listed(client, {"status": "ended", "call_id": made[1]["call_id"],
                                  "reference_type": "call"})) == [made[1]["id"]]


TIMES = {"A": "2026-05-04 10:00:00.000000", "B": "2026-05-04 11:00:00.000000",
         "C": "2026-05-04 11:00:00.500000", "D": "2026-05-04 12:00:00.000000"}


@pytest.mark.parametrize(("query", "expected"), [
    ({"since": "2026-05-04 11:00:00.000000"}, "DCB"),
    ({"since": "2026-05-04 11:00:00"}, "DCB"),
    ({"since": "2026-05-04T11:00:00Z"}, "DCB"),
    ({"since": "2026-05-04T11:00:00.000000+00:00"}, "DCB"),
    ({"since": "2026-05-04T13:00:00+02:00"}, "DCB"),
    ({"since": "2026-05-04T06:00:00-05:00"}, "DCB"),
    ({"since": "2026-05-04T11:00:00.000001Z"}, "DC"),
    ({"since": "2026-05-04 12:00:00"}, "D"),
    ({"since": "2026-05-04 12:00:00.000001"}, ""),
    ({"since": "2026-05-04"}, "DCBA"),
    ({"until": "2026-05-04 11:00:00"}, "BA"),
    ({"until": "2026-05-04T11:00:00Z"}, "BA"),
    ({"until": "2026-05-04T07:00:00-04:00"}, "BA"),
    ({"until": "2026-05-04T11:00:00.500000+00:00"}, "CBA"),
    ({"until": "2026-05-04 09:59:59.999999"}, ""),
    ({"since": "2026-05-04T11:00:00Z", "until": "2026-05-04 11:00:00"}, "B"),
    ({"since": "2026-05-04T12:00:00+01:00", "until": "2026-05-04T12:59:59+01:00"}, "CB"),
    ({"since": "2026-05-04T12:00:00+01:00", "until": "2026-05-04T13:00:00+01:00"}, "DCB"),
    ({"since": "2026-05-04 12:00:00", "until": "2026-05-04 10:00:00"}, ""),
])
def test_since_and_until_bound_tm_create_inclusively(tmp_path, query, expected):
    """since/until keep entries created at or after / at or before the time, given stored-style or as ISO 8601 with Z or an offset."""
    app = make_app(tmp_path)
    entries = dict(zip(TIMES, seed(app, *({"tm_create": time} for time in TIMES.values())), strict=True))
    page = listed(app.test_client(), query)
    assert ids_of(page) == [entries[letter]["id"] for letter in expected]


def test_since_until_combine_with_filters_and_pages(tmp_path):
    """A time window, a filter and small pages together give the filtered window, each entry once."""
    app = make_app(tmp_path)
    entries = seed(app, *({"tm_create": f"2026-06-01 10:00:{n:02d}.000000",
                           "status": "ended" if n % 3 else "recording"} for n in range(40)))
    query = {"since": "2026-06-01T10:00:05Z", "until": "2026-06-01 10:00:33", "status": "ended",
             "page_size": 4}
    expected = [e["id"] for e in reversed(entries)
                if "10:00:05" <= e["tm_create"][11:19] <= "10:00:33" and e["status"] == "ended"]
    ids, sizes = walk(app.test_client(), query)
    assert ids == expected
    assert all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4


def test_deleted_entries_are_left_out_unless_asked_for(tmp_path):
    """A deleted entry is left out by default and with deleted=false/0, and listed with deleted=true/1."""
    app = make_app(tmp_path)
    client = app.test_client()
    ids = seed_many(app, 3)
    assert client.delete(f"/recordings/{ids[1]}", headers=AUTH).status_code == 200
    kept = [ids[2], ids[0]]
    everything = list(reversed(ids))
    assert ids_of(listed(client)) == kept
    assert ids_of(listed(client, {"deleted": "false"})) == kept
    assert ids_of(listed(client, {"deleted": "0"})) == kept
    assert ids_of(listed(client, {"deleted": "true"})) == everything
    assert ids_of(listed(client, {"deleted": "1"})) == everything
    shown = listed(client, {"deleted": "true"})["recordings"][1]
    assert shown["id"] == ids[1] and shown["tm_delete"] != NOT_YET


BAD_QUERIES = [
    ("status=bogus", "status"),
    ("status=ENDED", "status"),
    ("reference_type=conference", "reference_type"),
    ("reference_id=not-a-uuid", "reference_id"),
    ("owner_id=123", "owner_id"),
    ("activeflow_id=00000000-0000-0000-0000-00000000000g", "activeflow_id"),
    ("customer_id=" + str(uuid.uuid4()) + "0", "customer_id"),
    ("owner_type=admin", "owner_type"),
    ("call_id=", "call_id"),
    ("call_id=" + "C" * 129, "call_id"),
    ("page_size=0", "page_size"),
    ("page_size=1001", "page_size"),
    ("page_size=-1", "page_size"),
    ("page_size=abc", "page_size"),
    ("page_size=2.5", "page_size"),
    ("page_size=", "page_size"),
    ("since=yesterday", "since"),
    ("since=", "since"),
    ("until=2026-13-01", "until"),
    ("until=2026-05-04T25:00:00Z", "until"),
    ("deleted=yes", "deleted"),
    ("deleted=2", "deleted"),
    ("page_token=garbage", "page_token"),
    ("page_token=", "page_token"),
    ("colour=red", "colour"),
    ("status=ended&status=ended", "status"),
    ("page_size=5&page_size=6", "page_size"),
    ("customer_id=" + U[0] + "&customer_id=" + U[1], "customer_id"),
]


@pytest.mark.parametrize(("query", "parameter"), BAD_QUERIES, ids=[q[:40] for q, _ in BAD_QUERIES])
def test_bad_query_values_get_400_naming_the_parameter(tmp_path, query, parameter):
    """A bad value, an unknown or a repeated parameter gets 400 JSON whose message names the parameter."""
    app = make_app(tmp_path)
    seed_many(app, 2)
    body = error_of(app.test_client().get(f"/recordings?{query}", headers=AUTH), 400)
    assert body["error"] == "invalid_query"
    assert body["message"].startswith(f"{parameter}:"), body["message"]


def test_page_size_defaults_to_50_and_goes_up_to_1000(tmp_path):
    """Without page_size a page holds 50 entries; page_size=1000 is accepted and returns 1000."""
    app = make_app(tmp_path)
    ids = list(reversed(seed_many(app, 1001)))
    client = app.test_client()
    first = listed(client)
    assert ids_of(first) == ids[:50] and first["next_page_token"] is not None
    big = listed(client, {"page_size": 1000})
    assert ids_of(big) == ids[:1000] and big["next_page_token"] is not None
    rest = listed(client, {"page_size": 1000, "page_token": big["next_page_token"]})
    assert ids_of(rest) == ids[1000:] and rest["next_page_token"] is None
    assert ids_of(listed(client, {"page_size": 1})) == ids[:1]


# --- pagination edges --------------------------------------------------------------------


def test_empty_store_gives_an_empty_page_without_token(tmp_path):
    """An empty store lists no recordings and next_page_token null, whatever the page size."""
    client = make_app(tmp_path).test_client()
    for query in ({}, {"page_size": 1}, {"page_size": 1000}, {"deleted": "true"}):
        assert listed(client, query) == {"recordings": [], "next_page_token": None}


@pytest.mark.parametrize(("count", "page_size"), [(50, None), (1, 1), (7, 7), (1000, 1000)])
def test_exactly_one_full_page_has_no_token(tmp_path, count, page_size):
    """When the entries exactly fill one page, that page carries next_page_token null."""
    app = make_app(tmp_path)
    ids = seed_many(app, count)
    page = listed(app.test_client(), {} if page_size is None else {"page_size": page_size})
    assert ids_of(page) == list(reversed(ids))
    assert page["next_page_token"] is None


def test_walking_all_pages_yields_each_entry_once_in_order(tmp_path):
    """125 entries in pages of 50 come as 50, 50, 25, each once, newest first, the last with a null token."""
    app = make_app(tmp_path)
    ids = seed_many(app, 125)
    got, sizes = walk(app.test_client(), {"page_size": 50})
    assert sizes == [50, 50, 25]
    assert got == list(reversed(ids))
    assert len(set(got)) == 125


def test_one_more_than_a_page_gives_a_last_page_of_one(tmp_path):
    """51 entries with the default size give a full page with a token, then one entry and null."""
    app = make_app(tmp_path)
    ids = seed_many(app, 51)
    got, sizes = walk(app.test_client(), {})
    assert sizes == [50, 1] and got == list(reversed(ids))


@pytest.mark.parametrize("change", [
    {"status": "recording"}, {"deleted": "true"}, {"since": "2020-01-01"},
    {"until": "2099-01-01T00:00:00Z"}, {"owner_type": ""}, {"customer_id": U[0]}, {"call_id": "CA-x"},
    {"status": None},
], ids=lambda change: "-".join(f"{k}={v}" for k, v in change.items()))
def test_page_token_used_with_other_filters_gets_400(tmp_path, change):
    """A token given for one set of filters is refused with 400 naming page_token when the filters change."""
    app = make_app(tmp_path)
    seed_many(app, 6, status="ended")
    client = app.test_client()
    base = {"status": "ended", "page_size": 2}
    token = listed(client, base)["next_page_token"]
    assert token
    query = {k: v for k, v in {**base, **change}.items() if v is not None}
    body = error_of(client.get(f"/recordings?{urlencode({**query, 'page_token': token})}",
                               headers=AUTH), 400)
    assert body["message"].startswith("page_token:")
    # the same filters again still take it
    assert listed(client, {**base, "page_token": token})["recordings"]


def test_page_token_accepts_the_same_query_spelt_otherwise(tmp_path):
    """The same filters spelt otherwise (default deleted spelt out, since as ISO 8601, another page size) still take the token."""
    app = make_app(tmp_path)
    ids = seed_many(app, 6, status="ended")[::-1]
    client = app.test_client()
    base = {"status": "ended", "since": "2020-01-01 00:00:00", "page_size": 2}
    token = listed(client, base)["next_page_token"]
    same = {"status": "ended", "since": "2020-01-01T01:00:00+01:00", "deleted": "false", "page_size": 3,
            "page_token": token}
    assert ids_of(listed(client, same)) == ids[2:5]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _tampered_tokens(token: str) -> dict[str, str]:
    padded = token + "=" * (-len(token) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded))
    return {
        "garbage": "garbage",
        "punctuation": "!!!***",
        "not-json": _b64(b"hello there"),
        "json-list": _b64(b"[1, 2]"),
        "json-string": _b64(b'"b"'),
        "no-fingerprint": _b64(json.dumps({"b": data["b"]}).encode()),
        "no-position": _b64(json.dumps({"f": data["f"]}).encode()),
        "position-zero": _b64(json.dumps({"b": 0, "f": data["f"]}).encode()),
        "position-negative": _b64(json.dumps({"b": -3, "f": data["f"]}).encode()),
        "position-text": _b64(json.dumps({"b": str(data["b"]), "f": data["f"]}).encode()),
        "position-bool": _b64(json.dumps({"b": True, "f": data["f"]}).encode()),
        "position-float": _b64(json.dumps({"b": data["b"] + 0.5, "f": data["f"]}).encode()),
        "fingerprint-changed": _b64(json.dumps({"b": data["b"], "f": "0" * len(data["f"])}).encode()),
        "first-char-flipped": ("f" if token[0] != "f" else "g") + token[1:],
        "truncated": token[: len(token) // 2],
        "too-long": token + "A" * (201 - len(token)),
        "non-ascii": token[:-1] + "é",
    }


def test_garbage_and_tampered_tokens_get_400_naming_page_token(tmp_path):
    """Tokens this API did not give (garbage, edited, cut short, too long) get 400 naming page_token."""
    app = make_app(tmp_path)
    seed_many(app, 5)
    client = app.test_client()
    token = listed(client, {"page_size": 2})["next_page_token"]
    for name, bad in _tampered_tokens(token).items():
        response = client.get(f"/recordings?{urlencode({'page_size': 2, 'page_token': bad})}", headers=AUTH)
        body = error_of(response, 400)
        assert body["message"].startswith("page_token:"), (name, body)


def test_entries_added_between_pages_do_not_appear_twice(tmp_path):
    """Entries created while a client walks the pages neither repeat nor shift what it still has to see."""
    app = make_app(tmp_path)
    client = app.test_client()
    old = seed_many(app, 10)
    first = listed(client, {"page_size": 4})
    assert ids_of(first) == old[::-1][:4]
    new = seed_many(app, 3)
    webhook_recording(client)
    second = listed(client, {"page_size": 4, "page_token": first["next_page_token"]})
    third = listed(client, {"page_size": 4, "page_token": second["next_page_token"]})
    assert ids_of(second) == old[::-1][4:8]
    assert ids_of(third) == old[::-1][8:] and third["next_page_token"] is None
    walked = ids_of(first) + ids_of(second) + ids_of(third)
    assert walked == old[::-1] and not set(walked) & set(new)
    assert ids_of(listed(client, {"page_size": 4}))[1:4] == new[::-1]


def test_entry_deleted_between_pages_drops_out_without_repeats(tmp_path):
    """An entry deleted while a client walks the pages is skipped on the later page and nothing repeats."""
    app = make_app(tmp_path)
    client = app.test_client()
    ids = seed_many(app, 6)[::-1]
    first = listed(client, {"page_size": 3})
    assert client.delete(f"/recordings/{ids[4]}", headers=AUTH).status_code == 200
    second = listed(client, {"page_size": 3, "page_token": first["next_page_token"]})
    assert ids_of(first) == ids[:3]
    assert ids_of(second) == [ids[3], ids[5]] and second["next_page_token"] is None


# --- GET /recordings/{id} ----------------------------------------------------------------


def test_one_recording_has_every_field_of_the_schema(tmp_path):
    """GET /recordings/{id} answers 200 with every RecordingSchema field, "from" included, holding the webhook's values."""
    app = make_app(tmp_path)
    client = app.test_client()
    made = webhook_recording(client, recordingSize="250000", recordingDurationSec=31,
                             termReason="maxLength")
    response = client.get(f"/recordings/{made['id']}", headers=AUTH)
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    document = client.get("/openapi.json").get_json()
    schema = document["components"]["schemas"]["RecordingSchema"]
    assert set(schema["required"]) <= set(body) <= set(schema["properties"])
    conforms(body, json_schema(document, "RecordingSchema"))
    assert body["id"] == made["id"]
    assert (body["from"], body["to"]) == ("+13125550111", "+13125550122")
    assert (body["call_id"], body["account_id"]) == (made["call_id"], ACCOUNT_ID)
    assert body["recording_id"] == made["recording_id"]
    assert body["recording_url"].endswith(f"/Recordings/{made['recording_id']}/Download")
    assert (body["recording_size"], body["duration_sec"], body["term_reason"]) == (250000, 31, "maxLength")
    assert (body["status"], body["format"], body["reference_type"]) == ("ended", "wav", "call")
    assert body["privacy_mode"] is False and body["direction"] == "inbound"
    assert body["tm_delete"] == NOT_YET and body["tm_end"] != NOT_YET


@pytest.mark.parametrize("entry_id", [str(uuid.uuid4()), "not-a-uuid", "12345",
                                      str(uuid.uuid4()).replace("-", ""), "%20"])
def test_unknown_or_malformed_id_gets_404_json(tmp_path, entry_id):
    """An unknown UUID or an id that is not a UUID gets 404 JSON on GET, DELETE and /recordingfiles."""
    app = make_app(tmp_path)
    seed_many(app, 2)
    client = app.test_client()
    for method, path in ROUTES[1:]:
        error_of(client.open(path.format(id=entry_id), method=method, headers=AUTH), 404)
    assert len(ids_of(listed(client))) == 2  # nothing was deleted


# --- DELETE /recordings/{id} -------------------------------------------------------------


def test_delete_sets_tm_delete_removes_our_audio_and_repeats_harmlessly(tmp_path):
    """DELETE sets tm_delete (and tm_update) to now, removes our audio file, and a repeat changes nothing."""
    app = make_app(tmp_path)
    client = app.test_client()
    made = webhook_recording(client)
    place_audio(app, made["id"])
    path = our_copy(app, made["id"])
    moment = datetime(2026, 7, 8, 9, 10, 11, 121314, tzinfo=UTC)
    app.extensions["flow_engine"].clock = lambda: moment
    first = client.delete(f"/recordings/{made['id']}", headers=AUTH)
    assert first.status_code == 200
    body = first.get_json()
    assert body["tm_delete"] == body["tm_update"] == "2026-07-08 09:10:11.121314"
    assert not path.exists()
    assert "freeclimb_deleted" not in body  # no credentials: FreeClimb's copy untouched

    app.extensions["flow_engine"].clock = lambda: moment + timedelta(hours=1)
    again = client.delete(f"/recordings/{made['id']}", headers=AUTH)
    assert again.status_code == 200
    assert again.get_json() == body
    assert client.get(f"/recordings/{made['id']}", headers=AUTH).get_json() == body
    assert made["id"] not in ids_of(listed(client))


def test_delete_without_our_audio_file_still_soft_deletes(tmp_path):
    """DELETE of an entry we hold no audio for answers 200 and sets tm_delete."""
    app = make_app(tmp_path)
    entry_id = webhook_call_only(app.test_client())
    response = app.test_client().delete(f"/recordings/{entry_id}", headers=AUTH)
    assert response.status_code == 200 and response.get_json()["tm_delete"] != NOT_YET


def test_delete_of_unknown_recording_gets_404(tmp_path):
    """DELETE of an unknown UUID gets 404 JSON and stores nothing."""
    app = make_app(tmp_path)
    client = app.test_client()
    error_of(client.delete(f"/recordings/{uuid.uuid4()}", headers=AUTH), 404)
    assert app.extensions["store"].recordings.count() == 0


def test_delete_removes_freeclimbs_copy_once_with_basic_auth(tmp_path, freeclimb):
    """With credentials, DELETE sends one DELETE /Accounts/{accountId}/Recordings/{recordingId} with Basic account:key and sets freeclimb_deleted."""
    app = make_app(tmp_path, **freeclimb_config(freeclimb.url))
    client = app.test_client()
    made = webhook_recording(client)
    assert freeclimb.requests == []  # making the recording deletes nothing
    response = client.delete(f"/recordings/{made['id']}", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json()["freeclimb_deleted"] is True
    assert len(freeclimb.requests) == 1
    sent = freeclimb.requests[0]
    assert sent["method"] == "DELETE"
    assert sent["path"] == f"/apiserver/Accounts/{ACCOUNT_ID}/Recordings/{made['recording_id']}"
    scheme, _, credentials = sent["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == f"{ACCOUNT_ID}:{API_KEY}"

    again = client.delete(f"/recordings/{made['id']}", headers=AUTH)
    assert again.status_code == 200 and again.get_json()["freeclimb_deleted"] is True
    assert len(freeclimb.requests) == 1
    assert client.get(f"/recordings/{made['id']}", headers=AUTH).get_json()["freeclimb_deleted"] is True


def test_freeclimb_already_gone_counts_as_deleted(tmp_path, freeclimb):
    """FreeClimb answering 404 (its copy is gone already) marks freeclimb_deleted and is not retried."""
    freeclimb.status = 404
    app = make_app(tmp_path, **freeclimb_config(freeclimb.url))
    client = app.test_client()
    made = webhook_recording(client)
    assert client.delete(f"/recordings/{made['id']}", headers=AUTH).get_json()["freeclimb_deleted"] is True
    close_leaked_freeclimb_sockets()
    client.delete(f"/recordings/{made['id']}", headers=AUTH)
    assert len(freeclimb.requests) == 1


def test_freeclimb_failure_leaves_flag_unset_logs_without_key_and_retries(tmp_path, freeclimb, caplog):
    """FreeClimb answering 500 leaves freeclimb_deleted unset, logs a warning without the key, and a later DELETE retries."""
    freeclimb.status = 500
    app = make_app(tmp_path, **freeclimb_config(freeclimb.url))
    client = app.test_client()
    made = webhook_recording(client)
    place_audio(app, made["id"])
    with caplog.at_level(logging.WARNING):
        first = client.delete(f"/recordings/{made['id']}", headers=AUTH)
    close_leaked_freeclimb_sockets()
    assert first.status_code == 200
    body = first.get_json()
    assert "freeclimb_deleted" not in body
    assert body["tm_delete"] != NOT_YET
    assert not our_copy(app, made["id"]).exists()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and made["id"] in r.getMessage()]
    assert len(warnings) == 1 and "500" in warnings[0].getMessage()
    basic = base64.b64encode(f"{ACCOUNT_ID}:{API_KEY}".encode()).decode()
    assert API_KEY not in caplog.text and basic not in caplog.text
    assert "freeclimb_deleted" not in client.get(f"/recordings/{made['id']}", headers=AUTH).get_json()
    assert len(freeclimb.requests) == 1

    freeclimb.status = 204
    again = client.delete(f"/recordings/{made['id']}", headers=AUTH)
    assert again.status_code == 200
    assert again.get_json()["freeclimb_deleted"] is True
    assert again.get_json()["tm_delete"] == body["tm_delete"]
    assert [r["path"] for r in freeclimb.requests] == [
        f"/apiserver/Accounts/{ACCOUNT_ID}/Recordings/{made['recording_id']}"] * 2


def test_unreachable_freeclimb_leaves_flag_unset(tmp_path, caplog):
    """A FreeClimb that refuses the connection leaves freeclimb_deleted unset and the entry soft-deleted."""
    with socket.socket() as probe:  # a port on 127.0.0.1 nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(tmp_path, **freeclimb_config(f"http://127.0.0.1:{port}/apiserver"))
    client = app.test_client()
    made = webhook_recording(client)
    with caplog.at_level(logging.WARNING):
        body = client.delete(f"/recordings/{made['id']}", headers=AUTH).get_json()
    assert "freeclimb_deleted" not in body and body["tm_delete"] != NOT_YET
    assert API_KEY not in caplog.text


@pytest.mark.parametrize("credentials", [{}, {"FREECLIMB_ACCOUNT_ID": ACCOUNT_ID},
                                         {"FREECLIMB_API_KEY": API_KEY}],
                         ids=["none", "account-only", "key-only"])
def test_without_credentials_nothing_is_sent_to_freeclimb(tmp_path, freeclimb, credentials):
    """Without both FreeClimb credentials DELETE sends nothing and leaves freeclimb_deleted unset."""
    app = make_app(tmp_path, FREECLIMB_API_URL=freeclimb.url, **credentials)
    client = app.test_client()
    made = webhook_recording(client)
    body = client.delete(f"/recordings/{made['id']}", headers=AUTH).get_json()
    assert "freeclimb_deleted" not in body and body["tm_delete"] != NOT_YET
    assert freeclimb.requests == []


def test_entry_without_freeclimb_recording_sends_nothing(tmp_path, freeclimb):
    """An entry whose record callback never came has no FreeClimb recording: DELETE sends nothing."""
    app = make_app(tmp_path, **freeclimb_config(freeclimb.url))
    client = app.test_client()
    entry_id = webhook_call_only(client)
    body = client.delete(f"/recordings/{entry_id}", headers=AUTH).get_json()
    assert body["tm_delete"] != NOT_YET and "freeclimb_deleted" not in body
    assert freeclimb.requests == []


# --- GET /recordingfiles/{id} ------------------------------------------------------------


def test_audio_from_our_copy_is_wav_with_content_length(tmp_path):
    """With our copy in place /recordingfiles answers 200 audio/wav, its bytes and their Content-Length."""
    app = make_app(tmp_path)
    client = app.test_client()
    made = webhook_recording(client)
    data = place_audio(app, made["id"])
    response = client.get(f"/recordingfiles/{made['id']}", headers=AUTH)
    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers.get("Accept-Ranges") == "bytes"
    assert response.data == data
    with wave.open(io.BytesIO(response.data)) as audio:
        assert (audio.getframerate(), audio.getsampwidth(), audio.getnchannels()) == (8000, 2, 1)


RANGES = [("bytes=0-99", 0, 100), ("bytes=-10", None, 10), ("bytes=100-", 100, None),
          ("bytes=0-0", 0, 1), ("bytes=2000-9999", 2000, None)]


@pytest.mark.parametrize(("header", "start", "length"), RANGES, ids=[r[0] for r in RANGES])
def test_range_requests_get_206_with_exactly_the_bytes_asked(tmp_path, header, start, length):
    """A satisfiable Range gets 206 with Content-Range, Content-Length and exactly those bytes."""
    app = make_app(tmp_path)
    entry_id = seed_many(app, 1)[0]
    data = place_audio(app, entry_id)
    size = len(data)
    first = size - length if start is None else start
    end = size if length is None else min(first + length, size)
    response = app.test_client().get(f"/recordingfiles/{entry_id}", headers={**AUTH, "Range": header})
    assert response.status_code == 206
    assert response.mimetype == "audio/wav"
    assert response.headers["Content-Range"] == f"bytes {first}-{end - 1}/{size}"
    assert response.headers["Content-Length"] == str(end - first)
    assert response.data == data[first:end]


def test_bytes_0_99_is_exactly_100_bytes(tmp_path):
    """bytes=0-99 answers 206, Content-Range bytes 0-99/size and exactly the first 100 bytes."""
    app = make_app(tmp_path)
    entry_id = seed_many(app, 1)[0]
    data = place_audio(app, entry_id)
    response = app.test_client().get(f"/recordingfiles/{entry_id}", headers={**AUTH, "Range": "bytes=0-99"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-99/{len(data)}"
    assert len(response.data) == 100 and response.data == data[:100]


@pytest.mark.parametrize("header", ["bytes=2044-", "bytes=5000-6000", "bytes=99999-"])
def test_unsatisfiable_range_gets_416(tmp_path, header):
    """A Range starting at or after the end of the file gets 416 and no audio."""
    app = make_app(tmp_path)
    entry_id = seed_many(app, 1)[0]
    data = place_audio(app, entry_id)
    assert len(data) == 2044
    response = app.test_client().get(f"/recordingfiles/{entry_id}", headers={**AUTH, "Range": header})
    assert response.status_code == 416
    assert data[:100] not in response.data


def test_conditional_get_answers_304(tmp_path):
    """If-None-Match with the ETag or If-Modified-Since with Last-Modified gets 304 with no body."""
    app = make_app(tmp_path)
    entry_id = seed_many(app, 1)[0]
    place_audio(app, entry_id)
    client = app.test_client()
    full = client.get(f"/recordingfiles/{entry_id}", headers=AUTH)
    etag, modified = full.headers["ETag"], full.headers["Last-Modified"]
    for condition in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        response = client.get(f"/recordingfiles/{entry_id}", headers={**AUTH, **condition})
        assert response.status_code == 304, condition
        assert response.data == b""
    other = client.get(f"/recordingfiles/{entry_id}", headers={**AUTH, "If-None-Match": '"other"'})
    assert other.status_code == 200 and other.data == full.data


def test_if_range_with_a_stale_etag_gets_the_whole_file(tmp_path):
    """A Range under If-Range gets 206 when the ETag matches and the whole file when it does not."""
    app = make_app(tmp_path)
    entry_id = seed_many(app, 1)[0]
    data = place_audio(app, entry_id)
    client = app.test_client()
    etag = client.get(f"/recordingfiles/{entry_id}", headers=AUTH).headers["ETag"]
    fresh = client.get(f"/recordingfiles/{entry_id}", headers={**AUTH, "Range": "bytes=0-9", "If-Range": etag})
    assert fresh.status_code == 206 and fresh.data == data[:10]
    stale = client.get(f"/recordingfiles/{entry_id}", headers={**AUTH, "Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.data == data


def test_without_our_copy_redirects_307_to_freeclimbs_url(tmp_path):
    """With no copy of ours, /recordingfiles answers 307 to the recording_url FreeClimb reported."""
    app = make_app(tmp_path)
    client = app.test_client()
    made = webhook_recording(client)
    url = client.get(f"/recordings/{made['id']}", headers=AUTH).get_json()["recording_url"]
    response = client.get(f"/recordingfiles/{made['id']}", headers=AUTH)
    assert response.status_code == 307
    assert response.headers["Location"] == url


@pytest.mark.parametrize("api_url", [None, "http://127.0.0.1:9/fc-api"], ids=["default", "configured"])
def test_freeclimb_api_path_recording_url_is_made_absolute(tmp_path, api_url):
    """A recording_url in FreeClimb's /Accounts/... path form redirects to FREECLIMB_API_URL + path."""
    app = make_app(tmp_path, FREECLIMB_API_URL=api_url)
    path = f"/Accounts/{ACCOUNT_ID}/Recordings/{freeclimb_id('RE')}/Download"
    entry_id = seed(app, {"recording_url": path, "status": "ended"})[0]["id"]
    response = app.test_client().get(f"/recordingfiles/{entry_id}", headers=AUTH)
    assert response.status_code == 307
    base = api_url or "https://www.freeclimb.com/apiserver"
    assert response.headers["Location"] == base + path


def test_privacy_mode_without_our_copy_is_404_with_a_reason(tmp_path):
    """A privacy-mode recording we hold no copy of gets 404 JSON saying why, never a redirect; with a copy it plays."""
    app = make_app(tmp_path)
    client = app.test_client()
    made = webhook_recording(client, privacyMode=True)
    assert client.get(f"/recordings/{made['id']}", headers=AUTH).get_json()["privacy_mode"] is True
    body = error_of(client.get(f"/recordingfiles/{made['id']}", headers=AUTH), 404)
    assert body["error"] == "no_audio" and "privacy" in body["message"]
    data = place_audio(app, made["id"])
    response = client.get(f"/recordingfiles/{made['id']}", headers=AUTH)
    assert response.status_code == 200 and response.data == data


def test_recording_without_url_yet_is_404_with_a_reason(tmp_path):
    """An entry whose record callback has not come (no URL, no copy) gets 404 JSON with a reason."""
    app = make_app(tmp_path)
    entry_id = webhook_call_only(app.test_client())
    body = error_of(app.test_client().get(f"/recordingfiles/{entry_id}", headers=AUTH), 404)
    assert body["error"] == "no_audio" and "URL" in body["message"]


def test_deleted_recording_audio_is_404(tmp_path):
    """After DELETE /recordingfiles gets 404, even for a file placed there afterwards and with no redirect."""
    app = make_app(tmp_path)
    client = app.test_client()
    made = webhook_recording(client)
    place_audio(app, made["id"])
    assert client.delete(f"/recordings/{made['id']}", headers=AUTH).status_code == 200
    body = error_of(client.get(f"/recordingfiles/{made['id']}", headers=AUTH), 404)
    assert "deleted" in body["message"]
    place_audio(app, made["id"])
    error_of(client.get(f"/recordingfiles/{made['id']}", headers={**AUTH, "Range": "bytes=0-9"}), 404)


def test_unknown_recording_audio_is_404(tmp_path):
    """/recordingfiles of an unknown UUID gets 404 JSON."""
    app = make_app(tmp_path)
    body = error_of(app.test_client().get(f"/recordingfiles/{uuid.uuid4()}", headers=AUTH), 404)
    assert body["error"] == "not_found"


# --- /openapi.json -----------------------------------------------------------------------


def test_openapi_document_structure(tmp_path):
    """/openapi.json is an OpenAPI 3 document with the three paths, their operations, the schemas and a bearer scheme."""
    response = make_app(tmp_path).test_client().get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.0")
    assert document["info"]["title"] and document["info"]["version"]
    paths = document["paths"]
    assert set(paths) == {"/recordings", "/recordings/{entry_id}", "/recordingfiles/{entry_id}"}
    assert set(paths["/recordings"]) == {"get"}
    assert set(paths["/recordings/{entry_id}"]) == {"get", "delete"}
    assert set(paths["/recordingfiles/{entry_id}"]) == {"get"}
    schemas = document["components"]["schemas"]
    assert {"RecordingSchema", "ErrorSchema", "RecordingPageSchema"} <= set(schemas)
    assert set(schemas["ErrorSchema"]["required"]) == {"error", "message"}
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    listed_parameters = {p["name"] for p in paths["/recordings"]["get"]["parameters"] if p["in"] == "query"}
    assert listed_parameters == {*FILTER_NAMES, "since", "until", "page_size", "page_token", "deleted"}
    page_size = next(p for p in paths["/recordings"]["get"]["parameters"] if p["name"] == "page_size")
    assert (page_size["schema"]["default"], page_size["schema"]["minimum"],
            page_size["schema"]["maximum"]) == (50, 1, 1000)
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation["security"] == [{"bearer": []}], (method, path)
            assert "401" in operation["responses"] and "503" in operation["responses"]
            for parameter in operation["parameters"]:
                if parameter["in"] == "path":
                    assert "{" + parameter["name"] + "}" in path and parameter["required"] is True
    assert paths["/recordings"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RecordingPageSchema"}
    assert set(paths["/recordingfiles/{entry_id}"]["get"]["responses"]) >= {"200", "206", "307", "404", "416"}
    assert "audio/wav" in paths["/recordingfiles/{entry_id}"]["get"]["responses"]["200"]["content"]
    # every $ref resolves
    refs = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            refs.update(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert refs and all(ref.rsplit("/", 1)[1] in schemas for ref in refs)


def test_recording_schema_fields_equal_a_real_response(tmp_path):
    """Every field RecordingSchema lists is in a GET /recordings/{id} answer and every answered field is listed."""
    app = make_app(tmp_path)
    client = app.test_client()
    made = webhook_recording(client)
    with app.extensions["store"].recordings.atomic() as changes:
        entry = changes.get(made["id"])
        entry["freeclimb_deleted"] = True  # the one optional field, as a FreeClimb delete leaves it
        changes.save(entry)
    plain = webhook_recording(client)
    schema = client.get("/openapi.json").get_json()["components"]["schemas"]["RecordingSchema"]
    full = client.get(f"/recordings/{made['id']}", headers=AUTH).get_json()
    assert set(full) == set(schema["properties"])
    assert set(client.get(f"/recordings/{plain['id']}", headers=AUTH).get_json()) == set(schema["required"])
    assert set(schema["properties"]) - set(schema["required"]) == {"freeclimb_deleted"}


# --- property-based: schemathesis against the OpenAPI document ----------------------------


def _fuzzed_app() -> tuple[Flask, dict[str, list[str]], str]:
    """One app for the schemathesis run (built at import: schemathesis reads its document then),
    seeded with entries of every kind; their ids by kind, and its data directory."""
    directory = tempfile.mkdtemp(prefix="test-api-fuzz-")
    # every setting given, so nothing from the shell running pytest (FreeClimb credentials, a
    # token, a proxy list) reaches this app: DELETE must not talk to any FreeClimb
    app = create_app({"TESTING": True, "DATA_DIR": directory, "FREECLIMB_SIGNING_SECRET": SECRET,
                      "API_TOKEN": TOKEN, "MIRROR_AUDIO": "false", "FREECLIMB_ACCOUNT_ID": "",
                      "FREECLIMB_API_KEY": "", "FREECLIMB_API_URL": "", "PUBLIC_BASE_URL": "",
                      "FLOWS_PATH": "", "TRUSTED_PROXIES": "", "RETENTION_DAYS": ""})
    url = f"https://www.freeclimb.com/apiserver/Accounts/{ACCOUNT_ID}/Recordings/{freeclimb_id('RE')}/Download"
    entries = seed(
        app,
        *({"status": "ended", "recording_id": freeclimb_id("RE"), "call_id": freeclimb_id("CA"),
           "from": "+13125550100", "recording_size": 2044} for _ in range(8)),
        {"status": "ended", "privacy_mode": True, "recording_id": freeclimb_id("RE")},
        {"status": "ended", "recording_url": url, "recording_id": freeclimb_id("RE")},
        {"status": "ended", "recording_url": f"/Accounts/{ACCOUNT_ID}/Recordings/RE1/Download"},
        {"status": "recording", "tm_delete": "2026-01-01 00:00:00.000000"},
    )
    ids = [e["id"] for e in entries]
    for entry_id in [*ids[4:8], ids[8]]:
        place_audio(app, entry_id)
    return app, {"delete": ids[:4], "read": ids[4:]}, directory


FUZZED_APP, FUZZED_IDS, _FUZZED_DIRECTORY = _fuzzed_app()
schema_under_test = schemathesis.openapi.from_wsgi("/openapi.json", FUZZED_APP)


@pytest.fixture(scope="module", autouse=True)
def _remove_fuzzed_app_directory() -> Iterator[None]:
    yield
    FUZZED_APP.extensions["store"].documents.close()
    shutil.rmtree(_FUZZED_DIRECTORY, ignore_errors=True)


@schema_under_test.parametrize()
@schema_under_test.given(data=st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case, data):
    """Generated requests to every operation, with the token, never get a 5xx and get answers the document describes."""
    ids = FUZZED_IDS
    if "entry_id" in (case.path_parameters or {}) and data.draw(st.booleans(), label="a stored id"):
        pool = ids["delete"] if case.method.upper() == "DELETE" else ids["read"] + ids["delete"]
        case.path_parameters = {**case.path_parameters, "entry_id": data.draw(st.sampled_from(pool))}
    # positive_data_acceptance stays out: a pattern cannot say which dates exist (2026-02-31)
    # nor which page tokens this API gave, so some values the document allows get 400.
    case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance],
                           buffered=True)  # closes the audio files send_file opens


# --- property-based: filters and pages against a plain Python filter -----------------------

HOURS = [f"2026-08-0{day} {hour:02d}:00:00.000000" for day in (1, 2) for hour in (9, 12)]
FILTER_VALUES = {
    "status": STATUSES,
    "reference_type": ("call", "confbridge"),
    "reference_id": (U[0], U[1]),
    "call_id": ("CA-one", "CA-two"),
    "owner_type": ("", "agent"),
    "owner_id": (U[2], U[3]),
    "activeflow_id": (U[4], U[5]),
    "customer_id": (U[6], U[7]),
}


def _as_query_time(stored: str, style: str) -> str:
    """A stored time written as a client may: stored style, ISO 8601 with Z, +00:00 or -03:00."""
    moment = datetime.strptime(stored, TIME_FORMAT).replace(tzinfo=UTC)
    if style == "stored":
        return stored
    if style == "z":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if style == "utc":
        return moment.isoformat()
    return moment.astimezone(timezone(timedelta(hours=-3))).isoformat()


entry_values = st.fixed_dictionaries(
    {**{name: st.sampled_from(values) for name, values in FILTER_VALUES.items()},
     "call_id": st.sampled_from([*FILTER_VALUES["call_id"], None])},  # None: no call reported
    optional={"deleted": st.just(True)},
)
_TIME_STYLES = st.sampled_from(["stored", "z", "utc", "offset"])
query_values = st.tuples(
    # up to three filters at once, so that many queries still match something
    st.lists(st.sampled_from(FILTER_NAMES), max_size=3, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({name: st.sampled_from(FILTER_VALUES[name]) for name in names})),
    st.fixed_dictionaries(
        {"page_size": st.integers(1, 6)},
        optional={"since": st.tuples(st.sampled_from(HOURS), _TIME_STYLES),
                  "until": st.tuples(st.sampled_from(HOURS), _TIME_STYLES),
                  "deleted": st.booleans()}),
).map(lambda parts: {**parts[0], **parts[1]})


@given(entries=st.lists(st.tuples(entry_values, st.sampled_from(HOURS)), min_size=4, max_size=24),
       query=query_values)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_filter_combination_pages_through_exactly_the_matching_entries(entries, query):
    """Any valid filters, window and page size return only matching entries, and all pages together equal a Python filter of them, newest first."""
    entries = sorted(entries, key=lambda pair: pair[1])  # created in time order
    with tempfile.TemporaryDirectory() as directory:
        app = make_app(Path(directory))
        try:
            check_filtered_walk(app, entries, query)
        finally:
            app.extensions["store"].documents.close()


def check_filtered_walk(app: Flask, entries: list[tuple[dict[str, Any], str]], query: dict[str, Any]) -> None:
    """Seed the entries, then compare a walk through the query's pages with a Python filter."""
    stored = seed(app, *({**{k: v for k, v in fields.items() if k != "deleted"}, "tm_create": hour,
                          "tm_delete": "2026-09-01 00:00:00.000000" if fields.get("deleted") else NOT_YET}
                         for fields, hour in entries))
    since, until = query.get("since"), query.get("until")
    include_deleted = query.get("deleted", False)
    filters = {k: v for k, v in query.items() if k in FILTER_VALUES}
    expected = [e["id"] for e in reversed(stored)
                if all(e[k] == v for k, v in filters.items())
                and (since is None or e["tm_create"] >= since[0])
                and (until is None or e["tm_create"] <= until[0])
                and (include_deleted or e["tm_delete"] == NOT_YET)]
    request = {**filters, "page_size": query["page_size"]}
    if since:
        request["since"] = _as_query_time(*since)
    if until:
        request["until"] = _as_query_time(*until)
    if "deleted" in query:
        request["deleted"] = "true" if include_deleted else "false"
    client = app.test_client()
    ids, sizes = walk(client, request)
    assert ids == expected
    assert all(size == query["page_size"] for size in sizes[:-1])
    assert sizes[-1] <= query["page_size"] and (sizes[-1] > 0 or ids == [])
    for entry in listed(client, request)["recordings"]:
        assert all(entry[k] == v for k, v in filters.items())
        assert since is None or entry["tm_create"] >= since[0]
        assert until is None or entry["tm_create"] <= until[0]
