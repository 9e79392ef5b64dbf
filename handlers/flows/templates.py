"""``{{ name }}`` placeholders in flow text: which names a text uses, and filling them in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
_OPENED = re.compile(r"\{\{(.*?)(\}\}|$)", re.S)

#: Names every call has, whatever the flow does.
CALL_NAMES = frozenset({
    "call.from", "call.to", "call.id", "call.direction", "call.account_id",
})
#: Names an action fills in when it runs (the one named after the colon).
PRODUCED_BY = {
    "menu": {"digits"},
    "speech_menu": {"speech", "confidence"},
    "record": {"recording.id", "recording.url", "recording.duration", "recording.size"},
    "transcribe": {"transcript", "recording.id", "recording.url"},
    "transfer": {"transfer.status"},
}


def names_in(text: str) -> list[str]:
    """The placeholder names a text uses, in order; ValueError for a malformed ``{{ ... }}``.

    Every ``{{`` must open a placeholder of one name (``{{ call.from }}``): otherwise the
    caller would hear the braces.
    """
    names = []
    for opened in _OPENED.finditer(text):
        if not opened.group(2):
            raise ValueError("has a '{{' that is not closed by '}}'")
        placeholder = PLACEHOLDER.fullmatch(opened.group(0))
        if placeholder is None:
            raise ValueError(f"has {opened.group(0)[:40]!r}, which is not a placeholder of one "
                             "name such as {{ call.from }}")
        names.append(placeholder.group(1))
    return names


def render(text: str, values: Mapping[str, Any]) -> str:
    """Fill in placeholders; a name without a value renders empty."""
    def value(match: re.Match[str]) -> str:
        found = values.get(match.group(1))
        return "" if found is None else str(found)

    return PLACEHOLDER.sub(value, text)
