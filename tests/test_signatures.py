"""The ``FreeClimb-Signature`` check: the verifier on its own, then on every webhook route."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import pytest

from app import create_app
from handlers.signatures import HEADER, SignatureError, parse_header, sign, verify
from tests.freeclimb import (
    SECRET,
    call_status,
    encode,
    freeclimb_id,
    inbound_call,
    path_of,
    post,
    record,
    signed_headers,
)

NOW = 1_700_000_000
TOLERANCE = 300
BODY = json.dumps(inbound_call("CA" + "a" * 40)).encode()
OTHER_SECRET = "whsec-other-9876543210"
PHONE_NUMBERS = ("+13125550100", "+13125550199", "13125550100", "13125550199")


def digest(body: bytes, secret: str, t: int) -> str:
    """HMAC-SHA256 of ``f"{t}.{body}"`` as REFERENCE.md defines it, computed independently."""
    return hmac.new(secret.encode("utf-8"), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def reason_of(header: str | None, body: bytes = BODY, secrets: tuple[str, ...] = (SECRET,),
              tolerance_s: int = TOLERANCE, now: float = NOW) -> str:
    with pytest.raises(SignatureError) as caught:
        verify(header, body, secrets, tolerance_s, now=now)
    return caught.value.reason


# --- sign and parse_header ----------------------------------------------------------------


def test_sign_makes_the_documented_header():
    """sign() gives `t=<seconds>,v1=<lowercase hex HMAC-SHA256 of "t.body">`."""
    assert sign(BODY, SECRET, NOW) == f"t={NOW},v1={digest(BODY, SECRET, NOW)}"


def test_parse_header_reads_timestamp_and_every_v1():
    """parse_header returns t as an int and every v1 in order."""
    first, second = digest(BODY, SECRET, NOW), digest(BODY, OTHER_SECRET, NOW)
    assert parse_header(f"t={NOW},v1={first},v1={second}") == (NOW, [first, second])


def test_parse_header_tolerates_spaces_and_ignores_other_schemes():
    """Spaces around parts, keys and values are ignored, and so are v0 parts."""
    v1 = digest(BODY, SECRET, NOW)
    assert parse_header(f"  t = {NOW} ,  v0=anything , v1 = {v1}  ") == (NOW, [v1])


# --- verify: passing ----------------------------------------------------------------------


@pytest.mark.parametrize("header", [
    pytest.param(f"t={NOW},v1={digest(BODY, SECRET, NOW)}", id="plain"),
    pytest.param(f" t={NOW} , v1={digest(BODY, SECRET, NOW)} ", id="spaces-around-parts"),
    pytest.param(f"t = {NOW},v1 = {digest(BODY, SECRET, NOW)}", id="spaces-around-equals"),
    pytest.param(f"t={NOW},v0=deadbeef,v1={digest(BODY, SECRET, NOW)}", id="unknown-v0-ignored"),
    pytest.param(f"t={NOW},v1={digest(BODY, SECRET, NOW)},v9=future", id="unknown-v9-ignored"),
    pytest.param(f"v1={digest(BODY, SECRET, NOW)},t={NOW}", id="t-after-v1"),
    pytest.param(f"t={NOW},v1={'0' * 64},v1={digest(BODY, SECRET, NOW)}", id="second-of-two-v1"),
    pytest.param(f"t={NOW},v1={digest(BODY, SECRET, NOW)},v1={'f' * 64}", id="first-of-two-v1"),
    pytest.param(f"t={NOW},v1={digest(BODY, 'old', NOW)},v1={digest(BODY, 'x', NOW)},"
                 f"v1={digest(BODY, SECRET, NOW)}", id="third-of-three-v1"),
])
def test_verify_accepts_a_good_signature(header):
    """A header with a v1 matching the body, the secret and a current t passes."""
    verify(header, BODY, [SECRET], TOLERANCE, now=NOW)


@pytest.mark.parametrize("secrets", [
    pytest.param((OTHER_SECRET, SECRET), id="second-of-two"),
    pytest.param((SECRET, OTHER_SECRET), id="first-of-two"),
    pytest.param(("a", "b", SECRET, "c"), id="third-of-four"),
])
def test_verify_accepts_any_configured_secret(secrets):
    """During rotation a signature made with any one of the configured secrets passes."""
    verify(sign(BODY, SECRET, NOW), BODY, secrets, TOLERANCE, now=NOW)


@pytest.mark.parametrize("age", [0, 1, TOLERANCE - 1, TOLERANCE, -1, -TOLERANCE])
def test_verify_accepts_timestamps_within_the_tolerance(age):
    """A t at most the tolerance away from now, either way, passes, the boundary included."""
    verify(sign(BODY, SECRET, NOW - age), BODY, [SECRET], TOLERANCE, now=NOW)


def test_verify_accepts_fractional_now_at_the_boundary():
    """A now with a fraction exactly the tolerance past t still passes."""
    verify(sign(BODY, SECRET, NOW), BODY, [SECRET], TOLERANCE, now=NOW + TOLERANCE + 0.0)


# --- verify: failing, one reason each -----------------------------------------------------


@pytest.mark.parametrize("header", [None, "", "   ", "\t"], ids=["none", "empty", "spaces", "tab"])
def test_verify_without_a_header_is_missing(header):
    """No header, or a blank one, fails with reason "missing"."""
    assert reason_of(header) == "missing"


GOOD_V1 = digest(BODY, SECRET, NOW)


@pytest.mark.parametrize("header", [
    pytest.param(f"v1={GOOD_V1}", id="no-t"),
    pytest.param(f"t=,v1={GOOD_V1}", id="empty-t"),
    pytest.param(f"t=abc,v1={GOOD_V1}", id="non-numeric-t"),
    pytest.param(f"t={NOW}.5,v1={GOOD_V1}", id="fractional-t"),
    pytest.param(f"t=-{NOW},v1={GOOD_V1}", id="negative-t"),
    pytest.param(f"t=0x10,v1={GOOD_V1}", id="hex-t"),
    pytest.param(f"t={NOW},t={NOW},v1={GOOD_V1}", id="two-t-same"),
    pytest.param(f"t={NOW},t={NOW + 1},v1={GOOD_V1}", id="two-t-different"),
    pytest.param(f"t={NOW}", id="no-v1"),
    pytest.param(f"t={NOW},v0={GOOD_V1}", id="only-v0"),
    pytest.param(f"t={NOW},v1=", id="empty-v1"),
    pytest.param(f"t={NOW},v1={'g' * 64}", id="non-hex-v1"),
    pytest.param(f"t={NOW},v1={GOOD_V1[:-1]}", id="short-v1"),
    pytest.param(f"t={NOW},v1={GOOD_V1}0", id="long-v1"),
    pytest.param(f"t={NOW},v1={GOOD_V1},v1=nothex", id="one-bad-v1-among-good"),
    pytest.param(f"t={NOW},v1={GOOD_V1},garbage", id="part-without-equals"),
    pytest.param(f"t={NOW};v1={GOOD_V1}", id="semicolon-separated"),
    pytest.param(f"t={NOW},,v1={GOOD_V1}", id="empty-part"),
    pytest.param(f"t={NOW},v1={GOOD_V1},", id="trailing-comma"),
    pytest.param(GOOD_V1, id="bare-hex"),
])
def test_verify_of_an_unreadable_header_is_malformed(header):
    """A header that cannot be read as t=...,v1=... fails with reason "malformed"."""
    assert reason_of(header) == "malformed"


@pytest.mark.parametrize("header", [f"t=abc,v1={GOOD_V1}", f"t={NOW}", f"t={NOW},garbage"])
def test_parse_header_refuses_malformed_headers(header):
    """parse_header itself raises SignatureError("malformed") with a message."""
    with pytest.raises(SignatureError) as caught:
        parse_header(header)
    assert caught.value.reason == "malformed"
    assert caught.value.message


@pytest.mark.parametrize("age", [
    pytest.param(TOLERANCE + 1, id="one-past"),
    pytest.param(3600, id="an-hour-old"),
    pytest.param(2 * 86400, id="two-days-old"),
    pytest.param(NOW, id="epoch"),
    pytest.param(-(TOLERANCE + 1), id="one-past-in-future"),
    pytest.param(-10 * 86400, id="ten-days-in-future"),
])
def test_verify_of_a_timestamp_outside_the_tolerance_is_stale(age):
    """A correctly signed t more than the tolerance from now, either way, fails as "stale"."""
    assert reason_of(sign(BODY, SECRET, NOW - age)) == "stale"


def test_verify_stale_just_past_a_fractional_boundary():
    """A now a fraction of a second past the tolerance already fails."""
    assert reason_of(sign(BODY, SECRET, NOW), now=NOW + TOLERANCE + 0.5) == "stale"


def test_verify_uses_the_given_tolerance():
    """The tolerance is the caller's: 20 s old fails with 10 s, passes with 30 s."""
    header = sign(BODY, SECRET, NOW - 20)
    assert reason_of(header, tolerance_s=10) == "stale"
    verify(header, BODY, [SECRET], 30, now=NOW)


