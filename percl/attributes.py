"""Attribute kinds: what a PerCL attribute accepts, and how it looks on the wire.

Each kind checks a Python value exactly (no silent str/int coercion: ``"5"`` is not an integer
and ``True`` is not one either) and raises :class:`Invalid` with a reason. The command classes
turn that into a :class:`~percl.errors.PerclError` naming the command and the attribute.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from percl.model import Struct


class Invalid(Exception):
    """A value an attribute kind refuses; the message is the reason."""


class Kind:
    """How one attribute's values are checked and written."""

    def check(self, value: Any) -> Any:
        """Return the value to store (possibly normalised, e.g. a list to a tuple) or raise Invalid."""
        raise NotImplementedError

    def to_wire(self, value: Any) -> Any:
        return value

    def read(self, value: Any) -> Any:
        """What attribute access returns (a copy where the stored value is mutable)."""
        return value

    def from_wire(self, value: Any) -> Any:
        """Turn a decoded JSON value into what ``check`` expects (nested objects become instances)."""
        return value



class Text(Kind):
    def __init__(self, *, max_bytes: int | None = None, max_chars: int | None = None,
                 non_empty: bool = False) -> None:
        self.max_bytes = max_bytes
        self.max_chars = max_chars
        self.non_empty = non_empty

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"must be a string, not {type(value).__name__}")
        encoded = _utf8(value)
        if self.non_empty and not value.strip():
            raise Invalid("must not be empty")
        if self.max_chars is not None and len(value) > self.max_chars:
            raise Invalid(f"must be at most {self.max_chars} characters, has {len(value)}")
        if self.max_bytes is not None:
            size = len(encoded)
            if size > self.max_bytes:
                raise Invalid(f"must be at most {self.max_bytes} bytes in UTF-8, has {size}")
        return value



def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("must be valid Unicode text (it has a lone surrogate)") from None


class Pattern(Text):
    """A string matching a regular expression, described in words for the error message."""

    def __init__(self, regex: str, meaning: str) -> None:
        super().__init__(non_empty=True)
        self.regex = re.compile(regex)
        self.meaning = meaning

    def check(self, value: Any) -> str:
        value = super().check(value)
        if not self.regex.fullmatch(value):
            raise Invalid(f"must be {self.meaning}")
        return value



#: The largest integer an attribute takes: FreeClimb's numbers are 32-bit on its side.
INT_MAX = 2**31 - 1


class Integer(Kind):
    def __init__(self, *, minimum: int | None = None, maximum: int | None = INT_MAX) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def check(self, value: Any) -> int:
        # bool is a subclass of int in Python; FreeClimb's JSON would carry true/false, not 1/0.
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"must be an integer, not {type(value).__name__}")
        _check_range(value, self.minimum, self.maximum)
        return value



