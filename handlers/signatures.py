"""Checking the ``FreeClimb-Signature`` header of a webhook.

FreeClimb signs ``f"{t}.{raw body}"`` with HMAC-SHA256 keyed by the signing secret and sends
``t=<unix seconds>,v1=<hex>[,v1=<hex>...]``. A request passes when any ``v1`` matches any
configured secret (secrets rotate) and ``t`` is within the tolerance of now, in either
direction. The SDK's own verifier is not used: it accepts days-old and future timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Sequence

HEADER = "FreeClimb-Signature"
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: str.isdigit() also takes "²"


class SignatureError(Exception):
    """A request whose signature does not pass; ``reason`` is missing, malformed, stale or mismatch."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The header value FreeClimb would send for ``body`` at ``timestamp`` (tests, the simulator)."""
    return f"t={timestamp},v1={_digest(body, secret, timestamp)}"


def _digest(body: bytes, secret: str, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def parse_header(header: str) -> tuple[int, list[str]]:
    """``(t, [v1, ...])`` from the header; SignatureError("malformed") when it cannot be read."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            raise SignatureError("malformed", f"signature header part {part.strip()!r} is not key=value")
        if key == "t":
            if timestamp is not None:
                raise SignatureError("malformed", "signature header has more than one t")
            if not _DIGITS.fullmatch(value):
                raise SignatureError("malformed", "signature timestamp t is not a whole number")
            timestamp = int(value)
        elif key == "v1":
            if not _HEX.fullmatch(value):
                raise SignatureError("malformed", "a v1 signature is not 64 hex digits")
            signatures.append(value.lower())
        # other schemes (v0, future versions) are not ours to judge
    if timestamp is None:
        raise SignatureError("malformed", "signature header has no timestamp t")
    if not signatures:
        raise SignatureError("malformed", "signature header has no v1 signature")
    return timestamp, signatures


def verify(header: str | None, body: bytes, secrets: Sequence[str], tolerance_s: int,
           now: float | None = None) -> None:
    """Raise SignatureError unless the header signs ``body`` with one of ``secrets`` in time."""
    if header is None or not header.strip():
        raise SignatureError("missing", f"the {HEADER} header is missing")
    timestamp, signatures = parse_header(header)
    now = time.time() if now is None else now
    skew = now - timestamp
    if abs(skew) > tolerance_s:
        when = f"{int(skew)} s old" if skew > 0 else f"{int(-skew)} s in the future"
        raise SignatureError("stale", f"signature timestamp is {when}; the tolerance is {tolerance_s} s")
    matched = False
    for secret in secrets:
        expected = _digest(body, secret, timestamp)
        for candidate in signatures:
            # compare every pair, so the time taken does not tell which secret or v1 matched
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("mismatch", "no v1 signature matches the body with a configured secret")