def test_verify_stale_is_judged_before_the_signature():
    """A stale t fails as stale even when the v1 is also wrong."""
    assert reason_of(sign(BODY, OTHER_SECRET, NOW - 10_000)) == "stale"


def reserialised(body: bytes) -> bytes:
    """The same JSON data with different bytes (no spaces)."""
    return json.dumps(json.loads(body), separators=(",", ":")).encode()


def one_byte_changed(body: bytes) -> bytes:
    """The body with its last significant byte changed."""
    return body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]


@pytest.mark.parametrize("header, body, secrets", [
    pytest.param(sign(BODY, OTHER_SECRET, NOW), BODY, (SECRET,), id="wrong-secret"),
    pytest.param(sign(BODY, SECRET, NOW), BODY, (OTHER_SECRET, "third"), id="secret-not-configured"),
    pytest.param(sign(BODY, SECRET, NOW), one_byte_changed(BODY), (SECRET,), id="one-byte-changed"),
    pytest.param(sign(BODY, SECRET, NOW), BODY + b" ", (SECRET,), id="trailing-space-added"),
    pytest.param(sign(BODY, SECRET, NOW), BODY[:-1], (SECRET,), id="truncated"),
    pytest.param(sign(BODY, SECRET, NOW), b"", (SECRET,), id="empty-body"),
    pytest.param(f"t={NOW + 1},v1={GOOD_V1}", BODY, (SECRET,), id="t-changed"),
    pytest.param(f"t={NOW},v1={'0' * 64}", BODY, (SECRET,), id="zero-v1"),
    pytest.param(f"t={NOW},v1={digest(BODY, SECRET, NOW + 1)},v1={'a' * 64}", BODY, (SECRET,),
                 id="several-v1-none-matching"),
    pytest.param(f"t={NOW},v0={GOOD_V1},v1={'a' * 64}", BODY, (SECRET,), id="only-v0-matches"),
    pytest.param(sign(BODY, SECRET.upper(), NOW), BODY, (SECRET,), id="secret-case-differs"),
    pytest.param(sign(BODY, SECRET, NOW), BODY, (), id="no-secrets"),
])
def test_verify_of_a_wrong_signature_is_mismatch(header, body, secrets):
    """A readable, current header whose v1 does not sign these exact bytes fails as "mismatch"."""
    assert reason_of(header, body=body, secrets=secrets) == "mismatch"


