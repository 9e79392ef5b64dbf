"""Activeflows: one per call, the state of the flow it runs (stored like recordings)."""

from __future__ import annotations

from typing import Any

from storage.documents import DocumentStore, TableSpec, Transaction

TABLE = TableSpec("activeflows", unique=("id",), indexed=("call_id",))


class ActiveflowChanges:
    """Activeflow reads and writes inside one atomic change."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, activeflow_id: str) -> dict[str, Any] | None:
        found = self._tx.find_one(TABLE.name, "id", activeflow_id)
        return found[1] if found else None

    def for_call(self, call_id: str) -> dict[str, Any] | None:
        """The call's activeflow (the first, should a call ever have had more)."""
        found = self._tx.find(TABLE.name, "call_id", call_id)
        return found[0][1] if found else None

    def save(self, activeflow: dict[str, Any]) -> None:
        found = self._tx.find_one(TABLE.name, "id", activeflow["id"])
        if found is None:
            self._tx.insert(TABLE.name, activeflow)
        else:
            self._tx.put(TABLE.name, found[0], activeflow)


class ActiveflowRepository:
    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    def get(self, activeflow_id: str) -> dict[str, Any] | None:
        found = self._store.find_one(TABLE.name, "id", activeflow_id)
        return found[1] if found else None

    def for_call(self, call_id: str) -> dict[str, Any] | None:
        found = self._store.find(TABLE.name, "call_id", call_id)
        return found[0][1] if found else None

    def all(self) -> list[dict[str, Any]]:
        return [doc for _, doc in sorted(self._store.all(TABLE.name), key=lambda pair: pair[0])]
