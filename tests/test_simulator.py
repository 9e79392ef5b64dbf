"""The call simulator: FreeClimb's side of a call, played against an app, judged strictly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
from werkzeug.serving import make_server

from app import create_app
from handlers.simulate import (
    ENDINGS,
    ScenarioError,
    Simulator,
    load_scenario,
    scenario_from,
    unmet_expectations,
)
from percl.interpreter import CallParams, CallResult, CallSimulator, Step, Violation, wav_bytes
from tests.freeclimb import SECRET

ROOT = Path(__file__).resolve().parents[1]
FLOWS = ROOT / "flows"
SCENARIOS = sorted((FLOWS / "scenarios").glob("*.yaml"))
BASE = "http://localhost"  # the base URL a Simulator gives an app without our settings
GREETING = "You have reached Example Company"


# --- a tiny FreeClimb app: routes answering canned PerCL, every body it receives kept ----------


def fake_app(answers: dict[str, Any]) -> flask.Flask:
    """A Flask app answering each path under /freeclimb with its canned PerCL (or a callable).

    Every body it receives is kept in ``app.extensions["received"]`` as (path, JSON); the
    status URL answers 204; a path with no answer is a 404.
    """
    app = flask.Flask("fake_freeclimb")
    received: list[tuple[str, dict[str, Any]]] = []
    app.extensions["received"] = received

    @app.post("/freeclimb/<path:rest>")
    def hook(rest: str) -> Any:
        path = f"/freeclimb/{rest}"
        received.append((path, json.loads(flask.request.get_data())))
        if path == "/freeclimb/status":
            return "", 204
        if path not in answers:
            flask.abort(404)
        answer = answers[path]
        return answer() if callable(answer) else flask.jsonify(answer)

    return app


def received(app: flask.Flask, path: str | None = None) -> list[dict[str, Any]]:
    return [body for where, body in app.extensions["received"] if path is None or where == path]


def say(text: str, **extra: Any) -> dict[str, Any]:
    return {"Say": {"text": text, **extra}}


HANGUP = {"Hangup": {}}


@pytest.fixture
def simulate() -> Iterator[Callable[..., Simulator]]:
    """Simulators for any app or URL, closed (with their recording servers) at teardown."""
    made: list[Simulator] = []

    def start(**kwargs: Any) -> Simulator:
        made.append(Simulator(**kwargs))
        return made[-1]

    yield start
    for simulator in made:
        simulator.close()


def our_app(tmp_path: Path, flows: Path = FLOWS, **extra: str) -> flask.Flask:
    return create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "FLOWS_PATH": str(flows),
                       "FREECLIMB_SIGNING_SECRET": SECRET,
                       "PUBLIC_BASE_URL": "https://voice.example.com", **extra})


def write_flow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flows" / "flow.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def lines(result: CallResult) -> list[str]:
    return [event.what for event in result.timeline]


def assert_failed(result: CallResult, step: str, ended_by: str, *words: str) -> None:
    """The call failed at ``step``, ending as FreeClimb would report it, and the transcript says so."""
    assert not result.ok
    assert result.failure is not None and result.failure.startswith(f"{step}: "), result.failure
    for word in words:
        assert word in result.failure, (word, result.failure)
    assert result.ended_by == ended_by
    transcript = result.transcript()
    assert f"FAILED: {result.failure}" in transcript
    assert f"call ended: {ended_by};" in transcript


# --- 1. what the "Done when" asks the simulator to catch ---------------------------------


@pytest.mark.parametrize("percl, words", [
    ([{"Say": {}}], ["Say.text", "is required"]),
    ([HANGUP, say("too late")], ["after Hangup"]),
    ([say("twice", loop="2")], ["Say.loop", "integer"]),
    ({"Say": {"text": "not a list"}}, ["JSON array"]),
], ids=["say-without-text", "after-hangup", "loop-as-string", "not-a-list"])
def test_invalid_percl_fails_the_call_at_its_step(simulate, percl, words):
    """A first answer our parser refuses fails the call at inboundCall with appInvalidPercl."""
    app = fake_app({"/freeclimb/voice": percl})
    result = simulate(app=app).call()
    assert_failed(result, "inboundCall", "appInvalidPercl", "invalid PerCL", *words)
    assert result.heard == []


def test_invalid_percl_later_in_the_call_names_that_step(simulate):
    """Invalid PerCL from a getDigits actionUrl fails the call naming getDigits, after what was heard."""
    app = fake_app({
        "/freeclimb/voice": [{"GetDigits": {"actionUrl": f"{BASE}/freeclimb/menu",
                                            "prompts": [say("Press 1")]}}],
        "/freeclimb/menu": [HANGUP, say("after the end")],
    })
    result = simulate(app=app).call([Step("press", digits="1")])
    assert_failed(result, "getDigits", "appInvalidPercl", "after Hangup")
    assert result.heard == ["Press 1"]


def test_action_url_that_404s_fails_the_call(simulate):
    """A GetDigits whose actionUrl answers 404 fails the call at getDigits with webhookFailed."""
    app = fake_app({"/freeclimb/voice": [{"GetDigits": {"actionUrl": f"{BASE}/freeclimb/nowhere"}}]})
    result = simulate(app=app).call([Step("press", digits="4")])
    assert_failed(result, "getDigits", "webhookFailed", "HTTP 404")
    assert received(app, "/freeclimb/nowhere")[0]["digits"] == "4"


def test_relative_action_url_fails_the_call(simulate):
    """A relative actionUrl is refused at the step that handed it out, before anything is posted to it."""
    app = fake_app({"/freeclimb/voice": [say("Hello"),
                                         {"GetDigits": {"actionUrl": "/freeclimb/menu"}}]})
    result = simulate(app=app).call([Step("press", digits="1")])
    assert_failed(result, "inboundCall", "appInvalidPercl", "GetDigits.actionUrl", "absolute")
    assert [path for path, _ in app.extensions["received"]] == ["/freeclimb/voice", "/freeclimb/status"]


def test_slow_answer_breaches_the_latency_budget(simulate):
    """An answer slower than the latency budget fails the call naming the step and the budget."""
    def slow() -> Any:
        time.sleep(0.2)
        return flask.jsonify([say("Finally"), HANGUP])

    app = fake_app({"/freeclimb/voice": [{"GetDigits": {"actionUrl": f"{BASE}/freeclimb/slow"}}],
                    "/freeclimb/slow": slow})
    result = simulate(app=app).call([Step("press", digits="9")], latency_budget_s=0.05)
    assert_failed(result, "getDigits", "webhookFailed", "over the 50 ms budget")
    assert result.slowest_ms >= 200
    assert "Finally" not in result.heard


def test_answer_within_the_budget_passes(simulate):
    """The same flow answering quickly passes within the same budget."""
    app = fake_app({"/freeclimb/voice": [{"GetDigits": {"actionUrl": f"{BASE}/freeclimb/fast"}}],
                    "/freeclimb/fast": [say("Finally"), HANGUP]})
    result = simulate(app=app).call([Step("press", digits="9")], latency_budget_s=0.5)
    assert result.ok, result.transcript()
    assert result.heard == ["Finally"] and result.ended_by == "appHangup"
    assert result.transcript().endswith("PASSED")


# --- 2. HTTP status, content type, empty scripts, redirect loops -------------------------------


def test_http_500_fails_the_call(simulate):
    """An app answering 500 fails the call with webhookFailed and the status in the message."""
    app = fake_app({"/freeclimb/voice": lambda: ("boom", 500)})
    result = simulate(app=app).call()
    assert_failed(result, "inboundCall", "webhookFailed", "HTTP 500", "boom")


def test_html_answer_fails_the_call(simulate):
    """A 200 answer in text/html fails the call with webhookInvalidResponse naming the content type."""
    app = fake_app({"/freeclimb/voice": lambda: flask.Response("[]", content_type="text/html")})
    result = simulate(app=app).call()
    assert_failed(result, "inboundCall", "webhookInvalidResponse", "text/html")


def test_empty_first_script_is_app_no_percl(simulate):
    """An empty first script fails the call with appNoPercl."""
    app = fake_app({"/freeclimb/voice": []})
    result = simulate(app=app).call()
    assert_failed(result, "inboundCall", "appNoPercl", "empty script")


def test_more_than_256_redirects_is_max_redirects_error(simulate):
    """An app that redirects to itself forever is stopped after 256 redirects with maxRedirectsError."""
    app = fake_app({"/freeclimb/voice": [{"Redirect": {"actionUrl": f"{BASE}/freeclimb/voice"}}]})
    result = simulate(app=app).call()
    assert_failed(result, "redirect", "maxRedirectsError", "more than 256 redirects")
    bodies = received(app, "/freeclimb/voice")
    assert len(bodies) == 257  # the inbound call and 256 redirects
    assert [body["requestType"] for body in bodies[:2]] == ["inboundCall", "redirect"]
    assert received(app, "/freeclimb/status")[-1]["callEndedReason"] == "maxRedirectsError"


# --- 3. two targets: in process and over real HTTP --------------------------------------------


@pytest.fixture
def served_app(tmp_path) -> Iterator[tuple[str, flask.Flask]]:
    """Our app with the example flows, served over HTTP on 127.0.0.1, its PUBLIC_BASE_URL its address."""
    holder: dict[str, flask.Flask] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    holder["app"] = our_app(tmp_path, PUBLIC_BASE_URL=base)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield base, holder["app"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_scenario_in_process(simulate, tmp_path):
    """A scenario runs against our app in process, signed with the app's own secret."""
    app = our_app(tmp_path)
    run = simulate(app=app).run(load_scenario(FLOWS / "scenarios" / "departments-sales.yaml"))
    assert run.ok, run.result.transcript()
    assert run.result.ended_by == "appHangup"
    (entry,) = app.extensions["store"].recordings.all()
    assert entry["recording_id"] == run.result.recordings[0]["recordingId"]