def test_verify_of_reserialised_json_is_mismatch():
    """The same JSON data serialised to other bytes does not verify: the raw bytes are signed."""
    other = reserialised(BODY)
    assert json.loads(other) == json.loads(BODY) and other != BODY
    assert reason_of(sign(BODY, SECRET, NOW), body=other) == "mismatch"


def test_verify_signs_the_secret_as_utf8():
    """A non-ASCII secret is keyed by its UTF-8 bytes."""
    secret = "sécret-ünïcode"
    verify(f"t={NOW},v1={digest(BODY, secret, NOW)}", BODY, [secret], TOLERANCE, now=NOW)


def test_verify_compares_with_compare_digest(monkeypatch):
    """Every candidate is compared with hmac.compare_digest, not ==."""
    seen: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    wrong = "0" * 64
    verify(f"t={NOW},v1={wrong},v1={GOOD_V1}", BODY, [OTHER_SECRET, SECRET], TOLERANCE, now=NOW)
    assert {b for _, b in seen} == {wrong, GOOD_V1}
    assert (GOOD_V1, GOOD_V1) in seen


def test_verify_defaults_now_to_the_clock():
    """Without `now` the current time is used: a fresh signature passes, an old one is stale."""
    verify(sign(BODY, SECRET, int(time.time())), BODY, [SECRET], TOLERANCE)
    with pytest.raises(SignatureError) as caught:
        verify(sign(BODY, SECRET, int(time.time()) - 3600), BODY, [SECRET], TOLERANCE)
    assert caught.value.reason == "stale"


