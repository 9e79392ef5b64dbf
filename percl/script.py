"""A PerCL script: an ordered list of commands FreeClimb runs one after another."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, overload

from percl.attributes import json_type
from percl.errors import PerclError
from percl.model import Command, parse_command


class Script:
    """Commands in the order FreeClimb runs them.

    Built one command at a time, a script refuses what FreeClimb would silently skip or reject:
    a command after a terminal one (it would never run) and PlayEarlyMedia anywhere but first.

        Script(Say("Leave a message after the beep."),
               RecordUtterance("https://example.com/record", finish_on_key="#"))
    """

    def __init__(self, *commands: Command | Iterable[Command]) -> None:
        self._commands: list[Command] = []
        if len(commands) == 1 and isinstance(commands[0], (list, tuple)):
            commands = tuple(commands[0])
        for command in commands:
            self.append(command)  # type: ignore[arg-type]

    def append(self, command: Command) -> Script:
        """Add a command at the end; returns the script so calls can be chained."""
        position = f"[{len(self._commands)}]"
        if not isinstance(command, Command):
            what = command.__name__ if isinstance(command, type) else type(command).__name__
            hint = f" (did you mean {what}(...)?)" if isinstance(command, type) else ""
            raise PerclError(f"a script holds PerCL commands, not {what}{hint}", location=position)
        if self._commands and self._commands[-1].terminal:
            last = self._commands[-1].wire_name
            raise PerclError(
                f"comes after {last}, a terminal command: FreeClimb never runs it",
                command=command.wire_name, location=position,
            )
        if command.first_only and self._commands:
            raise PerclError("must be the first command of a script, or FreeClimb ignores it",
                             command=command.wire_name, location=position)
        self._commands.append(command)
        return self

    def extend(self, commands: Iterable[Command]) -> Script:
        for command in commands:
            self.append(command)
        return self

    @property
    def commands(self) -> tuple[Command, ...]:
        return tuple(self._commands)

    @property
    def ends_with_terminal(self) -> bool:
        """True when the last command hands the call elsewhere (nothing more can be added)."""
        return bool(self._commands) and self._commands[-1].terminal

    def __len__(self) -> int:
        return len(self._commands)

    def __iter__(self) -> Iterator[Command]:
        return iter(tuple(self._commands))

    @overload
    def __getitem__(self, index: int) -> Command: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Command, ...]: ...

    def __getitem__(self, index: int | slice) -> Command | tuple[Command, ...]:
        if isinstance(index, slice):
            return tuple(self._commands[index])
        return self._commands[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Script):
            return NotImplemented
        return self._commands == other._commands

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Script({', '.join(map(repr, self._commands))})"

    # --- the wire -------------------------------------------------------------------------

    def to_wire(self) -> list[dict[str, dict[str, Any]]]:
        """The script as decoded JSON: ``[{"Say": {"text": ...}}, ...]``."""
        return [command.to_wire() for command in self._commands]

    def to_json(self, *, indent: int | None = None) -> str:
        """The script as FreeClimb reads it; the same script always gives the same text."""
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(self.to_wire(), ensure_ascii=False, indent=indent, separators=separators,
                          allow_nan=False)

    @classmethod
    def from_wire(cls, document: Any) -> Script:
        """Check a decoded PerCL document and build the Script; raises the first problem found."""
        script, problems = _read(document)
        if problems:
            raise problems[0]
        assert script is not None
        return script

    @classmethod
    def from_json(cls, text: str | bytes) -> Script:
        """Parse PerCL text (a JSON array of commands) with every check the builder makes."""
        return cls.from_wire(decode_json(text))


def decode_json(text: str | bytes) -> Any:
    """Strict JSON: duplicate keys, NaN and Infinity are errors, not silently accepted."""
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                raise PerclError(f"not valid PerCL: the key {key!r} appears twice in one object")
            obj[key] = value
        return obj

    def no_constant(name: str) -> Any:
        raise PerclError(f"not valid JSON: {name} is not a JSON number")

    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except PerclError:
        raise
    except json.JSONDecodeError as exc:
        raise PerclError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise PerclError(f"not valid JSON: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise PerclError("not valid PerCL: arrays and objects are nested too deeply") from None
    except ValueError:  # the one left: an integer longer than Python reads (4300 digits)
        raise PerclError("not valid JSON: a number has more digits than can be read") from None


def check(document: Any) -> list[PerclError]:
    """Every problem in a decoded PerCL document (one per faulty command), in document order."""
    return _read(document)[1]


_TOO_DEEP = "not valid PerCL: commands are nested too deeply"


def _read(document: Any) -> tuple[Script | None, list[PerclError]]:
    if not isinstance(document, list):
        return None, [PerclError(f"a PerCL script is a JSON array of commands, not {json_type(document)}")]
    script = Script()
    problems: list[PerclError] = []
    # Once a command fails we keep checking the rest on their own, so one run reports them all;
    # order rules are checked against the commands that did parse.
    for index, element in enumerate(document):
        try:
            command = parse_command(element, location=f"[{index}]")
        except PerclError as exc:
            problems.append(exc)
            continue
        except RecursionError:  # prompts inside prompts, hundreds deep
            problems.append(PerclError(_TOO_DEEP, location=f"[{index}]"))
            continue
        try:
            script.append(command)
        except PerclError as exc:
            # the script's own position skips failed commands; report the document's index
            problems.append(PerclError(exc.reason, command=exc.command, location=f"[{index}]"))
    return (None if problems else script), problems