def test_scenario_over_http(simulate, served_app):
    """A scenario runs over real HTTP against our app, which verifies every signature."""
    base, app = served_app
    simulator = simulate(base_url=base, secret=SECRET)
    run = simulator.run(load_scenario(FLOWS / "scenarios" / "departments-sales.yaml"))
    assert run.ok, run.result.transcript() + "\n" + "\n".join(run.unmet)
    assert "You have reached sales" in " ".join(run.result.heard)
    store = app.extensions["store"]
    (entry,) = store.recordings.all()
    assert entry["status"] == "ended" and entry["duration_sec"] == 20
    (activeflow,) = store.activeflows.all()
    assert activeflow["status"] == "ended" and activeflow["call_ended"] is True


def test_wrong_secret_over_http_fails_with_401(simulate, served_app):
    """Over HTTP, a wrong signing secret makes the app refuse the first webhook with 401, naming inboundCall."""
    base, app = served_app
    result = simulate(base_url=base, secret="not-the-secret").call()
    assert_failed(result, "inboundCall", "webhookFailed", "HTTP 401", "invalid_signature")
    assert app.extensions["store"].activeflows.all() == []


def test_at_cannot_move_the_clock_of_an_app_at_a_url(simulate, served_app):
    """A scenario with ``at`` run against a URL is refused with a ScenarioError naming the file and at."""
    base, _ = served_app
    scenario = load_scenario(FLOWS / "scenarios" / "front-desk-open.yaml")
    with pytest.raises(ScenarioError, match=r"front-desk-open\.yaml: at sets the clock"):
        simulate(base_url=base, secret=SECRET).run(scenario)


