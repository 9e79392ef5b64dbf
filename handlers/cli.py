"""Operator commands: ``flask recordings list [--json]``, ``flask flows check|graph``."""

from __future__ import annotations

import json
import os

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
    except (OSError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    for file in written:
        click.echo(f"wrote {file}")
    if len(written) == 1:
        click.echo("Graphviz's dot is not installed: no SVG (apt-get install graphviz)")
