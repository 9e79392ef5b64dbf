"""Operator commands: ``flask recordings list [--json]``, ``flask flows check|graph``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

recordings_cli = AppGroup("recordings", help="Look at the recordings the app has stored.")

_COLUMNS = (("id", 36), ("status", 9), ("recording_id", 24), ("duration_sec", 8),
            ("recording_size", 10), ("tm_create", 26))


@recordings_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as a JSON array.")
def list_recordings(as_json: bool) -> None:
    """List stored recordings, oldest first."""
    entries = current_app.extensions["store"].recordings.all()
    if as_json:
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
        return
    if not entries:
        click.echo("No recordings stored.")
        return
    header = "  ".join(name.ljust(width) for name, width in _COLUMNS)
    click.echo(header.rstrip())
    for entry in entries:
        cells = ("" if entry.get(name) is None else str(entry[name]) for name, _ in _COLUMNS)
        click.echo("  ".join(cell.ljust(width) for cell, (_, width) in zip(cells, _COLUMNS)).rstrip())
    click.echo(f"{len(entries)} recording{'s' if len(entries) != 1 else ''}")


def _entry_or_fail(entry_id: str) -> dict:
    entry = current_app.extensions["store"].recordings.get(entry_id)
    if entry is None:
        raise click.ClickException(f"no recording {entry_id}")
    return entry


@recordings_cli.command("show")
@click.argument("entry_id")
def show_recording(entry_id: str) -> None:
    """Every field of one recording, as JSON."""
    click.echo(json.dumps(_entry_or_fail(entry_id), indent=2, ensure_ascii=False))


@recordings_cli.command("download")
@click.argument("entry_id")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def download_recording(entry_id: str, path: str) -> None:
    """Write a recording's audio to PATH: our copy, or fetched from FreeClimb now."""
    import shutil

    from handlers.mirror import MirrorFailure, audio_path, download

    from storage.recordings import is_deleted

    entry = _entry_or_fail(entry_id)
    if is_deleted(entry):
        raise click.ClickException(f"recording {entry_id} was deleted at {entry['tm_delete']}")
    settings = current_app.config["SETTINGS"]
    ours = audio_path(settings.data_dir, entry["id"])
    if ours.is_file():
        try:
            shutil.copyfile(ours, path)
        except OSError as exc:
            raise click.ClickException(f"cannot write {path}: {exc.strerror}") from None
        click.echo(f"wrote {path} ({ours.stat().st_size} bytes, from our copy)")
        return
    try:
        sha256, size = download(current_app.extensions["mirror"].source, entry, Path(path))
    except MirrorFailure as exc:
        raise click.ClickException(f"recording {entry_id}: {exc.reason}") from None
    click.echo(f"wrote {path} ({size} bytes from FreeClimb, sha256 {sha256})")


@recordings_cli.command("delete")
@click.argument("entry_id")
def delete_recording_command(entry_id: str) -> None:
    """Soft-delete a recording: our audio removed, FreeClimb's copy deleted when configured."""
    from handlers.recordings import delete_recording

    _entry_or_fail(entry_id)
    entry = delete_recording(current_app.extensions["store"].recordings, entry_id,
                             current_app.config["SETTINGS"].data_dir,
                             current_app.extensions["freeclimb_api"],
                             current_app.extensions["flow_engine"].now())
    remote = ("FreeClimb's copy deleted" if entry.get("freeclimb_deleted")
              else "FreeClimb's copy kept (no credentials, or FreeClimb did not answer)")
    click.echo(f"deleted {entry_id} at {entry['tm_delete']}; {remote}")


@recordings_cli.command("purge")
@click.option("--days", type=click.IntRange(1, 36500), default=None,
              help="Older than this many days (default: RETENTION_DAYS).")
def purge_recordings(days: int | None) -> None:
    """Soft-delete recordings older than the retention period and remove their audio."""
    from datetime import timedelta

    from handlers.recordings import delete_recording
    from storage.recordings import is_deleted, timestamp

    settings = current_app.config["SETTINGS"]
    days = days or settings.retention_days
    if days is None:
        raise click.ClickException("RETENTION_DAYS is not set (recordings are kept forever); "
                                   "pass --days to purge anyway")
    engine = current_app.extensions["flow_engine"]
    cutoff = timestamp(engine.clock() - timedelta(days=days))
    recordings = current_app.extensions["store"].recordings
    old = [e for e in recordings.all() if e["tm_create"] < cutoff and not is_deleted(e)]
    for entry in old:
        delete_recording(recordings, entry["id"], settings.data_dir,
                         current_app.extensions["freeclimb_api"], engine.now())
    click.echo(f"purged {len(old)} recording{'s' if len(old) != 1 else ''} created before {cutoff}")