# --- through HTTP ---------------------------------------------------------------------------


@pytest.fixture
def open_call(client):
    """An inbound call answered with a RecordUtterance: (call id, path of its record URL)."""
    done = freeclimb_id("CA")
    answer = post(client, "/freeclimb/voice", inbound_call(done)).get_json()
    done_path = path_of(answer[1]["RecordUtterance"]["actionUrl"])
    assert post(client, done_path, record(done, freeclimb_id("RE"))).status_code == 200
    call_id = freeclimb_id("CA")
    response = post(client, "/freeclimb/voice", inbound_call(call_id))
    assert response.status_code == 200
    return call_id, path_of(response.get_json()[1]["RecordUtterance"]["actionUrl"])


def webhook_for(route: str, open_call: tuple[str, str]) -> tuple[str, dict]:
    """A path and a body for the route that would change stored data if it were accepted."""
    call_id, record_path = open_call
    if route == "voice":
        return "/freeclimb/voice", inbound_call(freeclimb_id("CA"))
    if route == "status":
        return "/freeclimb/status", call_status(call_id)
    return record_path, record(call_id, freeclimb_id("RE"))


def bad_headers(case: str, raw: bytes, content_type: str) -> dict[str, str]:
    now = int(time.time())
    headers = {"Content-Type": content_type}
    if case == "missing":
        return headers
    header = {
        "empty": "",
        "malformed-t": f"t=soon,v1={digest(raw, SECRET, now)}",
        "malformed-no-v1": f"t={now}",
        "malformed-part": f"t={now},v1={digest(raw, SECRET, now)},oops",
        "stale-past": sign(raw, SECRET, now - 301),
        "stale-future": sign(raw, SECRET, now + 301),
        "stale-days": sign(raw, SECRET, now - 2 * 86400),
        "mismatch-secret": sign(raw, OTHER_SECRET, now),
        "mismatch-body": sign(one_byte_changed(raw), SECRET, now),
        "mismatch-reserialised": sign(reserialised(raw), SECRET, now),
    }[case]
    return {**headers, HEADER: header}


CASES = {
    "missing": "missing", "empty": "missing",
    "malformed-t": "malformed", "malformed-no-v1": "malformed", "malformed-part": "malformed",
    "stale-past": "stale", "stale-future": "stale", "stale-days": "stale",
    "mismatch-secret": "mismatch", "mismatch-body": "mismatch", "mismatch-reserialised": "mismatch",
}


