"""Running flows: an activeflow per call, advanced by FreeClimb's webhooks. No Flask here.

Each webhook that reaches a call's activeflow runs actions from where it waits, emitting PerCL
up to and including the next command that waits for FreeClimb (a menu, a recording, ...), whose
actionUrl carries the activeflow's id and the step number. A webhook for a step that is no
longer the one waited on (a duplicate, or a late delivery) gets the answer that step gave the
first time and changes nothing.

Every answer is recorded on the activeflow (``executed_actions``): the webhook received, the
actions run, the PerCL returned, when, and how long the app took.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import percl
from handlers.calls import NAMESPACE, Call, Urls
from handlers.flows import templates
from handlers.schemas import CALL_ENDED
from handlers.flows.loader import GET_DIGITS_OPTIONS, GET_SPEECH_OPTIONS
from handlers.flows.model import Flow, FlowSet, Node, Target
from storage import Changes, Store
from storage.recordings import blank_entry, timestamp

log = logging.getLogger(__name__)

#: Actions one webhook may run before the engine decides the flow loops without waiting.
MAX_ACTIONS_PER_STEP = 200
#: A caller on hold during a transfer is polled this often (FreeClimb allows 256 redirects).
HOLD_POLL_S = 2
TRANSFER_TIMEOUT_S = 30
SORRY = "Sorry, something went wrong. Goodbye."
#: Webhooks that may resume each kind of wait.
RESUMED_BY = {
    "menu": {"getDigits"},
    "speech_menu": {"getSpeech"},
    "transcribe": {"transcribe"},
    "record": {"record"},
}


class FlowWebhookError(Exception):
    """A webhook that does not fit the activeflow it names (answered 4xx by the route)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class _Run:
    """What one webhook's run produced."""

    commands: list[percl.Command]
    actions: list[str]


