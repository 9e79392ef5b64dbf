"""Operator commands: ``flask recordings list [--json]``."""

from __future__ import annotations

import json

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
