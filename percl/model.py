"""The machinery behind the command classes: declared attributes, checked construction,
wire serialisation and parsing.

A class lists its attributes as :class:`Attr` descriptors in wire order. Instances are
immutable: every value is checked once, when the object is built, so a command that exists is
a command FreeClimb can run. ``replace()`` builds a changed copy through the same checks.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, ClassVar

from percl.attributes import Invalid, Kind, json_type
from percl.errors import PerclError


def camel_case(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Attr:
    """One attribute of a command: its kind, whether it is required, and its wire name."""

    def __init__(self, kind: Kind, *, required: bool = False, wire: str | None = None) -> None:
        self.kind = kind
        self.required = required
        self.wire = wire
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if self.wire is None:
            self.wire = camel_case(name)

    def __get__(self, instance: Struct | None, owner: type) -> Any:
        if instance is None:
            return self
        value = instance._values.get(self.name)
        return None if value is None else self.kind.read(value)


class Struct:
    """An object made of declared attributes: a PerCL command, or an object nested in one."""

    wire_name: ClassVar[str]
    attributes: ClassVar[dict[str, Attr]] = {}
    _by_wire: ClassVar[dict[str, Attr]] = {}
    _values: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.wire_name = cls.__dict__.get("wire_name", cls.__name__)
        attrs = dict(cls.attributes)
        attrs.update((key, value) for key, value in cls.__dict__.items() if isinstance(value, Attr))
        cls.attributes = attrs
        cls._by_wire = {attr.wire: attr for attr in attrs.values()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        required = [attr for attr in self.attributes.values() if attr.required]
        if len(args) > len(required):
            names = ", ".join(attr.name for attr in required) or "none"
            raise PerclError(
                f"takes {len(required)} positional argument(s) ({names}), got {len(args)}; "
                "pass the others by keyword",
                command=self.wire_name,
            )
        for attr, value in zip(required, args):
            if attr.name in kwargs:
                raise PerclError("given both by position and by keyword", command=self.wire_name,
                                 attribute=attr.name)
            kwargs[attr.name] = value

        values: dict[str, Any] = {}
        for key, value in kwargs.items():
            attr = self.attributes.get(key)
            if attr is None:
                raise self._unknown(key, [a.name for a in self.attributes.values()], self._by_wire)
            if value is None:  # None means "leave it out", as FreeClimb's own SDK treats it
                continue
            try:
                values[key] = attr.kind.check(value)
            except Invalid as exc:
                raise PerclError(str(exc), command=self.wire_name, attribute=key, value=value) from None
        for attr in required:
            if attr.name not in values:
                raise PerclError("is required", command=self.wire_name, attribute=attr.name)
        object.__setattr__(self, "_values", values)
        self.check_together()

    @classmethod
    def _unknown(cls, key: str, known: list[str], other_names: dict[str, Attr]) -> PerclError:
        if not known:
            reason = f"unknown attribute: {cls.wire_name} takes no attributes"
        else:
            reason = f"unknown attribute: {cls.wire_name} takes {', '.join(known)}"
            if key in other_names:
                reason += f" (did you mean {other_names[key].name}?)"
            else:
                close = difflib.get_close_matches(key, known, n=1)
                if close:
                    reason += f" (did you mean {close[0]}?)"
        return PerclError(reason, command=cls.wire_name, attribute=key)

    def check_together(self) -> None:
        """Rules that tie attributes together; a subclass raises through ``refuse``."""

    def refuse(self, attribute: str, reason: str) -> None:
        shown = {"value": self._values[attribute]} if attribute in self._values else {}
        raise PerclError(reason, command=self.wire_name, attribute=attribute, **shown)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self.wire_name} is immutable; use .replace({name}=...) for a changed copy")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{self.wire_name} is immutable")

    def replace(self, **changes: Any) -> Any:
        """A copy with some attributes changed (``None`` removes one), checked like a new object."""
        return type(self)(**{**self._values, **changes})

    def set_attributes(self) -> dict[str, Any]:
        """The attributes that are set, by Python name, in declaration order."""
        return {name: self._values[name] for name in self.attributes if name in self._values}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values == other._values  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # equal by value; values may be dicts

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}={value!r}" for name, value in self.set_attributes().items())
        return f"{type(self).__name__}({parts})"

    def wire_attributes(self) -> dict[str, Any]:
        """The attribute object as FreeClimb reads it: camelCase names, unset ones left out."""
        return {
            attr.wire: attr.kind.to_wire(self._values[attr.name])
            for attr in self.attributes.values()
            if attr.name in self._values
        }

    @classmethod
    def from_wire_attributes(cls, obj: dict[str, Any]) -> Any:
        """Build an instance from a decoded JSON attribute object, with the builder's checks.

        Errors name attributes by their wire (camelCase) names, as the document spells them.
        """
        kwargs: dict[str, Any] = {}
        for key, raw in obj.items():
            attr = cls._by_wire.get(key)
            if attr is None:
                known = [a.wire for a in cls.attributes.values()]
                snake = {a.name: a for a in cls.attributes.values() if a.name != a.wire}
                error = cls._unknown(key, known, {})
                if key in snake:
                    error = PerclError(f"unknown attribute: did you mean {snake[key].wire}?",
                                       command=cls.wire_name, attribute=key)
                raise error
            if raw is None:
                raise PerclError("must not be null; leave the attribute out instead",
                                 command=cls.wire_name, attribute=key, value=raw)
            try:
                kwargs[attr.name] = attr.kind.from_wire(raw)
            except Invalid as exc:
                raise PerclError(str(exc), command=cls.wire_name, attribute=key, value=raw) from None
            except PerclError as exc:
                if exc.command != cls.wire_name and exc.location is None:
                    # a nested object (TranscribeUtterance's record) named its own attribute
                    raise PerclError(exc.reason, command=cls.wire_name,
                                     attribute=f"{key}.{exc.attribute}",
                                     **({"value": exc.value} if exc.has_value else {})) from None
                raise
        try:
            return cls(**kwargs)
        except PerclError as exc:
            attr = cls.attributes.get(exc.attribute or "")
            if exc.command == cls.wire_name and attr is not None:
                raise exc.relocated("", attribute=attr.wire, reason=cls._wire_words(exc.reason)) from None
            raise

    @classmethod
    def _wire_words(cls, reason: str) -> str:
        """A builder's reason reworded for a document: attribute names as the document spells them."""
        for attr in cls.attributes.values():
            if attr.name != attr.wire:
                reason = re.sub(rf"\b{re.escape(attr.name)}\b", attr.wire, reason)
        return reason


