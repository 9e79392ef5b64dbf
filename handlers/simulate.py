"""Simulated calls against this app (in process) or any FreeClimb app URL, and scenario files.

A scenario file (YAML) is a caller's script and what should come of it::

    name: sales message
    call: {to: "+13125550150", from: "+13125550100"}
    caller:
      - press: "1"
      - record: {seconds: 8, end: finishKey}
    expect:
      heard: ["For sales, press 1", "passed on"]   # in this order, each part of a line heard
      not_heard: ["not one of the choices"]
      recordings: 1
      ended_by: appHangup                          # FreeClimb's callEndedReason
    latency_budget_ms: 1000
    at: "2026-11-25T10:00:00-06:00"   # the app's clock during the call (this app, in process)

Caller steps: ``press: DIGITS``, ``say: PHRASE``, ``silence:``, ``record: {seconds, end,
privacy}``, ``transcribe: {text, seconds}``, ``answer: {seconds, talk}`` and ``no_answer:
{seconds, status}`` for a transfer, ``hangup:``. A caller whose script runs out hangs up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from flask import Flask

from handlers.signatures import sign
from percl.interpreter import (
    STEP_KINDS,
    CallParams,
    CallResult,
    CallSimulator,
    HttpAnswer,
    RecordingServer,
    Step,
    UrlTransport,
)
from percl.sdk import sdk_problems

ENDINGS = ("appHangup", "appReject", "farEndHangup", "appNoPercl", "appInvalidPercl",
           "webhookFailed", "webhookInvalidResponse", "maxRedirectsError")


class ScenarioError(Exception):
    """A scenario file that cannot be run; the message names the file and the field."""


class FlaskTransport:
    """The app in this process, through Flask's test client (no port)."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpAnswer:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        started = time.perf_counter()
        response = self.client.post(path, data=body, headers=headers)
        return HttpAnswer(response.status_code, response.content_type or "", response.get_data(),
                          time.perf_counter() - started)


@dataclass
class Scenario:
    name: str
    call: CallParams
    caller: list[Step]
    expect: dict[str, Any] = field(default_factory=dict)
    latency_budget_s: float = 1.0
    source: str = "<scenario>"
    at: datetime | None = None  # the app's clock for the call (in-process runs of this app)


def _step(raw: Any, where: str) -> Step:
    if isinstance(raw, str) and raw in ("silence", "hangup"):
        return Step(raw)
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ScenarioError(f"{where}: a step is one of {', '.join(STEP_KINDS)}, e.g. {{press: \"1\"}}")
    (kind, value), = raw.items()
    if kind not in STEP_KINDS:
        raise ScenarioError(f"{where}: unknown step {kind!r}; steps are {', '.join(STEP_KINDS)}")
    if kind == "press":
        digits = str(value)
        if not digits or any(ch not in "0123456789*#" for ch in digits):
            raise ScenarioError(f"{where}.press: {value!r} is not keys 0-9, * and #")
        return Step(kind, digits=digits)
    if kind == "say":
        if not isinstance(value, str) or not value.strip():
            raise ScenarioError(f"{where}.say: must be the phrase the caller says")
        return Step(kind, text=value)
    if kind in ("silence", "hangup"):
        if value not in (None, {}, True):
            raise ScenarioError(f"{where}.{kind}: takes no value")
        return Step(kind)
    options = value or {}
    if not isinstance(options, dict):
        raise ScenarioError(f"{where}.{kind}: must be a mapping of options")
    allowed = {"record": {"seconds", "end", "privacy"}, "transcribe": {"text", "seconds"},
               "answer": {"seconds", "talk"}, "no_answer": {"seconds", "status"}}[kind]
    unknown = set(options) - allowed
    if unknown:
        raise ScenarioError(f"{where}.{kind}: unknown option {sorted(map(str, unknown))[0]!r}; "
                            f"{kind} takes {', '.join(sorted(allowed))}")
    for name in ("seconds", "talk"):
        if name in options and (isinstance(options[name], bool) or not isinstance(options[name], int)
                                or not 0 <= options[name] <= 3600):
            raise ScenarioError(f"{where}.{kind}.{name}: must be whole seconds from 0 to 3600, "
                                f"got {options[name]!r}")
    if kind == "record" and options.get("end", "finishKey") not in ("finishKey", "timeout", "maxLength", "hangup"):
        raise ScenarioError(f"{where}.record.end: must be finishKey, timeout, maxLength or hangup")
    if kind == "no_answer" and options.get("status", "noAnswer") not in ("noAnswer", "busy", "failed"):
        raise ScenarioError(f"{where}.no_answer.status: must be noAnswer, busy or failed")
    return Step(kind, text=str(options.get("text", "")), seconds=options.get("seconds", 3),
                end=options.get("end", "finishKey"), talk=options.get("talk", 5),
                status=options.get("status", "noAnswer"), privacy=bool(options.get("privacy", False)))