def test_simulator_needs_exactly_one_target():
    """A Simulator is given either an app or a base URL, not both and not neither."""
    with pytest.raises(ValueError, match="either app or base_url"):
        Simulator()
    with pytest.raises(ValueError, match="either app or base_url"):
        Simulator(app=flask.Flask("x"), base_url="http://127.0.0.1:1")


# --- 4. recordings: a real WAV on loopback, and the record callback -----------------------------


def test_record_utterance_serves_a_real_wav(simulate, tmp_path):
    """A recording is an 8 kHz 16-bit mono WAV served on loopback, and the app stores its URL and size."""
    app = our_app(tmp_path)
    result = simulate(app=app).call([Step("record", seconds=5)])
    assert result.ok and result.ended_by == "appHangup", result.transcript()
    (made,) = result.recordings
    url = made["recordingUrl"]
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["Content-Type"] == "audio/wav"
        content = response.read()
    assert len(content) == made["recordingSize"] and content == wav_bytes(5)
    with wave.open(str(_write(tmp_path / "got.wav", content)), "rb") as audio:
        assert (audio.getframerate(), audio.getsampwidth(), audio.getnchannels()) == (8000, 2, 1)
        assert audio.getnframes() == 5 * 8000
        assert audio.readframes(800) != b"\0" * 1600  # a tone, not silence
    (entry,) = app.extensions["store"].recordings.all()
    assert entry["recording_url"] == url
    assert entry["recording_id"] == made["recordingId"]
    assert str(entry["recording_size"]) == str(len(content))
    assert entry["duration_sec"] == 5 and entry["term_reason"] == "finishKey"


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_record_callback_body_as_freeclimb_sends_it(simulate):
    """The record callback carries the recordingUrl, recordingSize as a string of the byte length, and privacy."""
    app = fake_app({"/freeclimb/voice": [{"RecordUtterance": {"actionUrl": f"{BASE}/freeclimb/rec",
                                                              "playBeep": True}}],
                    "/freeclimb/rec": [say("Thanks"), HANGUP]})
    simulator = simulate(app=app)
    result = simulator.call([Step("record", seconds=2, end="timeout", privacy=True)])
    assert result.ok, result.transcript()
    (body,) = received(app, "/freeclimb/rec")
    (made,) = result.recordings
    assert body["recordingUrl"] == made["recordingUrl"]
    assert isinstance(body["recordingSize"], str)
    with urllib.request.urlopen(body["recordingUrl"], timeout=5) as response:
        assert body["recordingSize"] == str(len(response.read()))
    assert body["recordingDurationSec"] == 2 and body["termReason"] == "timeout"
    assert body["privacyMode"] is True and body["recordingFormat"] == "audio/wav"
    assert "hears a beep" in lines(result)


def test_recording_is_cut_at_max_length(simulate):
    """A caller speaking past maxLengthSec is cut there, with termReason maxLength."""
    app = fake_app({"/freeclimb/voice": [{"RecordUtterance": {"actionUrl": f"{BASE}/freeclimb/rec",
                                                              "maxLengthSec": 3}}],
                    "/freeclimb/rec": [HANGUP]})
    result = simulate(app=app).call([Step("record", seconds=10)])
    (body,) = received(app, "/freeclimb/rec")
    assert (body["recordingDurationSec"], body["termReason"]) == (3, "maxLength")
    assert result.recordings[0]["seconds"] == 3


def test_unknown_recording_is_404_on_the_recording_server(simulate):
    """The recording server answers 404 for a recording it never made."""
    simulator = simulate(app=fake_app({}))
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{simulator.recordings.base}/recordings/REnothing.wav", timeout=5)
    assert caught.value.code == 404
    caught.value.close()


# --- 5. what the caller hears and does --------------------------------------------------------


def test_pause_advances_the_simulated_clock(simulate):
    """A Pause advances the simulated clock by its length, seen on the timeline."""
    app = fake_app({"/freeclimb/voice": [say("One"), {"Pause": {"length": 1500}}, say("Two"), HANGUP]})
    result = simulate(app=app).call()
    by_what = {event.what: event.at_ms for event in result.timeline}
    assert by_what['hears "Two"'] - by_what["hears 1500 ms of silence"] == 1500
    assert by_what["hears 1500 ms of silence"] > by_what['hears "One"']
    assert result.heard == ["One", "Two"]


def test_say_language_and_loop_are_shown(simulate):
    """A Say's language and loop appear on its transcript line, and the loop repeats its time."""
    app = fake_app({"/freeclimb/voice": [say("Hola", language="es-ES", loop=3), say("Bye"), HANGUP]})
    result = simulate(app=app).call()
    hola = next(e for e in result.timeline if e.what.startswith('hears "Hola"'))
    bye = next(e for e in result.timeline if e.what.startswith('hears "Bye"'))
    assert hola.what == 'hears "Hola" [es-ES] x3'
    assert bye.at_ms - hola.at_ms == 3 * (400 + 60 * len("Hola"))
    assert 'hears "Hola" [es-ES] x3' in result.transcript()


def test_play_is_heard_as_audio(simulate):
    """A Play is heard as its audio URL, with its loop shown."""
    app = fake_app({"/freeclimb/voice": [{"Play": {"file": "https://example.com/hold.wav", "loop": 2}},
                                         HANGUP]})
    result = simulate(app=app).call()
    assert result.heard == ["<audio https://example.com/hold.wav>"]
    assert "hears audio https://example.com/hold.wav x2" in lines(result)