@recordings_cli.command("mirror")
def mirror_recordings() -> None:
    """Fetch every recording whose audio we do not hold yet (one pass, in this process)."""
    mirror = current_app.extensions["mirror"]
    mirror.stop()  # this pass, not the background thread, does the work here
    made = mirror.run_once()
    pending = len(current_app.extensions["store"].recordings.pending_mirrors())
    click.echo(f"mirrored {made}; {pending} still pending")


# --- flows ----------------------------------------------------------------------------------
# A plain click group, registered as a Flask plugin command (see pyproject.toml), so that
# `flask flows check` works precisely when the app itself cannot start because of a bad flow.

flows_cli = click.Group("flows", help="Check and draw the call flows in FLOWS_PATH.")


def _load_for_cli(path: str | None):
    from handlers.config import ConfigError, load_settings
    from handlers.flows import FlowError, flows_for

    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    chosen = path or settings.flows_path
    if chosen and not os.path.exists(chosen):
        raise click.ClickException(f"{chosen}: no such file or folder")
    try:
        return flows_for(chosen, settings.voicemail)
    except FlowError as exc:
        click.echo(f"error: {exc}", err=True)
        raise click.exceptions.Exit(1) from None


@flows_cli.command("check")
@click.argument("path", required=False)
def check_flows(path: str | None) -> None:
    """Load and lint the flows in PATH (default: FLOWS_PATH, else the built-in voicemail)."""
    from handlers.flows.lint import lint

    flows = _load_for_cli(path)
    findings = lint(flows)
    for finding in findings:
        click.echo(str(finding), err=finding.severity == "error")
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    click.echo(f"{len(flows.flows)} flow{'s' if len(flows.flows) != 1 else ''} in "
               f"{', '.join(flows.files)}: {errors} error{'s' if errors != 1 else ''}, "
               f"{warnings} warning{'s' if warnings != 1 else ''}")
    if errors:
        raise click.exceptions.Exit(1)


@flows_cli.command("graph")
@click.argument("flow")
@click.option("--path", help="Flow file or folder (default: FLOWS_PATH).")
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder for FLOW.mmd (and FLOW.svg where Graphviz is installed).")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the Mermaid text instead.")
def graph_flow(flow: str, path: str | None, out_dir: str, to_stdout: bool) -> None:
    """Draw FLOW as a Mermaid diagram, and as SVG where Graphviz's dot is installed."""
    from pathlib import Path

    from handlers.flows.graph import mermaid, write_graph

    flows = _load_for_cli(path)
    if flow not in flows.flows:
        raise click.ClickException(f"no flow named {flow!r}; there are {', '.join(flows.flows)}")
    if to_stdout:
        click.echo(mermaid(flows.flows[flow], flows), nl=False)
        return
    try:
        written = write_graph(flows.flows[flow], flows, Path(out_dir))
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        raise click.ClickException(str(exc)) from None
    for file in written:
        click.echo(f"wrote {file}")
    if len(written) == 1:
        click.echo("Graphviz's dot is not installed: no SVG (apt-get install graphviz)")


# --- simulate ---------------------------------------------------------------------------------


def _parse_step(text: str):
    """``press:1``, ``say:sales``, ``silence``, ``record:8[:hangup]``, ``transcribe:TEXT``,
    ``answer[:SECONDS]``, ``no_answer[:STATUS]``, ``hangup``."""
    from handlers.simulate import ScenarioError, _step

    kind, _, value = text.strip().partition(":")
    raw: object
    if kind in ("silence", "hangup"):
        raw = {kind: None}
    elif kind in ("press", "say"):
        raw = {kind: value}
    elif kind == "record":
        seconds, _, end = value.partition(":")
        if seconds and not seconds.isdigit():
            raise click.BadParameter(f"step {text!r}: record takes whole seconds, e.g. record:8")
        raw = {"record": {"seconds": int(seconds) if seconds else 3, **({"end": end} if end else {})}}
    elif kind == "transcribe":
        raw = {"transcribe": {"text": value}}
    elif kind == "answer":
        if value and not value.isdigit():
            raise click.BadParameter(f"step {text!r}: answer takes whole seconds of ringing, e.g. answer:5")
        raw = {"answer": {"seconds": int(value)} if value else {}}
    elif kind == "no_answer":
        raw = {"no_answer": {"status": value} if value else {}}
    else:
        raw = {kind: value}
    try:
        return _step(raw, f"step {text!r}")
    except ScenarioError as exc:
        raise click.BadParameter(str(exc)) from None


def _ask_on_terminal(point: str, allowed: set[str]):
    hint = {"GetDigits": "press:DIGITS, silence or hangup", "GetSpeech": "say:PHRASE, silence or hangup",
            "RecordUtterance": "record:SECONDS[:END] or hangup",
            "TranscribeUtterance": "transcribe:TEXT or hangup",
            "OutDial": "answer[:SECONDS], no_answer or hangup"}[point]
    while True:
        answer = click.prompt(f"FreeClimb waits ({point}); you: {hint}", default="hangup")
        try:
            step = _parse_step(answer)
        except click.BadParameter as exc:
            click.echo(exc.message, err=True)
            continue
        if step.kind in allowed:
            return step
        click.echo(f"{step.kind} does not fit a {point}", err=True)