def scenario_from(document: Any, source: str) -> Scenario:
    if not isinstance(document, dict):
        raise ScenarioError(f"{source}: a scenario is a mapping with name, call, caller and expect")
    unknown = set(document) - {"name", "call", "caller", "expect", "latency_budget_ms", "at"}
    if unknown:
        raise ScenarioError(f"{source}: unknown key {sorted(map(str, unknown))[0]!r}")
    call = document.get("call") or {}
    if not isinstance(call, dict) or set(call) - {"to", "from"}:
        raise ScenarioError(f"{source}: call takes to and from (quoted E.164 numbers)")
    for key in ("to", "from"):
        if key in call and not isinstance(call[key], str):
            raise ScenarioError(f"{source}: call.{key} must be a quoted number such as \"+13125550100\"")
    caller = document.get("caller") or []
    if not isinstance(caller, list):
        raise ScenarioError(f"{source}: caller must be a list of steps")
    steps = [_step(raw, f"{source}: caller[{index}]") for index, raw in enumerate(caller)]
    expect = document.get("expect") or {}
    if not isinstance(expect, dict) or set(expect) - {"heard", "not_heard", "recordings", "ended_by"}:
        raise ScenarioError(f"{source}: expect takes heard, not_heard, recordings and ended_by")
    for key in ("heard", "not_heard"):
        if key in expect and (not isinstance(expect[key], list)
                              or not all(isinstance(item, str) for item in expect[key])):
            raise ScenarioError(f"{source}: expect.{key} must be a list of phrases")
    if "recordings" in expect and (isinstance(expect["recordings"], bool)
                                   or not isinstance(expect["recordings"], int)):
        raise ScenarioError(f"{source}: expect.recordings must be a number")
    if "ended_by" in expect and expect["ended_by"] not in ENDINGS:
        raise ScenarioError(f"{source}: expect.ended_by must be one of {', '.join(ENDINGS)}")
    budget = document.get("latency_budget_ms", 1000)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise ScenarioError(f"{source}: latency_budget_ms must be a positive whole number")
    at = document.get("at")
    if at is not None:
        try:
            at = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        except ValueError:
            raise ScenarioError(f"{source}: at must be a date and time such as "
                                "2026-11-25T10:00:00-06:00") from None
        if at.tzinfo is None:
            raise ScenarioError(f"{source}: at needs a UTC offset, e.g. 2026-11-25T10:00:00-06:00")
    defaults = CallParams()
    return Scenario(name=str(document.get("name") or Path(source).stem),
                    call=CallParams(to=call.get("to", defaults.to), from_=call.get("from", defaults.from_)),
                    caller=steps, expect=expect, latency_budget_s=budget / 1000, source=source, at=at)


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    return scenario_from(document, str(path))


def unmet_expectations(result: CallResult, expect: dict[str, Any]) -> list[str]:
    """What the call did not do that the scenario expects (empty: all met)."""
    unmet = []
    position = 0
    for phrase in expect.get("heard", []):
        found = next((i for i in range(position, len(result.heard)) if phrase in result.heard[i]), None)
        if found is None:
            unmet.append(f"expected to hear {phrase!r}" + (" (after the earlier phrases)" if position else ""))
        else:
            position = found + 1
    for phrase in expect.get("not_heard", []):
        if any(phrase in line for line in result.heard):
            unmet.append(f"expected not to hear {phrase!r}")
    if "recordings" in expect and len(result.recordings) != expect["recordings"]:
        unmet.append(f"expected {expect['recordings']} recording(s), made {len(result.recordings)}")
    if "ended_by" in expect and result.ended_by != expect["ended_by"]:
        unmet.append(f"expected the call to end by {expect['ended_by']}, it ended by {result.ended_by}")
    return unmet


@dataclass
class ScenarioRun:
    scenario: Scenario
    result: CallResult
    unmet: list[str]

    @property
    def ok(self) -> bool:
        return self.result.ok and not self.unmet

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "call_ok": self.result.ok, "scenario": self.scenario.name,
                "source": self.scenario.source, "ok": self.ok, "unmet": self.unmet}


class Simulator:
    """Runs calls against an app in this process, or against an app at ``base_url``."""

    def __init__(self, *, app: Flask | None = None, base_url: str | None = None,
                 secret: str | None = None, ask: Callable[[str, set[str]], Step] | None = None) -> None:
        if (app is None) == (base_url is None):
            raise ValueError("give either app or base_url")
        self.app = app
        if app is not None:
            self.transport: Any = FlaskTransport(app)
            settings = app.config.get("SETTINGS")  # any Flask app will do; ours knows its secret
            base = (settings and settings.public_base_url) or "http://localhost"
            if secret is None and settings is not None and settings.signing_secrets:
                secret = settings.signing_secrets[0]
        else:
            self.transport = UrlTransport()
            base = base_url.rstrip("/")
        self.voice_url = f"{base}/freeclimb/voice"
        self.status_url = f"{base}/freeclimb/status"
        self.secret = secret
        self.ask = ask
        self.recordings = RecordingServer()

    def close(self) -> None:
        self.recordings.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _signer(self) -> Callable[[bytes], str] | None:
        if self.secret is None:
            return None
        secret = self.secret
        return lambda body: sign(body, secret, int(time.time()))

    def call(self, caller: list[Step] | None = None, *, call: CallParams | None = None,
             latency_budget_s: float = 1.0) -> CallResult:
        return CallSimulator(self.transport, self.voice_url, self.status_url, caller=caller,
                             call=call, signer=self._signer(), latency_budget_s=latency_budget_s,
                             recordings=self.recordings, sdk_check=sdk_problems, ask=self.ask).run()

    def run(self, scenario: Scenario) -> ScenarioRun:
        engine = self.app.extensions.get("flow_engine") if self.app is not None else None
        if scenario.at is not None and engine is None:
            raise ScenarioError(f"{scenario.source}: at sets the clock of this app, run in process; "
                                "it cannot move the clock of an app at a URL")
        if scenario.at is None:
            return self._run(scenario)
        saved, start = engine.clock, time.monotonic()
        # the app's clock starts at `at` and runs at real speed for the call
        engine.clock = lambda: scenario.at + timedelta(seconds=time.monotonic() - start)
        try:
            return self._run(scenario)
        finally:
            engine.clock = saved

    def _run(self, scenario: Scenario) -> ScenarioRun:
        result = self.call(list(scenario.caller), call=scenario.call,
                           latency_budget_s=scenario.latency_budget_s)
        return ScenarioRun(scenario, result, unmet_expectations(result, scenario.expect))
