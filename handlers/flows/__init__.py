"""Call flows written as files: loading and checking them, running them, drawing them."""

from __future__ import annotations

import logging
from pathlib import Path

from handlers.config import VoicemailSettings
from handlers.flows.loader import flows_from_document, load_flows
from handlers.flows.model import FlowError, FlowSet

log = logging.getLogger(__name__)


def voicemail_document(settings: VoicemailSettings) -> dict:
    """The built-in flow, from the VOICEMAIL_* settings: greeting, recording, thanks, hang up."""
    say = {"language": settings.language} if settings.language else {}
    return {
        "flows": [{
            "name": "voicemail",
            "description": "The built-in voicemail line (used when FLOWS_PATH names no flows).",
            "actions": [
                {"say": {"text": settings.greeting, **say}},
                {"record": {"max_length_sec": settings.max_length_sec,
                            "finish_on_key": settings.finish_on_key,
                            "play_beep": settings.play_beep}},
                {"say": {"text": settings.thanks, **say}},
                {"hangup": None},
            ],
        }],
        "default": "voicemail",
    }


def flows_for(path: str | None, voicemail: VoicemailSettings) -> FlowSet:
    """The flows at ``path``; the built-in voicemail flow when it is unset or missing."""
    if path and Path(path).exists():
        return load_flows(path)
    if path:
        log.warning("FLOWS_PATH %s does not exist: answering calls with the built-in voicemail flow",
                    path)
    return flows_from_document(voicemail_document(voicemail), "<built-in voicemail>")


__all__ = ["FlowError", "FlowSet", "flows_for", "load_flows", "voicemail_document"]
