"""FreeClimb's own SDK models as an independent judge of PerCL.

``sdk_accepts(element)`` validates one command with the matching ``freeclimb.models`` class
(pydantic, strict types), refuses attribute names the SDK does not know (pydantic would
otherwise drop them silently), and checks that the SDK reads back exactly what was written.
The tests judge everything the builder emits with it, and the call simulator judges every
answer an app gives.
"""

from __future__ import annotations

from typing import Any

import freeclimb.models as sdk
from pydantic import BaseModel


def _wire_names(cls: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in cls.model_fields.items()} - {"command"}


def sdk_model(element: dict[str, Any]) -> BaseModel:
    """The SDK model for one PerCL element; raises AssertionError or pydantic's ValidationError."""
    assert isinstance(element, dict) and len(element) == 1, element
    (name, attributes), = element.items()
    cls = getattr(sdk, name)
    assert issubclass(cls, sdk.PerclCommand), name
    unknown = set(attributes) - _wire_names(cls)
    assert not unknown, f"{name}: the SDK does not know {sorted(unknown)}"
    data = dict(attributes)
    if "prompts" in data:
        data["prompts"] = [sdk_model(item) for item in data["prompts"]]
    for key, nested in (("record", sdk.TranscribeUtteranceRecord), ("engine", sdk.TTSEngine)):
        if isinstance(data.get(key), dict) and key in cls.model_fields:
            unknown = set(data[key]) - _wire_names(nested)
            assert not unknown, f"{name}.{key}: the SDK does not know {sorted(unknown)}"
    return cls.model_validate(data)


def sdk_wire(model: BaseModel) -> dict[str, Any]:
    """What the SDK model holds, written back in PerCL's wire shape (only what was set)."""
    dumped = model.model_dump(by_alias=True, exclude_unset=True, mode="json", serialize_as_any=True)
    dumped.pop("command", None)
    prompts = getattr(model, "prompts", None)
    if prompts is not None:
        dumped["prompts"] = [sdk_wire(item) for item in prompts]
    return {type(model).__name__: dumped}


def sdk_accepts(element: dict[str, Any]) -> None:
    """Assert that FreeClimb's SDK accepts ``element`` and reads it back unchanged."""
    model = sdk_model(element)
    assert sdk_wire(model) == element, (sdk_wire(model), element)


def sdk_accepts_script(document: list[dict[str, Any]]) -> None:
    for element in document:
        sdk_accepts(element)
    # and as a whole script, through the SDK's own container
    sdk.PerclScript(commands=[sdk_model(element) for element in document])


def sdk_problems(document: Any) -> list[str]:
    """What FreeClimb's SDK models refuse in a decoded PerCL document (empty when it accepts)."""
    from pydantic import ValidationError

    if not isinstance(document, list):
        return ["a PerCL script is a JSON array"]
    problems = []
    for index, element in enumerate(document):
        try:
            sdk_accepts(element)
        except (AssertionError, ValidationError, AttributeError, TypeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(f"script[{index}]: {first}")
    return problems