def test_get_digits_prompts_are_heard_before_input(simulate):
    """GetDigits prompts are heard before the caller presses, and the digits reach the actionUrl."""
    app = fake_app({
        "/freeclimb/voice": [{"GetDigits": {"actionUrl": f"{BASE}/freeclimb/menu", "maxDigits": 2,
                                            "prompts": [say("Enter your code")]}}],
        "/freeclimb/menu": [say("Got it"), HANGUP],
    })
    result = simulate(app=app).call([Step("press", digits="42")])
    what = lines(result)
    assert what.index('hears "Enter your code"') < what.index("presses 42") < what.index('hears "Got it"')
    (body,) = received(app, "/freeclimb/menu")
    assert (body["requestType"], body["digits"], body["reason"]) == ("getDigits", "42", "maxDigits")
    assert result.heard == ["Enter your code", "Got it"]


def test_silence_at_get_digits_times_out(simulate):
    """Silence at a GetDigits waits its initialTimeoutMs and posts an empty timeout."""
    app = fake_app({
        "/freeclimb/voice": [{"GetDigits": {"actionUrl": f"{BASE}/freeclimb/menu",
                                            "initialTimeoutMs": 4000}}],
        "/freeclimb/menu": [HANGUP],
    })
    result = simulate(app=app).call([Step("silence")])
    (body,) = received(app, "/freeclimb/menu")
    assert (body["digits"], body["reason"]) == ("", "timeout")
    assert next(e.at_ms for e in result.timeline if e.what == "presses nothing") == 4000


def test_get_speech_takes_a_phrase(simulate):
    """A GetSpeech takes the caller's phrase as a recognition result."""
    app = fake_app({
        "/freeclimb/voice": [{"GetSpeech": {"actionUrl": f"{BASE}/freeclimb/speech",
                                            "grammarFile": "https://example.com/menu.grxml",
                                            "prompts": [say("Say sales or support")]}}],
        "/freeclimb/speech": [HANGUP],
    })
    result = simulate(app=app).call([Step("say", text="sales please")])
    assert result.ok, result.transcript()
    what = lines(result)
    assert what.index('hears "Say sales or support"') < what.index('says "sales please"')
    (body,) = received(app, "/freeclimb/speech")
    assert (body["requestType"], body["reason"], body["recognitionResult"]) == (
        "getSpeech", "recognition", "sales please")


TRANSCRIBE_FLOW = """
flows:
  - name: survey
    actions:
      - transcribe:
          prompt: Tell us what you think.
          capture: opinion
      - say: "You said {{ opinion }}"
      - hangup:
default: survey
"""


def test_transcribe_utterance_delivers_the_transcript(simulate, tmp_path):
    """A TranscribeUtterance delivers the caller's words, which the flow captures in its variables."""
    app = our_app(tmp_path, write_flow(tmp_path, TRANSCRIBE_FLOW))
    result = simulate(app=app).call([Step("transcribe", text="great service", seconds=4)])
    assert result.ok, result.transcript()
    assert result.heard == ["Tell us what you think.", "You said great service"]
    (activeflow,) = app.extensions["store"].activeflows.all()
    assert activeflow["variables"]["opinion"] == "great service"
    assert activeflow["variables"]["transcript"] == "great service"
    assert activeflow["variables"]["recording.url"] == result.recordings[0]["recordingUrl"]


TRANSFER_FLOW = """
flows:
  - name: transfer
    actions:
      - say: Connecting you now.
      - transfer:
          to: "+13125550177"
          timeout: 20
          no_answer:
            - say: Nobody answered, goodbye.
            - hangup:
default: transfer
"""


def test_out_dial_answered_connects_the_caller(simulate, tmp_path):
    """An answered transfer connects the caller through a conference; the call ends farEndHangup."""
    app = our_app(tmp_path, write_flow(tmp_path, TRANSFER_FLOW))
    result = simulate(app=app).call([Step("answer", seconds=3, talk=7)])
    assert result.ok, result.transcript()
    assert result.ended_by == "farEndHangup"
    what = lines(result)
    assert any(line.startswith("dials +13125550177") for line in what)
    assert any(line.startswith("is connected (conference CF") for line in what)
    assert "the dialled party joins the conference" in what
    assert "Nobody answered, goodbye." not in result.heard
    (activeflow,) = app.extensions["store"].activeflows.all()
    assert activeflow["variables"]["transfer.status"] == "answered"
    connected = next(e.at_ms for e in result.timeline if e.what.startswith("is connected"))
    assert result.timeline[-1].at_ms - connected >= 7000  # the talk time


def test_out_dial_not_answered_takes_the_no_answer_branch(simulate, tmp_path):
    """An unanswered transfer continues the flow at no_answer, which the caller hears."""
    app = our_app(tmp_path, write_flow(tmp_path, TRANSFER_FLOW))
    result = simulate(app=app).call([Step("no_answer", seconds=5, status="busy")])
    assert result.ok, result.transcript()
    assert result.heard[0] == "Connecting you now."
    assert result.heard[-1] == "Nobody answered, goodbye."
    assert result.ended_by == "appHangup"
    assert not any(line.startswith("is connected") for line in lines(result))
    (activeflow,) = app.extensions["store"].activeflows.all()
    assert activeflow["variables"]["transfer.status"] == "no_answer"


def test_caller_hangs_up_during_recording(simulate):
    """A caller hanging up mid-recording still gets a record callback (termReason hangup), then callStatus farEndHangup."""
    app = fake_app({"/freeclimb/voice": [{"RecordUtterance": {"actionUrl": f"{BASE}/freeclimb/rec"}}],
                    "/freeclimb/rec": [say("never heard"), HANGUP]})
    result = simulate(app=app).call([Step("record", seconds=4, end="hangup")])
    assert result.ok and result.ended_by == "farEndHangup", result.transcript()
    assert "never heard" not in result.heard
    paths = [path for path, _ in app.extensions["received"]]
    assert paths == ["/freeclimb/voice", "/freeclimb/rec", "/freeclimb/status"]
    record, status = received(app, "/freeclimb/rec")[0], received(app, "/freeclimb/status")[0]
    assert (record["termReason"], record["callStatus"], record["recordingDurationSec"]) == (
        "hangup", "completed", 4)
    assert (status["callStatus"], status["callEndedReason"]) == ("completed", "farEndHangup")


