"""Where recordings and per-call state are kept.

The default backend is a TinyDB-format document store on disk shared by every worker process
(:mod:`storage.documents`); ``open_store(None)`` gives the same store in memory only.
"""

from __future__ import annotations

import os

from storage import recordings
from storage.documents import DocumentStore, DuplicateError, StoreError, TableSpec
from storage.recordings import RecordingRepository

TABLES = (recordings.TABLE,)


class Store:
    """The app's repositories over one document store."""

    def __init__(self, documents: DocumentStore) -> None:
        self.documents = documents
        self.recordings = RecordingRepository(documents)


def open_store(directory: str | os.PathLike[str] | None, *, fsync: bool = False) -> Store:
    """The store in ``directory`` (created if needed), or in memory when ``directory`` is None."""
    return Store(DocumentStore(directory, TABLES, fsync=fsync))


__all__ = ["DocumentStore", "DuplicateError", "RecordingRepository", "Store", "StoreError",
           "TableSpec", "open_store"]