@click.command("simulate")
@click.option("--scenario", "scenarios", multiple=True, type=click.Path(dir_okay=False),
              help="A scenario file (YAML); may be given several times.")
@click.option("--to", "to", default=None, help="The number called (default: the default flow's).")
@click.option("--from", "from_", default="+13125550100", show_default=True, help="The caller's number.")
@click.option("--step", "steps", multiple=True, help="What the caller does, in order: press:1, "
              "say:sales, silence, record:8[:hangup], transcribe:TEXT, answer[:S], no_answer, hangup.")
@click.option("--interactive", is_flag=True, help="Ask on the terminal whenever the call waits.")
@click.option("--url", default=None, help="Call an app at this base URL (a local gunicorn, an "
              "ngrok URL) instead of this app in process.")
@click.option("--secret", envvar="FREECLIMB_SIGNING_SECRET", default=None,
              help="Signing secret for --url (default: FREECLIMB_SIGNING_SECRET).")
@click.option("--budget-ms", type=click.IntRange(1, 60000), default=None,
              help="Latency budget per answer (default 1000, or the scenario's).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def simulate_command(scenarios, to, from_, steps, interactive, url, secret, budget_ms, as_json) -> None:
    """Simulate a call: FreeClimb's side, played against the app, with a scripted caller."""
    from flask.cli import ScriptInfo

    from handlers.simulate import Scenario, ScenarioError, Simulator, load_scenario
    from percl.interpreter import CallParams

    try:
        runs_of = [load_scenario(path) for path in scenarios]
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    if not runs_of:
        runs_of = [Scenario(name="call", call=CallParams(to=to or CallParams().to, from_=from_),
                            caller=[_parse_step(step) for step in steps], source="<command line>")]
    if url:
        simulator = Simulator(base_url=url, secret=secret,
                              ask=_ask_on_terminal if interactive else None)
    else:
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
        simulator = Simulator(app=app, ask=_ask_on_terminal if interactive else None)
    results = []
    with simulator:
        for scenario in runs_of:
            if budget_ms is not None:
                scenario.latency_budget_s = budget_ms / 1000
            run = simulator.run(scenario)
            results.append(run)
            if not as_json:
                click.echo(f"== {scenario.name} ({scenario.source})")
                click.echo(run.result.transcript())
                for unmet in run.unmet:
                    click.echo(f"UNMET: {unmet}")
                click.echo("")
    if as_json:
        click.echo(json.dumps([run.to_dict() for run in results], indent=2))
    failed = [run for run in results if not run.ok]
    if not as_json:
        click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise click.exceptions.Exit(1)


# --- freeclimb ---------------------------------------------------------------------------------

freeclimb_cli = click.Group("freeclimb", help="Set up FreeClimb for this app.")


@freeclimb_cli.command("urls")
def freeclimb_urls() -> None:
    """The URLs to paste into the FreeClimb Application, for the current PUBLIC_BASE_URL."""
    from handlers.config import ConfigError, load_settings

    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not settings.public_base_url:
        raise click.ClickException("PUBLIC_BASE_URL is not set: set it to the app's public address, "
                                   "e.g. your ngrok https URL")
    base = settings.public_base_url
    click.echo(f"voiceUrl           {base}/freeclimb/voice")
    click.echo(f"statusCallbackUrl  {base}/freeclimb/status")
    if not settings.verifies_signatures:
        click.echo("warning: FREECLIMB_SIGNING_SECRET is not set: copy the Application's signing "
                   "secret into it before taking real calls", err=True)


@freeclimb_cli.command("tunnel")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True,
              help="The local port the app listens on.")
def freeclimb_tunnel(port: int) -> None:
    """Open an ngrok tunnel to the local app (needs pyngrok: pip install pyngrok) and print the
    URLs to paste into FreeClimb. Runs until Ctrl-C."""
    try:
        from pyngrok import ngrok
    except ImportError:
        raise click.ClickException("pyngrok is not installed: pip install pyngrok, or start ngrok "
                                   f"yourself (ngrok http {port}) and set PUBLIC_BASE_URL") from None
    tunnel = ngrok.connect(port, "http")
    base = tunnel.public_url.replace("http://", "https://", 1)
    click.echo(f"tunnel             {base} -> http://127.0.0.1:{port}")
    click.echo(f"voiceUrl           {base}/freeclimb/voice")
    click.echo(f"statusCallbackUrl  {base}/freeclimb/status")
    click.echo(f"Start the app with PUBLIC_BASE_URL={base}; Ctrl-C closes the tunnel.")
    try:
        ngrok.get_ngrok_process().proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        ngrok.disconnect(tunnel.public_url)