def test_caller_hangs_up_during_voicemail_of_our_app(simulate, tmp_path):
    """Our app keeps a recording cut by the caller's hang-up and ends its activeflow."""
    app = our_app(tmp_path)
    result = simulate(app=app).call([Step("hangup")])
    assert result.ok and result.ended_by == "farEndHangup", result.transcript()
    (entry,) = app.extensions["store"].recordings.all()
    assert entry["status"] == "ended" and entry["term_reason"] == "hangup"
    (activeflow,) = app.extensions["store"].activeflows.all()
    assert activeflow["status"] == "ended"


# --- 6. the callStatus at the end -------------------------------------------------------------


@pytest.mark.parametrize("percl, caller, ending", [
    ([say("Bye"), {"Hangup": {"reason": "done"}}], [], "appHangup"),
    ([{"Reject": {"reason": "busy"}}], [], "appReject"),
    ([{"GetDigits": {"actionUrl": f"{BASE}/freeclimb/menu"}}], [Step("hangup")], "farEndHangup"),
    ([say("Nothing more")], [], "appHangup"),
], ids=["hangup", "reject", "caller-hangs-up", "script-runs-out"])
def test_call_status_reports_how_the_call_ended(simulate, percl, caller, ending):
    """The callStatus posted at the end carries the callEndedReason FreeClimb would report."""
    app = fake_app({"/freeclimb/voice": percl})
    result = simulate(app=app).call(caller)
    assert result.ok and result.ended_by == ending, result.transcript()
    (status,) = received(app, "/freeclimb/status")
    assert status["requestType"] == "callStatus"
    assert (status["callStatus"], status["callEndedReason"]) == ("completed", ending)
    assert status["callId"] == received(app, "/freeclimb/voice")[0]["callId"]
    assert app.extensions["received"][-1][0] == "/freeclimb/status"


def test_failed_call_still_posts_call_status(simulate):
    """A call failed by a violation still posts callStatus with the violation's ending."""
    app = fake_app({"/freeclimb/voice": [{"Say": {}}]})
    result = simulate(app=app).call()
    assert result.ended_by == "appInvalidPercl"
    assert received(app, "/freeclimb/status")[0]["callEndedReason"] == "appInvalidPercl"


def test_status_callback_refused_fails_the_call(simulate):
    """A status URL that does not answer 200 or 204 fails an otherwise good call naming callStatus."""
    app = fake_app({"/freeclimb/voice": [HANGUP]})
    app.add_url_rule("/freeclimb/status", "bad_status", lambda: ("nope", 503), methods=["POST"])
    result = simulate(app=app).call()
    assert not result.ok and result.ended_by == "appHangup"
    assert result.failure.startswith("callStatus: HTTP 503")


def test_call_params_reach_the_app(simulate):
    """The called and calling numbers, account and call id of CallParams are in every webhook."""
    app = fake_app({"/freeclimb/voice": [HANGUP]})
    call = CallParams(to="+13125550150", from_="+13125550123", call_id="CA" + "a" * 40)
    simulate(app=app).call(call=call)
    inbound, status = received(app)
    for body in (inbound, status):
        assert (body["to"], body["from"], body["callId"]) == ("+13125550150", "+13125550123", "CA" + "a" * 40)
        assert body["accountId"] == CallParams().account_id and body["direction"] == "inbound"


# --- 7. scenario files ------------------------------------------------------------------------


