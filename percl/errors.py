"""The one error type the PerCL builder and parser raise."""

from __future__ import annotations

import reprlib
from typing import Any

_MISSING = object()

class _Short(reprlib.Repr):
    """Error messages show a short form of the value: long strings and deep structures cut."""

    def repr_str(self, value: str, level: int) -> str:
        text = repr(value)
        return text if len(text) <= 60 else text[:55] + "...'"


_SHORT = _Short()
_SHORT.maxother = 60
_SHORT.maxlevel = 3


def show_value(value: Any) -> str:
    return _SHORT.repr(value)


class PerclError(ValueError):
    """A PerCL command or script that FreeClimb would not run as intended.

    ``command`` is the command's name (``"Say"``), ``attribute`` the attribute at fault (as it
    was named by the caller: snake_case when building, camelCase when parsing), ``value`` the
    offending value and ``location`` where in a script it sits (``"[2]"``, ``"[0].prompts[1]"``).
    Any of them may be ``None`` when they do not apply.
    """

    def __init__(
        self,
        reason: str,
        *,
        command: str | None = None,
        attribute: str | None = None,
        value: Any = _MISSING,
        location: str | None = None,
    ) -> None:
        self.reason = reason
        self.command = command
        self.attribute = attribute
        self.has_value = value is not _MISSING
        self.value = value if self.has_value else None
        self.location = location
        super().__init__(self._message())

    def _message(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(f"script{self.location}")
        if self.command:
            parts.append(f"{self.command}.{self.attribute}" if self.attribute else self.command)
        elif self.attribute:
            parts.append(self.attribute)
        text = f"{' '.join(parts)}: {self.reason}" if parts else self.reason
        if self.has_value:
            text += f" (got {show_value(self.value)})"
        return text

    def relocated(self, location: str, *, attribute: str | None = None,
                  reason: str | None = None) -> PerclError:
        """The same error placed at ``location`` in a script, optionally reworded."""
        return PerclError(
            reason if reason is not None else self.reason,
            command=self.command,
            attribute=attribute if attribute is not None else self.attribute,
            value=self.value if self.has_value else _MISSING,
            location=(location + (self.location or "")) or None,
        )