class Number(Kind):
    def __init__(self, *, minimum: float | None = None, maximum: float | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def check(self, value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid(f"must be a number, not {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise Invalid("must be a finite number")
        _check_range(value, self.minimum, self.maximum)
        return value



def _check_range(value: float, minimum: float | None, maximum: float | None) -> None:
    documented = maximum is not None and maximum != INT_MAX  # a range FreeClimb documents
    if minimum is not None and documented and not minimum <= value <= maximum:
        raise Invalid(f"must be between {minimum} and {maximum}")
    if minimum is not None and value < minimum:
        raise Invalid("must not be negative" if minimum == 0 else f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise Invalid(f"must be at most {maximum}")

class Boolean(Kind):
    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise Invalid(f"must be true or false, not {type(value).__name__}")
        return value



class OneOf(Kind):
    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(values)

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"must be a string, not {type(value).__name__}")
        if value not in self.values:
            raise Invalid(f"must be one of {', '.join(self.values)}")
        return value



class Url(Text):
    """An absolute URL: FreeClimb fetches or posts to it, so a relative path can never work."""

    def __init__(self, schemes: tuple[str, ...] | None = ("http", "https"), *,
                 ports: tuple[int, ...] | None = None, freeclimb_paths: bool = False) -> None:
        """``schemes=None`` accepts any scheme (a gRPC location is a URI of its own kind);
        ``freeclimb_paths`` also accepts a path of FreeClimb's own API (``/Accounts/...``), the
        form some record webhooks give a recordingUrl in, which Play takes as it is."""
        super().__init__(max_bytes=2048, non_empty=True)
        self.schemes = schemes
        self.ports = ports
        self.freeclimb_paths = freeclimb_paths

    def check(self, value: Any) -> str:
        value = super().check(value)
        if any(ch.isspace() for ch in value):
            raise Invalid("must be an absolute URL without spaces")
        if self.freeclimb_paths and value.startswith("/Accounts/"):
            return value
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:
            raise Invalid(f"must be an absolute URL ({exc})") from None
        if self.schemes is None:
            if not parts.scheme or not parts.hostname:
                raise Invalid("must be an absolute URI with a host")
        elif parts.scheme.lower() not in self.schemes or not parts.hostname:
            raise Invalid(f"must be an absolute {' or '.join(self.schemes)} URL"
                          + (" or a FreeClimb /Accounts/... path" if self.freeclimb_paths else ""))
        if self.ports is not None and port is not None and port not in self.ports:
            raise Invalid(f"must use port {' or '.join(map(str, self.ports))}")
        return value



class StringList(Kind):
    def check(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, (list, tuple)):
            raise Invalid(f"must be a list of strings, not {type(value).__name__}")
        for item in value:
            if not isinstance(item, str):
                raise Invalid(f"must be a list of strings; has a {type(item).__name__}")
            _utf8(item)
        return tuple(value)

    def to_wire(self, value: tuple[str, ...]) -> list[str]:
        return list(value)



class JsonObject(Kind):
    """A free-form JSON object (engine parameters are engine-specific and not ours to check).

    The value is copied into plain JSON types (tuples become lists), so the caller's later
    changes to their dict cannot change a command that was already checked.
    """

    def check(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid(f"must be an object with string keys, not {type(value).__name__}")
        try:
            return _json_copy(value)
        except RecursionError:
            raise Invalid("is nested too deeply") from None

    def read(self, value: dict[str, Any]) -> dict[str, Any]:
        return _json_copy(value)

    def to_wire(self, value: dict[str, Any]) -> dict[str, Any]:
        return _json_copy(value)



def _json_copy(value: Any) -> Any:
    if isinstance(value, str):
        _utf8(value)
        return value
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid("must hold only finite numbers")
        return value
    if isinstance(value, (list, tuple)):
        return [_json_copy(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise Invalid("must have string keys")
        for key in value:
            _utf8(key)
        return {key: _json_copy(item) for key, item in value.items()}
    raise Invalid(f"must hold only JSON values; has a {type(value).__name__}")


class Nested(Kind):
    """An attribute whose value is a small object of its own (TranscribeUtterance's record)."""

    def __init__(self, struct: type[Struct]) -> None:
        self.struct = struct

    def check(self, value: Any) -> Struct:
        if not isinstance(value, self.struct):
            raise Invalid(f"must be a {self.struct.__name__}, not {type(value).__name__}")
        return value

    def to_wire(self, value: Struct) -> dict[str, Any]:
        return value.wire_attributes()

    def from_wire(self, value: Any) -> Struct:
        if not isinstance(value, dict):
            raise Invalid(f"must be an object, not {json_type(value)}")
        return self.struct.from_wire_attributes(value)



class Prompts(Kind):
    """The commands played while a terminal command waits for input: Say, Play and Pause only."""

    def check(self, value: Any) -> tuple[Any, ...]:
        from percl.model import Command  # the command classes are built on this module

        if isinstance(value, Command) or not isinstance(value, (list, tuple)):
            raise Invalid(f"must be a list of Say, Play or Pause commands, not {type(value).__name__}")
        for index, item in enumerate(value):
            if not isinstance(item, Command):
                raise Invalid(f"may hold only Say, Play or Pause commands; item {index} is a "
                              f"{type(item).__name__}")
            if not item.nestable:
                raise Invalid(f"may hold only Say, Play or Pause commands; item {index} is "
                              f"{item.wire_name}, which cannot be nested")
        return tuple(value)

    def to_wire(self, value: tuple[Any, ...]) -> list[dict[str, Any]]:
        return [command.to_wire() for command in value]

    def from_wire(self, value: Any) -> list[Any]:
        from percl.model import parse_command

        if not isinstance(value, list):
            raise Invalid(f"must be an array of commands, not {json_type(value)}")
        return [parse_command(item, location=f".prompts[{i}]") for i, item in enumerate(value)]



def json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