def scenario_file(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, field", [
    ("caller: []\nwhen: later\n", "unknown key 'when'"),
    ("caller: [{jump: 1}]\n", "caller[0]: unknown step 'jump'"),
    ("caller: [{press: 1}, {press: '12a'}]\n", "caller[1].press: '12a' is not keys"),
    ("caller: [{press: ''}]\n", "caller[0].press"),
    ("caller: [{record: {seconds: 5, end: whenever}}]\n", "caller[0].record.end"),
    ("caller: [{record: {seconds: -1}}]\n", "caller[0].record.seconds"),
    ("caller: [{record: {seconds: '5'}}]\n", "caller[0].record.seconds"),
    ("caller: [{answer: {talk: 3601}}]\n", "caller[0].answer.talk"),
    ("caller: [{record: {loud: true}}]\n", "caller[0].record: unknown option 'loud'"),
    ("caller: [{no_answer: {status: maybe}}]\n", "caller[0].no_answer.status"),
    ("caller: [{hangup: now}]\n", "caller[0].hangup: takes no value"),
    ("caller: [{press: '1', say: hi}]\n", "caller[0]: a step is one of"),
    ("caller: {press: '1'}\n", "caller must be a list"),
    ("expect: {heard_all: [x]}\n", "expect takes heard"),
    ("expect: {heard: hello}\n", "expect.heard must be a list"),
    ("expect: {recordings: true}\n", "expect.recordings must be a number"),
    ("expect: {ended_by: hangup}\n", "expect.ended_by must be one of"),
    ("call: {to: +13125550150}\n", "call.to must be a quoted number"),
    ("call: {number: '+13125550150'}\n", "call takes to and from"),
    ("latency_budget_ms: 0\n", "latency_budget_ms must be a positive"),
    ("at: next tuesday\n", "at must be a date and time"),
    ("at: 2026-11-25T10:00:00\n", "at needs a UTC offset"),
    ("at: '2026-11-25T10:00:00'\n", "at needs a UTC offset"),
    ("- press: '1'\n", "a scenario is a mapping"),
    ("caller: [press: '1'\n", "not valid YAML"),
])
def test_scenario_errors_name_the_file_and_field(tmp_path, text, field):
    """Every bad scenario file gives a ScenarioError naming the file and the field at fault."""
    path = scenario_file(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert field in message, message


def test_missing_scenario_file_is_a_scenario_error(tmp_path):
    """A scenario file that does not exist gives a ScenarioError naming it."""
    with pytest.raises(ScenarioError, match="missing.yaml: cannot read"):
        load_scenario(tmp_path / "missing.yaml")


def test_every_ending_is_a_valid_expectation():
    """expect.ended_by takes each of FreeClimb's endings the simulator reports."""
    for ending in ENDINGS:
        assert scenario_from({"expect": {"ended_by": ending}}, "s.yaml").expect["ended_by"] == ending


def test_scenario_from_reads_every_field():
    """A full scenario document becomes the steps, numbers, budget and clock it describes."""
    scenario = scenario_from({
        "name": "everything", "call": {"to": "+13125550150", "from": "+13125550123"},
        "caller": ["silence", {"press": 12}, {"say": "sales"}, {"record": {"seconds": 8, "end": "hangup",
                                                                          "privacy": True}},
                   {"transcribe": {"text": "hello", "seconds": 2}}, {"answer": {"seconds": 4, "talk": 9}},
                   {"no_answer": {"status": "failed"}}, {"hangup": None}],
        "expect": {"heard": ["a"], "recordings": 1}, "latency_budget_ms": 250,
        "at": "2026-11-25T10:00:00-06:00"}, "doc.yaml")
    assert scenario.name == "everything" and scenario.source == "doc.yaml"
    assert (scenario.call.to, scenario.call.from_) == ("+13125550150", "+13125550123")
    assert scenario.caller == [
        Step("silence"), Step("press", digits="12"), Step("say", text="sales"),
        Step("record", seconds=8, end="hangup", privacy=True), Step("transcribe", text="hello", seconds=2),
        Step("answer", seconds=4, talk=9), Step("no_answer", status="failed"), Step("hangup")]
    assert scenario.latency_budget_s == 0.25
    assert scenario.at is not None and scenario.at.utcoffset().total_seconds() == -6 * 3600
    assert scenario_from({}, "flows/x/plain.yaml").name == "plain"


def result_of(heard: list[str], recordings: int = 0, ended_by: str = "appHangup") -> CallResult:
    return CallResult(ok=True, failure=None, ended_by=ended_by, heard=heard,
                      recordings=[{}] * recordings, timeline=[], requests=1, slowest_ms=1.0)


def test_unmet_expectations_heard_in_order():
    """Expected phrases must be heard in order, each part of a line; out of order is unmet."""
    result = result_of(["Welcome to Example", "Press 1 for sales", "Goodbye now"])
    assert unmet_expectations(result, {"heard": ["Welcome", "sales", "Goodbye"]}) == []
    assert unmet_expectations(result, {"heard": ["Goodbye", "Welcome"]}) == [
        "expected to hear 'Welcome' (after the earlier phrases)"]
    assert unmet_expectations(result, {"heard": ["support"]}) == ["expected to hear 'support'"]
    assert unmet_expectations(result, {"heard": ["sales", "sales"]}) == [
        "expected to hear 'sales' (after the earlier phrases)"]


def test_unmet_expectations_not_heard_recordings_and_ending():
    """not_heard, the number of recordings and the ending are each reported when unmet."""
    result = result_of(["Press 1 for sales"], recordings=2, ended_by="farEndHangup")
    assert unmet_expectations(result, {"not_heard": ["support"], "recordings": 2,
                                       "ended_by": "farEndHangup"}) == []
    assert unmet_expectations(result, {"not_heard": ["sales"], "recordings": 1, "ended_by": "appHangup"}) == [
        "expected not to hear 'sales'",
        "expected 1 recording(s), made 2",
        "expected the call to end by appHangup, it ended by farEndHangup",
    ]


def test_unmet_expectation_fails_the_run_not_the_call(simulate, tmp_path):
    """A scenario whose expectation is unmet makes run.ok False while the call itself passed."""
    app = our_app(tmp_path)
    scenario = load_scenario(scenario_file(tmp_path, (
        "caller: [{record: {seconds: 3}}]\n"
        "expect: {heard: ['Press 1 for sales'], recordings: 0, ended_by: appHangup}\n")))
    run = simulate(app=app).run(scenario)
    assert run.result.ok and not run.ok
    assert run.unmet == ["expected to hear 'Press 1 for sales'", "expected 0 recording(s), made 1"]
    as_dict = run.to_dict()
    assert as_dict["unmet"] == run.unmet and as_dict["failure"] is None


def test_scenario_at_sets_the_app_clock_for_the_call(simulate, tmp_path):
    """``at`` runs our app's clock from that moment for the call, and restores it after."""
    app = our_app(tmp_path)
    engine = app.extensions["flow_engine"]
    before = engine.clock
    simulator = simulate(app=app)
    closed = simulator.run(load_scenario(FLOWS / "scenarios" / "front-desk-closed.yaml"))
    opened = simulator.run(load_scenario(FLOWS / "scenarios" / "front-desk-open.yaml"))
    assert closed.ok and opened.ok, closed.unmet + opened.unmet
    assert engine.clock is before
    created = sorted(a["tm_create"] for a in app.extensions["store"].activeflows.all())
    assert created[0].startswith("2026-11-25 16:00") and created[1].startswith("2026-11-28 16:00")


# --- 8. the caller's script against the app ------------------------------------------------------


def test_step_that_does_not_fit_the_point_fails(simulate, tmp_path):
    """A press while a RecordUtterance waits fails the call naming both the point and the step."""
    app = our_app(tmp_path)
    result = simulate(app=app).call([Step("press", digits="1")])
    assert not result.ok
    assert result.failure.startswith("RecordUtterance: the caller's next step is press")
    assert "record" in result.failure and "hangup" in result.failure
    assert result.ended_by == "farEndHangup"
    assert "FAILED RecordUtterance: " in "\n".join(lines(result))


def test_script_that_runs_out_hangs_up(simulate):
    """A caller whose script runs out hangs up at the next point the call waits."""
    app = fake_app({
        "/freeclimb/voice": [{"GetDigits": {"actionUrl": f"{BASE}/freeclimb/one"}}],
        "/freeclimb/one": [{"GetDigits": {"actionUrl": f"{BASE}/freeclimb/two"}}],
    })
    result = simulate(app=app).call([Step("press", digits="5")])
    assert result.ok and result.ended_by == "farEndHangup", result.transcript()
    assert lines(result)[-2] == "hangs up"
    assert lines(result)[-1].startswith("POST /freeclimb/status (callStatus) -> 204")
    assert [p for p, _ in app.extensions["received"]] == ["/freeclimb/voice", "/freeclimb/one",
                                                          "/freeclimb/status"]


def test_interactive_ask_is_used_when_the_script_runs_out(simulate):
    """With an ``ask`` callback, the simulator asks for each step the script lacks, saying which fit."""
    asked: list[tuple[str, set[str]]] = []

    def ask(point: str, allowed: set[str]) -> Step:
        asked.append((point, allowed))
        return Step("press", digits="3")

    app = fake_app({"/freeclimb/voice": [{"GetDigits": {"actionUrl": f"{BASE}/freeclimb/one"}}],
                    "/freeclimb/one": [HANGUP]})
    result = simulate(app=app, ask=ask).call()
    assert result.ok and asked == [("GetDigits", {"press", "silence", "hangup"})]
    assert received(app, "/freeclimb/one")[0]["digits"] == "3"


def test_violation_carries_step_and_ending():
    """A Violation's message names the step, and it keeps the ending to report."""
    violation = Violation("getDigits", "HTTP 404", "webhookFailed")
    assert str(violation) == "getDigits: HTTP 404" and violation.ended_by == "webhookFailed"


def test_sdk_check_refusal_fails_the_call(simulate):
    """When the SDK judge refuses an answer our parser accepts, the call fails with appInvalidPercl."""
    app = fake_app({"/freeclimb/voice": [say("Hello"), HANGUP]})
    simulator = simulate(app=app)
    result = CallSimulator(simulator.transport, simulator.voice_url,
                           sdk_check=lambda document: ["script[0]: refused"]).run()
    assert_failed(result, "inboundCall", "appInvalidPercl", "SDK refuses", "script[0]: refused")


def test_result_to_dict_is_json(simulate):
    """A call result converts to JSON with its timeline as plain objects."""
    app = fake_app({"/freeclimb/voice": [say("Hi"), HANGUP]})
    result = simulate(app=app).call()
    data = json.loads(json.dumps(result.to_dict()))
    assert data["ok"] is True and data["heard"] == ["Hi"] and data["ended_by"] == "appHangup"
    assert {"at_ms", "who", "what", "detail"} <= set(data["timeline"][0])
    assert data["requests"] == 2


# --- 9. the command line ---------------------------------------------------------------------


def flask_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``flask --app app.py ARGS`` in a subprocess, on a fresh DATA_DIR and the example flows."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("FLOWS_PATH", "PUBLIC_BASE_URL", "FREECLIMB_SIGNING_SECRET", "DATA_DIR",
                          "FLASK_APP")}
    clean.update({"DATA_DIR": str(tmp_path / "cli-data"), "FLOWS_PATH": str(FLOWS),
                  "PYTHONWARNINGS": "ignore::DeprecationWarning"}, **env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", str(ROOT / "app.py"), *args],
                          capture_output=True, text=True, env=clean, cwd=tmp_path, timeout=60)