class FlowEngine:
    def __init__(self, flows: FlowSet, store: Store,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.flows = flows
        self.store = store
        self.clock = clock

    def now(self) -> str:
        """The engine's clock as a timestamp (tests move it; recordings and activeflows share it)."""
        return timestamp(self.clock())

    # --- webhooks -------------------------------------------------------------------------

    def inbound_call(self, call: Call, payload: dict[str, Any], urls: Urls) -> percl.Script:
        started = time.perf_counter()
        with self.store.atomic() as changes:
            existing = changes.activeflows.for_call(call.call_id)
            if existing is not None:  # FreeClimb delivered the call twice: answer as before
                return _answer_of(existing, resumed=None)
            flow = self.flows.for_number(call.to)
            now = timestamp(self.clock())
            activeflow = {
                "id": str(uuid.uuid4()), "flow_id": flow.id, "flow_name": flow.name,
                "call_id": call.call_id, "status": "running", "current_action": flow.start,
                "seq": 0, "waiting": None, "variables": _call_variables(call), "attempts": {},
                "call_ended": False, "recordings": {}, "executed_actions": [],
                "tm_create": now, "tm_update": now, "tm_end": None, "error": None,
            }
            run = self._run(activeflow, flow, flow.start, changes, urls, call)
            return self._finish(activeflow, run, payload, None, started, changes)

    def resume(self, activeflow_id: str, seq: int, payload: dict[str, Any], urls: Urls) -> percl.Script:
        """A webhook to an actionUrl the engine handed out (getDigits, getSpeech, transcribe)."""
        started = time.perf_counter()
        with self.store.atomic() as changes:
            activeflow = changes.activeflows.get(activeflow_id)
            if activeflow is None:
                raise FlowWebhookError(404, f"no activeflow {activeflow_id}")
            if payload["call_id"] != activeflow["call_id"]:
                raise FlowWebhookError(400, "callId: this activeflow belongs to another call")
            waiting = activeflow["waiting"]
            if waiting is None or waiting["seq"] != seq:
                return _replay(activeflow, seq)
            allowed = RESUMED_BY.get(waiting["kind"], set())
            if payload["request_type"] not in allowed:
                expected = " or ".join(map(repr, sorted(allowed))) or "its /dial or /connect URL"
                raise FlowWebhookError(400, f"requestType: {payload['request_type']!r} does not "
                                       f"answer a {waiting['kind']} (expected {expected})")
            try:
                flow, node = self._node(activeflow, waiting["node"])
            except _Broken as exc:
                return self._abandon(activeflow, exc, payload, seq, started, changes)
            call = Call.from_webhook(payload).filled_from_variables(activeflow["variables"])
            target = self._after_wait(activeflow, node, payload)
            run = self._continue(activeflow, flow, target, changes, urls, call)
            return self._finish(activeflow, run, payload, seq, started, changes)

    def transfer_leg(self, activeflow_id: str, seq: int, leg: str, payload: dict[str, Any],
                     urls: Urls) -> percl.Script:
        """A webhook of a transfer: the caller's leg ("dial") or the dialled party's ("connect").

        FreeClimb bridges two calls through a conference. The caller holds (a short pause and a
        Redirect back here, polled) while the other party rings; when that party answers, its
        leg creates a conference and joins it, and the caller's next poll joins it too. When
        nobody answers, the caller's next poll continues the flow at ``no_answer``.
        """
        started = time.perf_counter()
        with self.store.atomic() as changes:
            activeflow = changes.activeflows.get(activeflow_id)
            if activeflow is None:
                raise FlowWebhookError(404, f"no activeflow {activeflow_id}")
            caller_leg = payload["call_id"] == activeflow["call_id"]
            if (leg == "dial") != caller_leg and payload.get("parent_call_id") != activeflow["call_id"]:
                raise FlowWebhookError(400, "callId: this transfer belongs to another call")
            waiting = activeflow["waiting"]
            current = waiting is not None and waiting["seq"] == seq and waiting["kind"] == "transfer"
            if leg == "connect":
                return self._dialled_leg(activeflow, waiting if current else None, seq, payload, urls,
                                         changes)
            if not current:
                return _replay(activeflow, seq)
            try:
                flow, node = self._node(activeflow, waiting["node"])
            except _Broken as exc:
                return self._abandon(activeflow, exc, payload, seq, started, changes)
            waiting["polls"] += 1
            if waiting["outcome"] is None and waiting["polls"] > waiting["max_polls"]:
                waiting["outcome"] = "no_answer"  # FreeClimb never told us: stop waiting
            if waiting["outcome"] == "answered" and waiting["conference_id"]:
                activeflow["variables"]["transfer.status"] = "answered"
                activeflow.update(status="ended", waiting=None, tm_end=timestamp(self.clock()))
                run = _Run([percl.AddToConference(waiting["conference_id"])], [])
                activeflow["seq"] += 1
                return self._finish(activeflow, run, payload, seq, started, changes)
            if waiting["outcome"] == "no_answer":
                activeflow["variables"]["transfer.status"] = "no_answer"
                call = Call.from_webhook(payload).filled_from_variables(activeflow["variables"])
                run = self._continue(activeflow, flow, node.branches.get(
                    "no_answer", Target(node=node.next)), changes, urls, call)
                return self._finish(activeflow, run, payload, seq, started, changes)
            hold = [percl.Say(node.params["hold_message"])] if (
                payload["request_type"] == "outDialStart" and node.params.get("hold_message")) else []
            run = _Run([*hold, percl.Pause(HOLD_POLL_S * 1000),
                        percl.Redirect(urls.flow_step(activeflow["id"], seq, "dial"))], [])
            return self._finish(activeflow, run, payload, None, started, changes, poll=True)

    def _dialled_leg(self, activeflow: dict[str, Any], waiting: dict[str, Any] | None, seq: int,
                     payload: dict[str, Any], urls: Urls, changes: Changes) -> percl.Script:
        request_type = payload["request_type"]
        if waiting is None or waiting["outcome"] == "no_answer":
            # the caller is no longer waiting (hung up, or gave up): let the other party go
            if request_type == "outDialConnect" and payload.get("call_status") != "inProgress":
                return percl.Script()
            return percl.Script(percl.Say("Sorry, the caller is no longer on the line."), percl.Hangup())
        if request_type == "outDialConnect":
            if payload.get("call_status") != "inProgress":
                waiting["outcome"] = "no_answer"
                changes.activeflows.save(activeflow)
                return percl.Script()
            return percl.Script(percl.CreateConference(
                urls.flow_step(activeflow["id"], seq, "connect"), play_beep="never"))
        # createConference: the dialled party's leg made the bridge; it joins, the caller follows
        waiting.update(outcome="answered", conference_id=payload["conference_id"])
        changes.activeflows.save(activeflow)
        return percl.Script(percl.AddToConference(payload["conference_id"], start_conf_on_enter=True))

    def recording_ended(self, entry: dict[str, Any], payload: dict[str, Any],
                        changes: Changes, urls: Urls) -> percl.Script | None:
        """The record callback of a recording this engine started; None when it is not ours."""
        started = time.perf_counter()
        activeflow = changes.activeflows.get(entry["activeflow_id"])
        if activeflow is None:
            return None
        seq = activeflow["recordings"].get(entry["id"])
        waiting = activeflow["waiting"]
        if seq is None or waiting is None or waiting["seq"] != seq:
            return _answer_of(activeflow, resumed=seq) if seq is not None else None
        variables = activeflow["variables"]
        variables.update({"recording.id": entry["recording_id"], "recording.url": entry["recording_url"],
                          "recording.duration": entry["duration_sec"], "recording.size": entry["recording_size"]})
        if activeflow["call_ended"] or payload.get("term_reason") == "hangup" or (
                payload.get("call_status") in CALL_ENDED):
            # The caller is gone (FreeClimb told us already, or says so now): it will not run
            # more PerCL. The recording is kept and the activeflow ends here.
            activeflow["call_ended"] = True
            activeflow["seq"] += 1
            activeflow.update(status="ended", waiting=None, tm_end=timestamp(self.clock()))
            return self._finish(activeflow, _Run([percl.Hangup()], []), payload, seq, started, changes)
        try:
            flow, node = self._node(activeflow, waiting["node"])
        except _Broken as exc:
            return self._abandon(activeflow, exc, payload, seq, started, changes)
        on_end = node.params.get("on_end")
        call = Call.from_webhook(payload).filled_from_variables(variables)
        target = Target(flow=on_end) if on_end else Target(node=node.next)
        run = self._continue(activeflow, flow, target, changes, urls, call)
        return self._finish(activeflow, run, payload, seq, started, changes)

    def call_ended(self, call_id: str, payload: dict[str, Any]) -> None:
        """callStatus: the call is over. A flow waiting on a recording waits for its callback."""
        if self.store.activeflows.for_call(call_id) is None:
            return
        with self.store.atomic() as changes:
            activeflow = changes.activeflows.for_call(call_id)
            if activeflow is None or activeflow["call_ended"]:
                return
            now = timestamp(self.clock())
            activeflow.update(call_ended=True, tm_update=now)
            waiting = activeflow["waiting"]
            if activeflow["status"] != "ended" and (waiting is None or waiting["kind"] != "record"):
                activeflow.update(status="ended", waiting=None, tm_end=now)
                if waiting is not None:
                    # a callback for the abandoned wait may still come: it gets this answer
                    activeflow["seq"] += 1
                    self._finish(activeflow, _Run([percl.Hangup()], []), payload, waiting["seq"],
                                 time.perf_counter(), changes)
                    return
            changes.activeflows.save(activeflow)

    # --- running ----------------------------------------------------------------------------

    def _node(self, activeflow: dict[str, Any], node_id: str) -> tuple[Flow, Node]:
        flow = self.flows.by_id(activeflow["flow_id"])
        if flow is None or node_id not in flow.nodes:
            # the flow files changed under a live call: end it politely rather than guess
            raise _Broken(f"flow {activeflow['flow_name']!r} no longer has action {node_id!r}")
        return flow, flow.nodes[node_id]

    def _flow(self, name: str) -> Flow:
        flow = self.flows.flows.get(name)
        if flow is None:  # the flow files changed under a live call
            raise _Broken(f"there is no flow {name!r} any more")
        return flow

    def _continue(self, activeflow: dict[str, Any], flow: Flow, target: Target | None,
                  changes: Changes, urls: Urls, call: Call) -> _Run:
        try:
            if target is not None and target.flow is not None:
                flow = self._flow(target.flow)
                activeflow["flow_id"], activeflow["flow_name"] = flow.id, flow.name
                return self._run(activeflow, flow, flow.start, changes, urls, call)
        except _Broken as exc:
            activeflow["seq"] += 1
            return self._fail(activeflow, exc, [])
        return self._run(activeflow, flow, None if target is None else target.node, changes, urls, call)

    def _run(self, activeflow: dict[str, Any], flow: Flow, node_id: str | None,
             changes: Changes, urls: Urls, call: Call) -> _Run:
        """Run actions from ``node_id`` until one waits for FreeClimb or the call ends."""
        run = _Run([], [])
        activeflow["seq"] += 1
        seq = activeflow["seq"]
        activeflow["waiting"] = None
        try:
            for _ in range(MAX_ACTIONS_PER_STEP):
                if node_id is None:  # the end of the flow: every call ends somewhere
                    run.commands.append(percl.Hangup())
                    activeflow["status"] = "ended"
                    break
                node = flow.nodes.get(node_id)
                if node is None:
                    raise _Broken(f"flow {flow.name!r} has no action {node_id!r} any more")
                run.actions.append(f"{flow.name}:{node.id}")
                activeflow["current_action"] = node.id
                step = self._step(activeflow, flow, node, seq, changes, urls, call, run)
                if step is None:
                    break
                flow, node_id = step
            else:
                raise _Broken(f"more than {MAX_ACTIONS_PER_STEP} actions without waiting for the "
                              "caller: the flow loops")
            percl.Script(run.commands)  # the order rules, checked before FreeClimb sees it
        except (_Broken, percl.PerclError) as exc:
            # what was said before an action FreeClimb would refuse is still worth hearing; what
            # a loop said, two hundred times over, is not
            said = [c for c in run.commands if not c.terminal] if isinstance(exc, percl.PerclError) else []
            return self._fail(activeflow, exc, run.actions, said)
        if activeflow["status"] == "ended":
            activeflow["tm_end"] = timestamp(self.clock())
        return run

    def _abandon(self, activeflow: dict[str, Any], exc: _Broken, payload: dict[str, Any], seq: int,
                 started: float, changes: Changes) -> percl.Script:
        """Answer a webhook whose flow cannot go on: the apology, logged as a step of its own."""
        activeflow["seq"] += 1
        return self._finish(activeflow, self._fail(activeflow, exc, []), payload, seq, started, changes)

    def _fail(self, activeflow: dict[str, Any], exc: Exception, actions: list[str],
              said: list[percl.Command] | None = None) -> _Run:
        """End the call politely when the flow cannot go on; the reason goes to the log."""
        if isinstance(exc, percl.PerclError):
            # not str(exc): its value could be a caller's number or words, which logs never hold
            reason = f"{exc.command}.{exc.attribute}: {exc.reason}" if exc.attribute else exc.reason
        else:
            reason = str(exc)
        log.error("activeflow %s (flow %s) failed at %s: %s", activeflow["id"],
                  activeflow["flow_name"], activeflow["current_action"], reason)
        activeflow.update(status="ended", waiting=None, error=reason,
                          tm_end=timestamp(self.clock()))
        return _Run([*(said or []), percl.Say(SORRY), percl.Hangup()], actions)

    def _step(self, activeflow: dict[str, Any], flow: Flow, node: Node, seq: int,
              changes: Changes, urls: Urls, call: Call, run: _Run) -> tuple[Flow, str | None] | None:
        """Run one action; the next (flow, node) to run, or None when the step stops here."""
        values = activeflow["variables"]
        text = lambda name: templates.render(node.params[name], values)  # noqa: E731
        options = lambda names: {k: v for k, v in node.params.items() if k in names}  # noqa: E731
        kind = node.kind
        if kind == "say":
            run.commands.append(percl.Say(text("text"), **options({"language", "loop", "privacy_mode"})))
        elif kind == "play":
            run.commands.append(percl.Play(text("file"), **options({"loop", "privacy_mode"})))
        elif kind == "pause":
            run.commands.append(percl.Pause(node.params["length"]))
        elif kind == "set":
            for name, value in node.params["values"].items():  # in order: later ones see earlier
                values[name] = templates.render(value, values)
        elif kind == "sms":
            run.commands.append(percl.Sms(to=text("to"), from_=templates.render(
                node.params.get("from", "{{ call.to }}"), values), text=text("text")))
        elif kind == "record_call":
            run.commands.append(percl.StartRecordCall())
        elif kind == "hangup":
            run.commands.append(percl.Hangup(**options({"reason"})))
            activeflow["status"] = "ended"
            return None
        elif kind == "reject":
            run.commands.append(percl.Reject(**options({"reason"})))
            activeflow["status"] = "ended"
            return None
        elif kind == "goto":
            target_flow = self._flow(node.params["flow"]) if "flow" in node.params else flow
            if target_flow is not flow:
                activeflow["flow_id"], activeflow["flow_name"] = target_flow.id, target_flow.name
            action = node.params.get("action")
            if action and action not in target_flow.labels:
                raise _Broken(f"flow {target_flow.name!r} has no action {action!r} any more")
            return target_flow, (target_flow.labels[action] if action else target_flow.start)
        elif kind == "branch":
            return self._resolve(flow, node, self._branch(node, values), activeflow)
        elif kind in ("menu", "speech_menu", "transcribe", "record"):
            run.commands.append(self._wait(activeflow, flow, node, seq, changes, urls, call, values))
            activeflow["status"] = "waiting"
            activeflow["waiting"] = {"kind": kind, "node": node.id, "seq": seq}
            return None
        elif kind == "transfer":
            timeout = node.params.get("timeout", TRANSFER_TIMEOUT_S)
            run.commands.append(percl.OutDial(
                action_url=urls.flow_step(activeflow["id"], seq, "dial"),
                call_connect_url=urls.flow_step(activeflow["id"], seq, "connect"),
                calling_number=templates.render(node.params.get("caller_id", "{{ call.to }}"), values),
                destination=text("to"), timeout=timeout,
                **options({"send_digits"})))
            activeflow["status"] = "waiting"
            activeflow["waiting"] = {"kind": "transfer", "node": node.id, "seq": seq, "outcome": None,
                                     "conference_id": None, "polls": 0,
                                     "max_polls": timeout // HOLD_POLL_S + 15}
            return None
        return flow, node.next

    def _wait(self, activeflow: dict[str, Any], flow: Flow, node: Node, seq: int, changes: Changes,
              urls: Urls, call: Call, values: dict[str, Any]) -> percl.Command:
        """The PerCL command of an action that waits for FreeClimb's callback."""
        params = node.params
        resume = urls.flow_step(activeflow["id"], seq)
        prompts = [percl.Say(templates.render(params["prompt"], values))] if "prompt" in params else None
        if node.kind == "menu":
            return percl.GetDigits(resume, prompts=prompts,
                                   **{k: v for k, v in params.items() if k in GET_DIGITS_OPTIONS})
        if node.kind == "speech_menu":
            return percl.GetSpeech(resume, templates.render(params["grammar_file"], values),
                                   prompts=prompts,
                                   **{k: v for k, v in params.items() if k in GET_SPEECH_OPTIONS})
        if node.kind == "transcribe":
            record = {k: v for k, v in params.items()
                      if k in ("save_recording", "max_length_sec", "rcrd_termination_silence_time_ms")}
            return percl.TranscribeUtterance(
                resume, prompts=prompts, record=percl.TranscribeRecord(**record) if record else None,
                **{k: v for k, v in params.items()
                   if k in ("play_beep", "privacy_for_logging", "privacy_for_recording")})
        # record: the recording entry exists from now on, bound to this activeflow
        entry_id = str(uuid.uuid5(NAMESPACE, f"record:{activeflow['id']}:{seq}"))
        now = timestamp(self.clock())
        entry = blank_entry(entry_id, now)
        entry.update(call.entry_fields(), status="recording", tm_start=now,
                     activeflow_id=activeflow["id"])
        owner = params.get("owner")
        if owner:
            entry.update(owner_type=owner["type"], owner_id=owner["id"])
        if params.get("on_end"):
            entry["on_end_flow_id"] = self._flow(params["on_end"]).id
        changes.recordings.save(entry)
        activeflow["recordings"][entry_id] = seq
        return percl.RecordUtterance(urls.record(entry_id), **{
            k: v for k, v in params.items() if k in percl.RecordUtterance.attributes})

    def _after_wait(self, activeflow: dict[str, Any], node: Node, payload: dict[str, Any]) -> Target | None:
        """Where a menu or transcription goes, given what the caller did."""
        variables = activeflow["variables"]
        if node.kind == "transcribe":
            transcript = payload.get("transcript") or ""
            variables.update({"transcript": transcript, "recording.id": payload.get("recording_id"),
                              "recording.url": payload.get("recording_url")})
            if "capture" in node.params:
                variables[node.params["capture"]] = transcript
            return Target(node=node.next)
        if node.kind == "menu":
            entered = payload.get("digits") or ""
            variables["digits"] = entered
            silent = not entered
        else:
            entered = (payload.get("recognition_result") or "").strip().lower()
            variables.update({"speech": entered, "confidence": payload.get("confidence")})
            silent = payload.get("reason") in ("noInput", "NO_INPUT") or not entered
        free_form = not any(name.startswith("option:") for name in node.branches)
        chosen = node.branches.get(f"option:{entered}")
        if chosen is None and free_form and not silent:
            chosen = Target(node=node.next)  # a menu without options takes whatever is entered
        attempts = activeflow["attempts"]
        if chosen is not None:
            attempts.pop(node.id, None)
            if "capture" in node.params:
                variables[node.params["capture"]] = entered
            return chosen
        attempts[node.id] = attempts.get(node.id, 0) + 1
        if attempts[node.id] > node.params.get("retries", 2):
            attempts.pop(node.id, None)
            return node.branches.get("fallback", Target(node=node.next))
        # another try: what the author wants said first, then the menu again
        return node.branches.get("timeout" if silent else "invalid", Target(node=node.id))

    def _branch(self, node: Node, values: dict[str, Any]) -> str:
        for index, condition in enumerate(node.params["conditions"]):
            if self._holds(condition, values):
                return f"case:{index}"
        return "else"

    def _holds(self, condition: dict[str, Any], values: dict[str, Any]) -> bool:
        if "time" in condition:
            window = condition["time"]
            local = self.clock().astimezone(ZoneInfo(window["timezone"]))
            minute = local.hour * 60 + local.minute
            return local.weekday() in window["days"] and window["from"] <= minute < window["to"]
        actual = values.get(condition["variable"])
        actual = "" if actual is None else str(actual)
        test, expected = condition["test"], condition["value"]
        if test == "equals":
            return actual == expected
        if test == "in":
            return actual in expected
        if test == "starts_with":
            return actual.startswith(expected)
        return re.search(expected, actual) is not None

    def _resolve(self, flow: Flow, node: Node, branch: str,
                 activeflow: dict[str, Any]) -> tuple[Flow, str | None]:
        target = node.branches.get(branch, Target(node=node.next))
        if target.flow is not None:
            flow = self._flow(target.flow)
            activeflow["flow_id"], activeflow["flow_name"] = flow.id, flow.name
            return flow, flow.start
        return flow, target.node

    def _finish(self, activeflow: dict[str, Any], run: _Run, payload: dict[str, Any],
                resumed: int | None, started: float, changes: Changes,
                poll: bool = False) -> percl.Script:
        received = timestamp(self.clock() - timedelta(seconds=time.perf_counter() - started))
        script = percl.Script(run.commands)
        now = timestamp(self.clock())
        activeflow["tm_update"] = now
        activeflow["executed_actions"].append({
            "seq": activeflow["seq"], "resumed": resumed, "poll": poll, "webhook": _loggable(payload),
            "actions": run.actions, "percl": script.to_wire(), "tm_received": received,
            "tm_answered": now,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        })
        changes.activeflows.save(activeflow)
        return script


class _Broken(Exception):
    """The flow cannot go on (it loops, or changed under a live call)."""


def _call_variables(call: Call) -> dict[str, Any]:
    return {"call.from": call.from_, "call.to": call.to, "call.id": call.call_id,
            "call.direction": call.direction, "call.account_id": call.account_id}


def _loggable(payload: dict[str, Any]) -> dict[str, Any]:
    """The webhook as kept on the activeflow (what FreeClimb sent, parsed)."""
    return {("from" if key == "from_" else key): value for key, value in payload.items()
            if value is not None}


def _replay(activeflow: dict[str, Any], seq: int) -> percl.Script:
    """A duplicate or late webhook for step ``seq``: the answer it got the first time."""
    if not any(step.get("resumed") == seq for step in activeflow["executed_actions"]):
        raise FlowWebhookError(409, f"step {seq} of this activeflow was never waited on")
    return _answer_of(activeflow, resumed=seq)


def _answer_of(activeflow: dict[str, Any], resumed: int | None) -> percl.Script:
    """The PerCL the activeflow gave when it handled step ``resumed`` (None: the inbound call)."""
    for step in activeflow["executed_actions"]:
        if step.get("resumed") == resumed and not step.get("poll"):
            return percl.Script.from_wire(step["percl"])
    return percl.Script(percl.Hangup())
