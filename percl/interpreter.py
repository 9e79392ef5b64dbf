"""Playing FreeClimb's side of a call: the engine of the call simulator.

:class:`CallSimulator` posts the webhooks FreeClimb would post to an app, runs the PerCL that
comes back the way FreeClimb runs it, and lets a scripted caller answer its prompts. Everything
the caller hears or does, and every request, goes on a timeline against a simulated clock.

Every answer is judged strictly: HTTP status and content type, PerCL our parser accepts and
FreeClimb's SDK models accept, nothing after a terminal command, callback URLs that are
absolute, and a latency budget. The first violation fails the call, naming the step.

The app is reached through a :class:`Transport`: over HTTP to any base URL (a local gunicorn,
an ngrok tunnel), or in process (the Flask test client; see ``handlers.simulate``). Requests are
signed by a ``signer`` the caller supplies.
"""

from __future__ import annotations

import array
import http.server
import io
import itertools
import json
import math
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from percl.commands import (
    AddToConference,
    CreateConference,
    GetDigits,
    GetSpeech,
    Hangup,
    OutDial,
    Pause,
    Play,
    PlayEarlyMedia,
    RecordUtterance,
    Redirect,
    Reject,
    Say,
    TranscribeUtterance,
)
from percl.errors import PerclError
from percl.model import Command
from percl.script import Script

MAX_REDIRECTS = 256  # FreeClimb ends the call with maxRedirectsError past this
SAMPLE_RATE = 8000


# --- what the caller does -------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing the scripted caller does, at the next point FreeClimb waits for them.

    ``kind``: press (``digits``), say (``text``), silence, record (``seconds``, ``end``:
    finishKey/timeout/maxLength/hangup), transcribe (``text``, ``seconds``), answer
    (``seconds`` of ringing before the dialled party answers, ``talk`` seconds), no_answer
    (``status``: noAnswer/busy/failed), hangup.
    """

    kind: str
    digits: str = ""
    text: str = ""
    seconds: int = 3
    end: str = "finishKey"
    talk: int = 5
    status: str = "noAnswer"
    privacy: bool = False


STEP_KINDS = ("press", "say", "silence", "record", "transcribe", "answer", "no_answer", "hangup")
#: Which steps make sense at each point FreeClimb waits.
ACCEPTS = {
    "GetDigits": {"press", "silence", "hangup"},
    "GetSpeech": {"say", "press", "silence", "hangup"},
    "RecordUtterance": {"record", "hangup"},
    "TranscribeUtterance": {"transcribe", "hangup"},
    "OutDial": {"answer", "no_answer", "hangup"},
}


@dataclass(frozen=True)
class CallParams:
    to: str = "+13125550199"
    from_: str = "+13125550100"
    account_id: str = "AC" + "0" * 40
    call_id: str = ""


# --- the timeline ----------------------------------------------------------------------------


@dataclass
class Event:
    at_ms: int
    who: str  # "freeclimb", "app", "caller", "check"
    what: str
    detail: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{self.at_ms / 1000:8.3f}s  {self.who:<9} {self.what}"


@dataclass
class CallResult:
    ok: bool
    failure: str | None
    ended_by: str | None  # callEndedReason FreeClimb would report
    heard: list[str]
    recordings: list[dict[str, Any]]
    timeline: list[Event]
    requests: int
    slowest_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "timeline": [asdict(event) for event in self.timeline]}

    def transcript(self) -> str:
        lines = [event.line() for event in self.timeline]
        verdict = "PASSED" if self.ok else f"FAILED: {self.failure}"
        lines.append(f"call ended: {self.ended_by or 'unknown'}; {self.requests} requests, "
                     f"slowest {self.slowest_ms:.0f} ms; {verdict}")
        return "\n".join(lines)


class Violation(Exception):
    """An answer FreeClimb would not accept, or a scenario the app does not follow."""

    def __init__(self, step: str, message: str, ended_by: str | None = None) -> None:
        super().__init__(f"{step}: {message}")
        self.ended_by = ended_by


# --- transports --------------------------------------------------------------------------------


@dataclass
class HttpAnswer:
    status: int
    content_type: str
    body: bytes
    elapsed_s: float


class Transport(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpAnswer:
        """POST ``body`` to the absolute ``url``."""


class UrlTransport:
    """Real HTTP (urllib), for an app at any URL."""

    def __init__(self, timeout_s: float = 15.0) -> None:
        self.timeout_s = timeout_s

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpAnswer:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                content = response.read()
                return HttpAnswer(response.status, response.headers.get("Content-Type", ""),
                                  content, time.perf_counter() - started)
        except urllib.error.HTTPError as exc:
            with exc:
                return HttpAnswer(exc.code, exc.headers.get("Content-Type", ""), exc.read(),
                                  time.perf_counter() - started)
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            # FreeClimb would see no answer: status 0, reported as the step's failure
            reason = getattr(exc, "reason", exc)
            return HttpAnswer(0, "", f"no answer: {reason}".encode(), time.perf_counter() - started)


# --- recordings FreeClimb would keep -------------------------------------------------------


def wav_bytes(seconds: float) -> bytes:
    """A WAV as FreeClimb records: 8 kHz, 16-bit, mono PCM (a quiet 400 Hz tone, not silence)."""
    period = array.array("h", (int(3000 * math.sin(2 * math.pi * n / 20)) for n in range(20)))
    if sys.byteorder == "big":
        period.byteswap()  # WAV samples are little-endian
    frames = int(SAMPLE_RATE * seconds)
    pcm = (period.tobytes() * (frames // 20 + 1))[: frames * 2]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm)
    return buffer.getvalue()


class RecordingServer:
    """Serves the simulated recordings on 127.0.0.1, as FreeClimb serves recordingUrl."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                content = files.get(self.path.rsplit("/", 1)[-1].removesuffix(".wav"))
                if content is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "audio/wav")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, recording_id: str, content: bytes) -> str:
        self.files[recording_id] = content
        return f"{self.base}/recordings/{recording_id}.wav"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- the simulator ---------------------------------------------------------------------------

