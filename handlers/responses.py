"""Answering FreeClimb: a Script becomes an HTTP response it reads."""

from __future__ import annotations

from flask import Response

from percl import Script


def percl_response(script: Script, status: int = 200) -> Response:
    """The script as a JSON body served as ``application/json`` (UTF-8, FreeClimb's format)."""
    return Response(script.to_json(), status=status, mimetype="application/json")