def test_cli_simulate_default_flow(tmp_path):
    """``flask simulate --step record:5`` prints the transcript through the default flow and passes."""
    done = flask_cli(tmp_path, "simulate", "--step", "record:5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f'hears "{GREETING}' in done.stdout
    assert "speaks for 5 s; recording ends by finishKey" in done.stdout
    assert "call ended: appHangup" in done.stdout and "PASSED" in done.stdout
    assert done.stdout.rstrip().endswith("1 passed, 0 failed")


def test_cli_simulate_every_example_scenario(tmp_path):
    """``flask simulate --scenario`` with every example scenario passes them all."""
    args = [arg for path in SCENARIOS for arg in ("--scenario", str(path))]
    done = flask_cli(tmp_path, "simulate", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(f"{len(SCENARIOS)} passed, 0 failed")
    for path in SCENARIOS:
        assert f"({path})" in done.stdout


def test_cli_simulate_json(tmp_path):
    """``flask simulate --json`` prints one JSON object per run with ok, heard and timeline."""
    done = flask_cli(tmp_path, "simulate", "--json", "--scenario", str(FLOWS / "scenarios" / "voicemail-message.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = json.loads(done.stdout)
    assert run["ok"] is True and run["unmet"] == [] and run["ended_by"] == "appHangup"
    assert any("Please leave a message after the beep" in line for line in run["heard"])
    assert run["timeline"][0]["who"] == "caller" and len(run["recordings"]) == 1


def test_cli_unmet_expectation_exits_1(tmp_path):
    """A scenario with an unmet expectation prints UNMET and exits 1."""
    path = scenario_file(tmp_path, "caller: [{record: {seconds: 2}}]\nexpect: {heard: ['No such words']}\n")
    done = flask_cli(tmp_path, "simulate", "--scenario", str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "UNMET: expected to hear 'No such words'" in done.stdout
    assert done.stdout.rstrip().endswith("0 passed, 1 failed")


def test_cli_broken_scenario_names_the_file(tmp_path):
    """A broken scenario file stops the command with a message naming the file, without a traceback."""
    path = scenario_file(tmp_path, "caller: [{press: 'x'}]\n", "broken.yaml")
    done = flask_cli(tmp_path, "simulate", "--scenario", str(path))
    assert done.returncode != 0
    assert f"{path}: caller[0].press" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_cli_freeclimb_urls(tmp_path):
    """``flask freeclimb urls`` prints both URLs for PUBLIC_BASE_URL, and errors clearly when it is unset."""
    done = flask_cli(tmp_path, "freeclimb", "urls", PUBLIC_BASE_URL="https://abc.ngrok.app/",
                     FREECLIMB_SIGNING_SECRET=SECRET)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["voiceUrl           https://abc.ngrok.app/freeclimb/voice",
                                           "statusCallbackUrl  https://abc.ngrok.app/freeclimb/status"]
    assert "warning" not in done.stderr
    unset = flask_cli(tmp_path, "freeclimb", "urls")
    assert unset.returncode != 0 and unset.stdout == ""
    assert "PUBLIC_BASE_URL is not set" in unset.stderr and "Traceback" not in unset.stderr


# --- 10. the pytest fixtures ------------------------------------------------------------------


@pytest.fixture
def app(tmp_path):
    """Our app on the example flows, for the simulator and run_scenario fixtures."""
    return our_app(tmp_path)


def test_run_scenario_fixture_passes_a_good_scenario(run_scenario):
    """The run_scenario fixture returns the run of a scenario that passes."""
    run = run_scenario(FLOWS / "scenarios" / "voicemail-message.yaml")
    assert run.ok and run.result.ended_by == "appHangup"


def test_run_scenario_fixture_fails_with_the_transcript(run_scenario, tmp_path):
    """The run_scenario fixture fails the test with the unmet expectations and the transcript."""
    path = scenario_file(tmp_path, "caller: [{record: {seconds: 2}}]\nexpect: {ended_by: farEndHangup}\n")
    with pytest.raises(pytest.fail.Exception) as caught:
        run_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"scenario {path} failed:")
    assert "expected the call to end by farEndHangup, it ended by appHangup" in message
    assert f'hears "{GREETING}' in message and "call ended: appHangup" in message


def test_run_scenario_fixture_fails_on_a_violation(run_scenario, tmp_path):
    """The run_scenario fixture fails the test with the violation when the call itself fails."""
    path = scenario_file(tmp_path, "caller: [{press: '1'}]\n")
    with pytest.raises(pytest.fail.Exception) as caught:
        run_scenario(path)
    message = str(caught.value)
    assert "RecordUtterance: the caller's next step is press" in message
    assert "FAILED: RecordUtterance" in message


def test_simulator_fixture_signs_with_the_app_secret(simulator, app):
    """The simulator fixture runs calls against the app fixture, signed with its secret."""
    assert simulator.secret == SECRET and simulator.voice_url == "https://voice.example.com/freeclimb/voice"
    result = simulator.call([Step("record", seconds=1)])
    assert result.ok, result.transcript()
    assert len(app.extensions["store"].recordings.all()) == 1


def test_json_result_of_a_scenario_with_an_unmet_expectation_is_not_ok(tmp_path):
    """In the JSON form, ok is the scenario's verdict: false when an expectation is unmet."""
    from app import create_app
    from handlers.simulate import Simulator, scenario_from
    from tests.freeclimb import SECRET

    app = create_app({"DATA_DIR": str(tmp_path), "FREECLIMB_SIGNING_SECRET": SECRET})
    with Simulator(app=app) as simulator:
        run = simulator.run(scenario_from({"caller": [{"record": {"seconds": 2}}],
                                           "expect": {"heard": ["No such words"]}}, "inline"))
    result = run.to_dict()
    assert result["call_ok"] is True
    assert result["ok"] is False and result["unmet"]


def test_a_say_looping_forever_ends_with_the_caller_hanging_up(tmp_path):
    """A top-level Say with loop 0 repeats until the caller hangs up, so the call ends farEndHangup."""
    import flask

    from handlers.simulate import Simulator

    fake = flask.Flask("looping")

    @fake.post("/freeclimb/voice")
    def voice():
        return flask.jsonify([{"Say": {"text": "Please hold", "loop": 0}}, {"Hangup": {}}])

    @fake.post("/freeclimb/status")
    def status():
        return "", 204

    with Simulator(app=fake) as simulator:
        result = simulator.call()
    assert result.ok and result.ended_by == "farEndHangup"
    assert result.heard == ["Please hold"]


def test_interactive_simulation_asks_on_the_terminal(tmp_path):
    """With --interactive the caller's steps are typed at the prompt, bad input asked again."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLOWS_PATH", "PUBLIC_BASE_URL", "FREECLIMB_SIGNING_SECRET")}
    env.update(DATA_DIR=str(tmp_path / "data"), FLOWS_PATH=str(root / "flows"))
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", str(root / "app.py"), "simulate", "--interactive",
         "--to", "+13125550150"],
        input="press:x\nrecord:4\npress:2\nrecord:4\n", capture_output=True, text=True, env=env,
        cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FreeClimb waits (GetDigits)" in result.stdout
    assert "record does not fit a GetDigits" in result.stderr  # asked again, not crashed
    assert "presses 2" in result.stdout and "passed on" in result.stdout
    assert "1 passed, 0 failed" in result.stdout