@pytest.mark.parametrize("route", ["voice", "status", "record"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_signature_is_refused_with_401(client, recordings, open_call, caplog, route, case):
    """Every webhook route answers a bad signature 401 with its reason, logs it, stores nothing."""
    path, body = webhook_for(route, open_call)
    raw, content_type = encode(body)
    before = recordings.all()
    caplog.set_level(logging.DEBUG)

    response = client.post(path, data=raw, headers=bad_headers(case, raw, content_type))

    assert response.status_code == 401
    assert response.mimetype == "application/json"
    answer = response.get_json()
    assert answer["reason"] == CASES[case]
    assert answer["error"] == "invalid_signature"
    assert answer["message"]
    assert recordings.all() == before
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(CASES[case] in r.getMessage() for r in warnings)
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert raw.decode() not in logged
    assert body["callId"] not in logged
    for number in PHONE_NUMBERS:
        assert number not in logged


@pytest.mark.parametrize("route", ["voice", "status", "record"])
@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_a_good_signature_passes_on_every_route(client, recordings, open_call, route, form):
    """A webhook signed over its exact bytes is accepted on every route, JSON or form."""
    path, body = webhook_for(route, open_call)
    raw, content_type = encode(body, form)
    response = client.post(path, data=raw, headers=signed_headers(raw, content_type))
    assert response.status_code in (200, 204)


@pytest.mark.parametrize("route", ["voice", "status", "record"])
def test_the_signature_is_checked_before_the_body_is_read(client, recordings, open_call, route):
    """An unsigned request with an unreadable body gets 401, not a body error."""
    path, _ = webhook_for(route, open_call)
    before = recordings.all()
    response = client.post(path, data=b"{not json", headers={"Content-Type": "text/plain"})
    assert response.status_code == 401
    assert response.get_json()["reason"] == "missing"
    assert recordings.all() == before


def test_a_signature_over_other_bytes_of_the_same_json_is_refused(client, recordings, open_call):
    """The check is on the raw bytes received: the same data serialised differently fails."""
    path, body = webhook_for("voice", open_call)
    compact = json.dumps(body, separators=(",", ":")).encode()
    spaced = json.dumps(body, indent=2).encode()
    before = recordings.all()
    response = client.post(path, data=spaced, headers=signed_headers(compact, "application/json"))
    assert response.status_code == 401
    assert response.get_json()["reason"] == "mismatch"
    assert recordings.all() == before
    response = client.post(path, data=spaced, headers=signed_headers(spaced, "application/json"))
    assert response.status_code == 200


@pytest.fixture
def clean_env(monkeypatch):
    """No signature settings inherited from the environment."""
    monkeypatch.delenv("FREECLIMB_SIGNING_SECRET", raising=False)
    monkeypatch.delenv("SIGNATURE_TOLERANCE_S", raising=False)


def make_app(tmp_path, **config):
    return create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"),
                       "PUBLIC_BASE_URL": "https://voice.example.com", **config})


def test_without_a_secret_the_app_starts_and_warns(tmp_path, clean_env, caplog):
    """With no secret the app starts, logs a WARNING that webhooks are not verified."""
    caplog.set_level(logging.DEBUG)
    make_app(tmp_path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("FREECLIMB_SIGNING_SECRET" in m and "NOT verified" in m for m in warnings)


def test_with_a_secret_the_app_does_not_warn_at_start(tmp_path, clean_env, caplog):
    """With a secret configured no verification warning is logged at start."""
    caplog.set_level(logging.DEBUG)
    make_app(tmp_path, FREECLIMB_SIGNING_SECRET=SECRET)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_without_a_secret_healthz_says_webhooks_are_not_verified(tmp_path, clean_env):
    """/healthz reports signature_verification false with a warning when no secret is set."""
    body = make_app(tmp_path).test_client().get("/healthz").get_json()
    assert body["signature_verification"] is False
    assert "not verified" in body["warning"]


def test_with_a_secret_healthz_says_webhooks_are_verified(client):
    """/healthz reports signature_verification true and no warning when a secret is set."""
    body = client.get("/healthz").get_json()
    assert body["signature_verification"] is True
    assert "warning" not in body


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="unsigned"),
    pytest.param({HEADER: "t=garbage"}, id="garbage-header"),
])
def test_without_a_secret_webhooks_are_accepted_unchecked(tmp_path, clean_env, headers):
    """With no secret an unsigned webhook is handled normally."""
    app = make_app(tmp_path)
    raw, content_type = encode(inbound_call(freeclimb_id("CA")))
    response = app.test_client().post("/freeclimb/voice", data=raw,
                                      headers={"Content-Type": content_type, **headers})
    assert response.status_code == 200
    assert app.extensions["store"].recordings.count() == 1