_ids = itertools.count(1)


def freeclimb_id(prefix: str) -> str:
    return prefix + secrets.token_hex(16) + f"{next(_ids):08x}"


class CallSimulator:
    """One inbound call, from the first webhook to the callStatus at its end."""

    def __init__(self, transport: Transport, voice_url: str, status_url: str | None = None, *,
                 caller: list[Step] | None = None, call: CallParams | None = None,
                 signer: Callable[[bytes], str] | None = None, latency_budget_s: float = 1.0,
                 recordings: RecordingServer | None = None,
                 sdk_check: Callable[[Any], list[str]] | None = None,
                 ask: Callable[[str, set[str]], Step] | None = None) -> None:
        self.transport = transport
        self.voice_url = voice_url
        self.status_url = status_url
        self.steps = list(caller or [])
        params = call or CallParams()
        self.call = CallParams(params.to, params.from_, params.account_id,
                               params.call_id or freeclimb_id("CA"))
        self.signer = signer
        self.latency_budget_s = latency_budget_s
        self.recordings_server = recordings
        self.sdk_check = sdk_check
        self.ask = ask  # interactive: asked for a step when the script has none left
        self.clock_ms = 0
        self.timeline: list[Event] = []
        self.heard: list[str] = []
        self.recordings: list[dict[str, Any]] = []
        self.requests = 0
        self.slowest_ms = 0.0
        self.redirects = 0
        self.conferences: dict[str, set[str]] = {}
        self.pending: list[tuple[int, str, dict[str, Any], str]] = []  # (due ms, url, body, leg)
        self.transfer_talk_s = 0

    # --- running ---------------------------------------------------------------------------

    def run(self) -> CallResult:
        failure: str | None = None
        ended_by: str | None = None
        try:
            ended_by = self._call()
        except Violation as exc:
            failure, ended_by = str(exc), exc.ended_by or "appInvalidPercl"
            self._note("check", f"FAILED {exc}")
        if self.status_url:
            try:
                self._status(ended_by or "appHangup")
            except Violation as exc:
                failure = failure or str(exc)
                self._note("check", f"FAILED {exc}")
        return CallResult(ok=failure is None, failure=failure, ended_by=ended_by,
                          heard=self.heard, recordings=self.recordings, timeline=self.timeline,
                          requests=self.requests, slowest_ms=self.slowest_ms)

    def _call(self) -> str:
        url, body, step = self.voice_url, self._webhook("inboundCall"), "inboundCall"
        self._note("caller", f"calls {self.call.to}")
        while True:
            script = self._ask_app(step, url, body)
            if step == "inboundCall" and len(script) == 0:
                raise Violation(step, "the app answered an empty script", "appNoPercl")
            outcome = self._execute(script, step)
            if outcome is None:  # ran out of commands: FreeClimb hangs up
                self._note("freeclimb", "the script ran out: FreeClimb hangs up")
                return "appHangup"
            if isinstance(outcome, str):
                return outcome
            url, body, step = outcome

    def _execute(self, script: Script, step: str) -> tuple[str, dict[str, Any], str] | str | None:
        """Run one script. A (url, body, step) to post next, a callEndedReason, or None."""
        for command in script:
            if isinstance(command, (Say, Play, Pause, PlayEarlyMedia)):
                self._hear(command)
                if getattr(command, "loop", None) == 0:
                    # FreeClimb repeats it until the caller hangs up, so that is what happens
                    self._note("caller", "hears it again and again, and hangs up")
                    return "farEndHangup"
            elif isinstance(command, GetDigits):
                return self._get_digits(command)
            elif isinstance(command, GetSpeech):
                return self._get_speech(command)
            elif isinstance(command, RecordUtterance):
                return self._record(command)
            elif isinstance(command, TranscribeUtterance):
                return self._transcribe(command)
            elif isinstance(command, Redirect):
                self.redirects += 1
                if self.redirects > MAX_REDIRECTS:
                    raise Violation(step, f"more than {MAX_REDIRECTS} redirects", "maxRedirectsError")
                return command.action_url, self._webhook("redirect"), "redirect"
            elif isinstance(command, OutDial):
                return self._out_dial(command)
            elif isinstance(command, AddToConference):
                return self._join(command, step)
            elif isinstance(command, Hangup):
                self._note("app", "hangs up" + (f" ({command.reason})" if command.reason else ""))
                return "appHangup"
            elif isinstance(command, Reject):
                self._note("app", "rejects the call" + (f" ({command.reason})" if command.reason else ""))
                return "appReject"
            else:
                self._note("freeclimb", f"runs {command.wire_name}", {"percl": command.to_wire()})
        return None

    def _hear(self, command: Command) -> None:
        if isinstance(command, Pause):
            self._note("caller", f"hears {command.length} ms of silence")
            self.clock_ms += command.length
            return
        loops = getattr(command, "loop", None) or 1
        if isinstance(command, Say):
            language = f" [{command.language}]" if command.language else ""
            self.heard.append(command.text)
            self._note("caller", f"hears \"{command.text}\"{language}" + (f" x{loops}" if loops > 1 else ""))
            self.clock_ms += (400 + 60 * len(command.text)) * loops  # about 150 words a minute
        else:
            self.heard.append(f"<audio {command.file}>")
            self._note("caller", f"hears audio {command.file}" + (f" x{loops}" if loops > 1 else ""))
            self.clock_ms += 3000 * loops

    def _prompts(self, command: Command) -> None:
        for prompt in command.prompts or ():
            self._hear(prompt)

    def _next_step(self, point: str) -> Step:
        allowed = ACCEPTS[point]
        if not self.steps:
            if self.ask is not None:
                return self.ask(point, allowed)
            return Step("hangup")  # the script has nothing more to say: the caller leaves
        step = self.steps.pop(0)
        if step.kind not in allowed:
            raise Violation(point, f"the caller's next step is {step.kind}, which does not fit a "
                            f"{point} (expected one of {', '.join(sorted(allowed))})", "farEndHangup")
        return step

    def _get_digits(self, command: GetDigits) -> tuple[str, dict[str, Any], str] | str:
        self._prompts(command)
        step = self._next_step("GetDigits")
        if step.kind == "hangup":
            return self._caller_hangs_up()
        if step.kind == "silence":
            wait = command.initial_timeout_ms or 5000
            self.clock_ms += wait
            self._note("caller", "presses nothing")
            return command.action_url, self._webhook("getDigits", digits="", reason="timeout"), "getDigits"
        digits = step.digits
        self.clock_ms += 400 * len(digits)
        reason = "maxDigits" if command.max_digits and len(digits) >= command.max_digits else "finishKey"
        self._note("caller", f"presses {digits}")
        return command.action_url, self._webhook("getDigits", digits=digits, reason=reason), "getDigits"

    def _get_speech(self, command: GetSpeech) -> tuple[str, dict[str, Any], str] | str:
        self._prompts(command)
        step = self._next_step("GetSpeech")
        if step.kind == "hangup":
            return self._caller_hangs_up()
        if step.kind == "silence":
            self.clock_ms += command.no_input_timeout_ms or 5000
            self._note("caller", "says nothing")
            return command.action_url, self._webhook("getSpeech", reason="noInput"), "getSpeech"
        if step.kind == "press":
            self._note("caller", f"presses {step.digits}")
            return command.action_url, self._webhook(
                "getSpeech", reason="digit", recognitionResult=step.digits, confidence=100), "getSpeech"
        self.clock_ms += 300 * len(step.text.split()) + 500
        self._note("caller", f"says \"{step.text}\"")
        return command.action_url, self._webhook(
            "getSpeech", reason="recognition", recognitionResult=step.text, confidence=90), "getSpeech"

    def _make_recording(self, seconds: int, privacy: bool) -> dict[str, Any]:
        recording_id = freeclimb_id("RE")
        content = wav_bytes(seconds)
        url = (self.recordings_server.add(recording_id, content) if self.recordings_server
               else f"https://recordings.invalid/{recording_id}.wav")
        made = {"recordingId": recording_id, "recordingUrl": url, "recordingSize": len(content),
                "recordingFormat": "audio/wav", "seconds": seconds, "privacyMode": privacy}
        self.recordings.append(made)
        return made

    def _record(self, command: RecordUtterance) -> tuple[str, dict[str, Any], str] | str:
        if command.play_beep:
            self._note("caller", "hears a beep")
        step = self._next_step("RecordUtterance")
        seconds = 0 if step.kind == "hangup" else step.seconds
        end = "hangup" if step.kind == "hangup" else step.end
        if command.max_length_sec and seconds > command.max_length_sec:
            seconds, end = command.max_length_sec, "maxLength"
        self.clock_ms += seconds * 1000
        made = self._make_recording(seconds, bool(command.privacy_mode or step.privacy))
        self._note("caller", f"speaks for {seconds} s; recording ends by {end}", made)
        body = self._webhook("record", recordingId=made["recordingId"],
                             recordingUrl=made["recordingUrl"], recordingSize=str(made["recordingSize"]),
                             recordingFormat="audio/wav", recordingDurationSec=seconds,
                             termReason=end, privacyMode=made["privacyMode"])
        if end == "hangup":
            # the recording is still delivered; what the app answers is never run
            self._ask_app("record", command.action_url, {**body, "callStatus": "completed"})
            self._note("freeclimb", "the caller is gone: the answer is not run")
            return "farEndHangup"
        return command.action_url, body, "record"

    def _transcribe(self, command: TranscribeUtterance) -> tuple[str, dict[str, Any], str] | str:
        self._prompts(command)
        step = self._next_step("TranscribeUtterance")
        if step.kind == "hangup":
            return self._caller_hangs_up()
        self.clock_ms += step.seconds * 1000
        made = self._make_recording(step.seconds, False)
        self._note("caller", f"says \"{step.text}\" ({step.seconds} s)")
        return command.action_url, self._webhook(
            "transcribe", recordingId=made["recordingId"], recordingUrl=made["recordingUrl"],
            recordingSize=made["recordingSize"], recordingFormat="audio/wav",
            recordingDurationMs=step.seconds * 1000, termReason="completed", transcript=step.text,
            transcribeReason="noInput"), "transcribe"

    def _out_dial(self, command: OutDial) -> tuple[str, dict[str, Any], str] | str:
        step = self._next_step("OutDial")
        if step.kind == "hangup":
            return self._caller_hangs_up()
        dialled = freeclimb_id("CA")
        self._note("freeclimb", f"dials {command.destination} as {command.calling_number}")
        child = {"callId": dialled, "parentCallId": self.call.call_id, "from": command.calling_number,
                 "to": command.destination, "direction": "outboundDial"}
        if step.kind == "answer":
            self.transfer_talk_s = step.talk
            self.pending.append((self.clock_ms + step.seconds * 1000, command.call_connect_url,
                                 {"requestType": "outDialConnect", "callStatus": "inProgress", **child},
                                 dialled))
        else:
            ring = min(step.seconds, 30 if command.timeout is None else command.timeout) * 1000
            self.pending.append((self.clock_ms + ring, command.call_connect_url,
                                 {"requestType": "outDialConnect", "callStatus": step.status, **child},
                                 dialled))
        return command.action_url, self._webhook("outDialStart", dialCallId=dialled), "outDialStart"

    def _join(self, command: AddToConference, step: str) -> str:
        members = self.conferences.get(command.conference_id)
        if members is None:
            raise Violation(step, f"AddToConference names conference {command.conference_id}, "
                            "which nobody created")
        members.add(self.call.call_id)
        self._note("caller", f"is connected (conference {command.conference_id})")
        self.clock_ms += self.transfer_talk_s * 1000
        self._note("caller", f"talks for {self.transfer_talk_s} s and hangs up")
        return "farEndHangup"

    def _run_pending(self) -> None:
        """Deliver the dialled leg's webhooks that are due by now (it runs its own PerCL)."""
        while self.pending and self.pending[0][0] <= self.clock_ms:
            _, url, body, leg = self.pending.pop(0)
            answer = self._ask_app(f"{body['requestType']} (dialled leg)", url, self._leg_body(body))
            for command in answer:
                if isinstance(command, CreateConference):
                    conference = freeclimb_id("CF")
                    self.conferences[conference] = set()
                    self._note("freeclimb", f"creates conference {conference} for the dialled leg")
                    follow = self._ask_app("createConference (dialled leg)", command.action_url,
                                           self._leg_body({**body, "requestType": "createConference",
                                                           "conferenceId": conference}))
                    for joined in follow:
                        if isinstance(joined, AddToConference):
                            self.conferences.setdefault(joined.conference_id, set()).add(leg)
                            self._note("freeclimb", "the dialled party joins the conference")
                elif isinstance(command, Say):
                    self._note("freeclimb", f"the dialled party hears \"{command.text}\"")

    def _leg_body(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"accountId": self.call.account_id, "conferenceId": None, "queueId": None, **body}

    def _caller_hangs_up(self) -> str:
        self._note("caller", "hangs up")
        return "farEndHangup"

    # --- talking to the app ----------------------------------------------------------------

    def _webhook(self, request_type: str, **extra: Any) -> dict[str, Any]:
        return {"requestType": request_type, "callId": self.call.call_id,
                "accountId": self.call.account_id, "from": self.call.from_, "to": self.call.to,
                "callStatus": "inProgress", "direction": "inbound", "conferenceId": None,
                "queueId": None, "parentCallId": None, **extra}

    def _post(self, step: str, url: str, body: dict[str, Any]) -> HttpAnswer:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Violation(step, f"the URL {url!r} is not absolute: FreeClimb cannot call it",
                            "webhookFailed")
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.signer is not None:
            headers["FreeClimb-Signature"] = self.signer(raw)
        answer = self.transport.post(url, raw, headers)
        self.requests += 1
        elapsed_ms = answer.elapsed_s * 1000
        self.slowest_ms = max(self.slowest_ms, elapsed_ms)
        self._note("freeclimb", f"POST {parts.path} ({body['requestType']}) -> {answer.status} "
                   f"in {elapsed_ms:.0f} ms")
        if answer.elapsed_s > self.latency_budget_s:
            raise Violation(step, f"the app took {elapsed_ms:.0f} ms, over the "
                            f"{self.latency_budget_s * 1000:.0f} ms budget", "webhookFailed")
        return answer

    def _ask_app(self, step: str, url: str, body: dict[str, Any]) -> Script:
        self._run_pending()
        answer = self._post(step, url, body)
        if answer.status == 0:
            raise Violation(step, f"the app could not be reached: {answer.body.decode('utf-8', 'replace')}",
                            "webhookFailed")
        if answer.status != 200:
            raise Violation(step, f"HTTP {answer.status} (FreeClimb needs 200 with PerCL): "
                            f"{answer.body[:200].decode('utf-8', 'replace')}", "webhookFailed")
        if answer.content_type.split(";")[0].strip() != "application/json":
            raise Violation(step, f"Content-Type {answer.content_type!r}, not application/json",
                            "webhookInvalidResponse")
        try:
            script = Script.from_json(answer.body)
        except PerclError as exc:
            raise Violation(step, f"invalid PerCL: {exc}", "appInvalidPercl") from None
        if self.sdk_check is not None:
            problems = self.sdk_check(json.loads(answer.body))
            if problems:
                raise Violation(step, "FreeClimb's SDK refuses the PerCL: " + "; ".join(problems),
                                "appInvalidPercl")
        # (the parser has refused any relative actionUrl already: they must be absolute http(s))
        self._note("app", f"answers {len(script)} command{'s' if len(script) != 1 else ''}",
                   {"percl": script.to_wire()})
        return script

    def _status(self, ended_by: str) -> None:
        body = self._webhook("callStatus", callStatus="completed", callEndedReason=ended_by)
        answer = self._post("callStatus", self.status_url, body)
        if answer.status not in (200, 204):
            raise Violation("callStatus", f"HTTP {answer.status} for the status callback")

    def _note(self, who: str, what: str, detail: dict[str, Any] | None = None) -> None:
        self.timeline.append(Event(self.clock_ms, who, what, detail or {}))