class Command(Struct):
    """A PerCL command. Subclasses say whether FreeClimb stops after them and where they may sit."""

    #: FreeClimb hands the call to another URL (or ends it): later commands never run.
    terminal: ClassVar[bool] = False
    #: May appear in the ``prompts`` of GetDigits, GetSpeech and TranscribeUtterance.
    nestable: ClassVar[bool] = False
    #: Only meaningful as the very first command of a script (PlayEarlyMedia).
    first_only: ClassVar[bool] = False

    registry: ClassVar[dict[str, type[Command]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Command.registry[cls.wire_name] = cls

    def to_wire(self) -> dict[str, dict[str, Any]]:
        """``{"Say": {"text": ...}}``: the command as one element of a PerCL array."""
        return {self.wire_name: self.wire_attributes()}


def parse_command(element: Any, *, location: str = "") -> Command:
    """One element of a PerCL array (decoded JSON) as a checked Command."""
    try:
        if not isinstance(element, dict) or len(element) != 1:
            shape = f"{len(element)} keys" if isinstance(element, dict) else json_type(element)
            raise PerclError("a command must be an object with exactly one key, the command name; "
                             f"this is {shape}")
        name, attributes = next(iter(element.items()))
        cls = Command.registry.get(name)
        if cls is None:
            close = difflib.get_close_matches(name, Command.registry, n=1) or [
                known for known in Command.registry if known.lower() == str(name).lower()]
            hint = f"; did you mean {close[0]}?" if close else ""
            raise PerclError(f"unknown command {name!r}{hint}")
        if not isinstance(attributes, dict):
            raise PerclError(f"the attributes of a command must be an object, not {json_type(attributes)}",
                             command=name, value=attributes)
        return cls.from_wire_attributes(attributes)
    except PerclError as exc:
        raise exc.relocated(location) from None