@pytest.mark.parametrize("age, status", [(20, 401), (-20, 401), (5, 200), (-5, 200)])
def test_signature_tolerance_is_configurable(tmp_path, clean_env, age, status):
    """SIGNATURE_TOLERANCE_S=10 refuses a signature 20 s off as stale and accepts 5 s off."""
    app = make_app(tmp_path, FREECLIMB_SIGNING_SECRET=SECRET, SIGNATURE_TOLERANCE_S="10")
    raw, content_type = encode(inbound_call(freeclimb_id("CA")))
    response = app.test_client().post(
        "/freeclimb/voice", data=raw,
        headers=signed_headers(raw, content_type, at=int(time.time()) - age))
    assert response.status_code == status
    if status == 401:
        assert response.get_json()["reason"] == "stale"


@pytest.mark.parametrize("age, status", [(290, 200), (-290, 200), (310, 401), (-310, 401)])
def test_signature_tolerance_defaults_to_300_seconds(tmp_path, clean_env, age, status):
    """Without SIGNATURE_TOLERANCE_S a signature 290 s off passes and 310 s off fails."""
    app = make_app(tmp_path, FREECLIMB_SIGNING_SECRET=SECRET)
    raw, content_type = encode(inbound_call(freeclimb_id("CA")))
    response = app.test_client().post(
        "/freeclimb/voice", data=raw,
        headers=signed_headers(raw, content_type, at=int(time.time()) - age))
    assert response.status_code == status


@pytest.mark.parametrize("secret, status", [
    ("old-secret", 200), ("new-secret", 200), ("third-secret", 200),
    (SECRET, 401), ("", 401), (" new-secret", 401),
])
def test_several_comma_separated_secrets_with_spaces(tmp_path, clean_env, secret, status):
    """FREECLIMB_SIGNING_SECRET=" old , new ,third," accepts each secret, stripped, and no other."""
    app = make_app(tmp_path,
                   FREECLIMB_SIGNING_SECRET=" old-secret , new-secret ,third-secret,")
    raw, content_type = encode(inbound_call(freeclimb_id("CA")))
    response = app.test_client().post("/freeclimb/voice", data=raw,
                                      headers=signed_headers(raw, content_type, secret=secret))
    assert response.status_code == status
    if status == 401:
        assert response.get_json()["reason"] == "mismatch"


def test_several_v1_values_in_one_header_over_http(client, recordings, open_call):
    """A header carrying an old-secret v1 and a current-secret v1 is accepted."""
    raw, content_type = encode(inbound_call(freeclimb_id("CA")))
    now = int(time.time())
    header = f" t={now} , v1={digest(raw, OTHER_SECRET, now)} , v1={digest(raw, SECRET, now)} "
    response = client.post("/freeclimb/voice", data=raw,
                           headers={"Content-Type": content_type, HEADER: header})
    assert response.status_code == 200


@pytest.mark.parametrize("timestamp", ["\u00b2", "\u00b9\u00b2", "\u0663"], ids=["superscript-2", "superscript-12", "arabic-3"])
def test_a_timestamp_of_non_ascii_digits_is_malformed(timestamp):
    """Digits other than ASCII 0-9 in t make the header malformed (not a crash)."""
    with pytest.raises(SignatureError) as caught:
        parse_header(f"t={timestamp},v1={'a' * 64}")
    assert caught.value.reason == "malformed"
