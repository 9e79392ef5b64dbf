"""Where recordings and per-call state are kept.

The default backend is a TinyDB-format document store on disk shared by every worker process
(:mod:`storage.documents`); ``open_store(None)`` gives the same store in memory only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from storage import activeflows, recordings
from storage.activeflows import ActiveflowChanges, ActiveflowRepository
from storage.documents import DocumentStore, DuplicateError, StoreError, TableSpec
from storage.recordings import RecordingChanges, RecordingRepository

TABLES = (recordings.TABLE, activeflows.TABLE)


@dataclass
class Changes:
    """One atomic change spanning recordings and activeflows."""

    recordings: RecordingChanges
    activeflows: ActiveflowChanges


class Store:
    """The app's repositories over one document store."""

    def __init__(self, documents: DocumentStore) -> None:
        self.documents = documents
        self.recordings = RecordingRepository(documents)
        self.activeflows = ActiveflowRepository(documents)

    @contextmanager
    def atomic(self) -> Iterator[Changes]:
        """Change recordings and activeflows together, as one step no other worker interleaves."""
        with self.documents.transaction() as tx:
            yield Changes(RecordingChanges(tx), ActiveflowChanges(tx))


def open_store(directory: str | os.PathLike[str] | None, *, fsync: bool = False) -> Store:
    """The store in ``directory`` (created if needed), or in memory when ``directory`` is None."""
    return Store(DocumentStore(directory, TABLES, fsync=fsync))


__all__ = ["ActiveflowRepository", "Changes", "DocumentStore", "DuplicateError", "RecordingRepository", "Store", "StoreError",
           "TableSpec", "open_store"]
