"""A document store shared by every worker process: TinyDB's data model, a journal on disk.

Each process keeps the whole store in memory (tables of documents keyed by integer ids, as
TinyDB keeps them) with indexes on the fields the app looks up. Every change is one line
appended to a journal file under an exclusive cross-process lock; before it reads or writes, a
process replays the journal lines other processes appended since it last looked. A write costs
one short append, whatever the number of stored documents, where TinyDB's own JSON storage
rewrites the whole file on every change.

Files in the store's directory:

- ``store.json``: a snapshot in TinyDB's JSON format (``TinyDB("store.json")`` opens it), plus a
  ``_meta`` table holding the snapshot's generation;
- ``store.log``: the journal since that snapshot; its first line names the same generation, each
  further line is one committed transaction;
- ``store.lock``: the file ``flock`` locks.

Durability: a transaction is acknowledged once its line is written to the journal, so a process
killed at any instant loses nothing it acknowledged; a line cut short by a kill is ignored and
cut off by the next writer. Compaction writes a new snapshot to a temporary file, fsyncs and
renames it, then starts a new journal: every step leaves a store that loads. ``fsync=True``
makes each commit also survive a power cut, at the cost of a disk flush per write.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

log = logging.getLogger(__name__)

SNAPSHOT = "store.json"
JOURNAL = "store.log"
LOCK = "store.lock"
META_TABLE = "_meta"

Doc = dict[str, Any]


class StoreError(Exception):
    """The store cannot do what was asked (a broken file, a unique value taken)."""


class DuplicateError(StoreError):
    """A unique field already holds this value in another document."""


@dataclass
class TableSpec:
    """A table and the fields it is indexed on."""

    name: str
    unique: tuple[str, ...] = ()
    indexed: tuple[str, ...] = ()


def dump(doc: Doc) -> str:
    """A document as the compact JSON text the store keeps and journals."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass
class _Table:
    """One table in memory. Documents are held as JSON text, not as dicts: a few large
    strings cost the garbage collector nothing, where 100k dicts make every full collection
    scan millions of objects, and each read hands out a fresh copy by decoding."""

    spec: TableSpec
    texts: dict[int, str] = field(default_factory=dict)
    keys: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # indexed values per document
    unique: dict[str, dict[Any, int]] = field(default_factory=dict)
    indexed: dict[str, dict[Any, int | set[int]]] = field(default_factory=dict)
    next_id: int = 1

    def __post_init__(self) -> None:
        self.unique = {name: {} for name in self.spec.unique}
        self.indexed = {name: {} for name in self.spec.indexed}
        self._fields = self.spec.unique + self.spec.indexed

    def get(self, doc_id: int) -> Doc | None:
        text = self.texts.get(doc_id)
        return None if text is None else json.loads(text)

    def put(self, doc_id: int, doc: Doc, text: str) -> None:
        self.delete(doc_id)
        self.texts[doc_id] = text
        values = tuple(_key(doc.get(name)) for name in self._fields)
        self.keys[doc_id] = values
        for name, value in zip(self._fields, values):
            if value is None:
                continue
            if name in self.unique:
                self.unique[name][value] = doc_id
            else:
                # a lone document is held as its id, several as a set: 100k one-element sets
                # (one per call) would cost memory and GC scans, and a field with few values
                # (a status) must not copy a 100k-long tuple on every change
                index = self.indexed[name]
                held = index.get(value)
                if held is None:
                    index[value] = doc_id
                elif isinstance(held, set):
                    held.add(doc_id)
                elif held != doc_id:
                    index[value] = {held, doc_id}
        if doc_id >= self.next_id:
            self.next_id = doc_id + 1

    def delete(self, doc_id: int) -> None:
        if self.texts.pop(doc_id, None) is None:
            return
        for name, value in zip(self._fields, self.keys.pop(doc_id)):
            if value is None:
                continue
            if name in self.unique:
                if self.unique[name].get(value) == doc_id:
                    del self.unique[name][value]
            else:
                index = self.indexed[name]
                held = index.get(value)
                if held == doc_id:
                    del index[value]
                elif isinstance(held, set):
                    held.discard(doc_id)
                    if len(held) == 1:
                        index[value] = held.pop()

    def ids_with(self, name: str, value: Any) -> list[int]:
        """Ids of the documents whose indexed field ``name`` holds ``value``, in id order."""
        held = self.indexed[name].get(_key(value))
        if held is None:
            return []
        return sorted(held) if isinstance(held, set) else [held]


def _key(value: Any) -> Any:
    """Index only values that can be dict keys; a list or object field is simply not indexed."""
    return value if isinstance(value, (str, int, float, bool)) else None


class Transaction:
    """Reads and writes inside one atomic, isolated change to the store.

    Writes are visible to later reads of the same transaction. If the block raises, every
    change is undone in memory and nothing reaches the journal.
    """

    def __init__(self, store: DocumentStore) -> None:
        self._store = store
        self._ops: list[str] = []  # each op as JSON text, joined into one journal line
        self._undo: list[tuple[str, int, str | None]] = []

    def get(self, table: str, doc_id: int) -> Doc | None:
        return self._store._tables[table].get(doc_id)

    def find_one(self, table: str, field_name: str, value: Any) -> tuple[int, Doc] | None:
        return self._store._find_one(table, field_name, value)

    def find(self, table: str, field_name: str, value: Any) -> list[tuple[int, Doc]]:
        return self._store._find(table, field_name, value)

    def insert(self, table: str, doc: Doc) -> int:
        state = self._store._tables[table]
        doc_id = state.next_id
        self.put(table, doc_id, doc)
        return doc_id

    def put(self, table: str, doc_id: int, doc: Doc) -> None:
        """Store ``doc`` whole under ``doc_id`` (insert or replace)."""
        state = self._store._tables[table]
        for name, index in state.unique.items():
            value = _key(doc.get(name))
            holder = index.get(value) if value is not None else None
            if holder is not None and holder != doc_id:
                raise DuplicateError(f"{table}.{name} {doc[name]!r} is already taken")
        try:
            text = dump(doc)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{table}: the document is not JSON ({exc})") from None
        self._undo.append((table, doc_id, state.texts.get(doc_id)))
        state.put(doc_id, doc, text)
        self._ops.append(f'["put",{json.dumps(table)},{doc_id},{text}]')

    def delete(self, table: str, doc_id: int) -> None:
        state = self._store._tables[table]
        previous = state.texts.get(doc_id)
        if previous is None:
            return
        self._undo.append((table, doc_id, previous))
        state.delete(doc_id)
        self._ops.append(f'["delete",{json.dumps(table)},{doc_id}]')

    def _rollback(self) -> None:
        for table, doc_id, previous in reversed(self._undo):
            state = self._store._tables[table]
            if previous is None:
                state.delete(doc_id)
            else:
                state.put(doc_id, json.loads(previous), previous)


class _Journal:
    """The files on disk and the cross-process lock (absent for a memory-only store)."""

    def __init__(self, directory: Path, *, fsync: bool) -> None:
        self.directory = directory
        self.fsync = fsync
        directory.mkdir(parents=True, exist_ok=True)
        self.pid = os.getpid()
        self.lock_fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        self.log_fd: int | None = None
        self.generation = 0
        self.offset = 0  # bytes of store.log consumed, always at a line boundary

    def reopen_after_fork(self) -> None:
        """A forked child must not share the parent's lock: flock belongs to the open file.

        The journal descriptor is kept: reads use pread at our own offset and writes append, so
        sharing it is harmless, and it still names the file our offset belongs to (reopening by
        path could land in a newer journal after a compaction).
        """
        if os.getpid() != self.pid:
            self.pid = os.getpid()
            self.lock_fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o600)

    @contextmanager
    def locked(self, exclusive: bool) -> Iterator[None]:
        fcntl.flock(self.lock_fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def path(self, name: str) -> Path:
        return self.directory / name


class _LogStorage(Storage):
    """TinyDB storage over the in-memory tables, so TinyDB queries run on current data.

    Reading catches up with the journal first. Writing through TinyDB is refused: changes go
    through transactions, which log them.
    """

    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    def read(self) -> dict[str, dict[str, Any]]:
        self._store.refresh()
        with self._store._lock:
            return {name: {str(doc_id): json.loads(text) for doc_id, text in table.texts.items()}
                    for name, table in self._store._tables.items()}

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        raise StoreError("write through DocumentStore.transaction(), not through TinyDB")


class DocumentStore:
    """Tables of JSON documents, shared by processes through a journal in ``directory``.

    ``directory=None`` keeps everything in this process's memory (for unit tests).
    """

    def __init__(self, directory: str | os.PathLike[str] | None, tables: Iterable[TableSpec], *,
                 fsync: bool = False, compact_after_bytes: int = 256 * 1024 * 1024) -> None:
        self._specs = {spec.name: spec for spec in tables}
        self._tables = {name: _Table(spec) for name, spec in self._specs.items()}
        self._lock = threading.RLock()
        self._open_tx: Transaction | None = None  # the transaction this process has open, if any
        self._compact_after = compact_after_bytes
        self._journal = _Journal(Path(directory), fsync=fsync) if directory is not None else None
        if self._journal is not None:
            with self._lock, self._journal.locked(exclusive=True):
                self._open()

    def close(self) -> None:
        """Release the files (the store is unusable afterwards)."""
        journal = self._journal
        if journal is not None:
            for fd in (journal.log_fd, journal.lock_fd):
                if fd is not None:
                    os.close(fd)
            journal.log_fd = None

    # --- reading ----------------------------------------------------------------------------

    def get(self, table: str, doc_id: int) -> Doc | None:
        self.refresh()
        with self._lock:
            return self._tables[table].get(doc_id)

    def find_one(self, table: str, field_name: str, value: Any) -> tuple[int, Doc] | None:
        self.refresh()
        with self._lock:
            return self._find_one(table, field_name, value)

    def find(self, table: str, field_name: str, value: Any) -> list[tuple[int, Doc]]:
        self.refresh()
        with self._lock:
            return self._find(table, field_name, value)

    def all(self, table: str) -> list[tuple[int, Doc]]:
        self.refresh()
        with self._lock:
            return [(doc_id, json.loads(text)) for doc_id, text in self._tables[table].texts.items()]

    def newest(self, table: str, equals: dict[str, Any], *, before: int | None = None,
               accept: Callable[[Doc], bool] | None = None, limit: int) -> list[tuple[int, Doc]]:
        """Up to ``limit`` documents, newest first (by creation), whose fields equal ``equals``
        and which ``accept`` accepts, created before document ``before``.

        Fields with an index narrow the candidates first; the rest are tested per document.
        """
        self.refresh()
        with self._lock:
            state = self._tables[table]
            candidates: set[int] | None = None
            rest = {}
            for name, value in equals.items():
                if name in state.indexed or name in state.unique:
                    ids = set(state.ids_with(name, value)) if name in state.indexed else (
                        {state.unique[name][value]} if _key(value) in state.unique[name] else set())
                    candidates = ids if candidates is None else candidates & ids
                else:
                    rest[name] = value
            ordered = sorted(candidates, reverse=True) if candidates is not None else sorted(
                state.texts, reverse=True)
        if before is not None:
            ordered = [doc_id for doc_id in ordered if doc_id < before]
        found: list[tuple[int, Doc]] = []
        # Decoding and testing happen outside the lock, a chunk of texts at a time, so a long
        # API query never holds up the webhooks this process answers meanwhile.
        for start in range(0, len(ordered), 256):
            with self._lock:
                texts = [(doc_id, state.texts.get(doc_id)) for doc_id in ordered[start:start + 256]]
            for doc_id, text in texts:
                if text is None:
                    continue
                doc = json.loads(text)
                if any(doc.get(k) != v for k, v in rest.items()):
                    continue
                if accept is not None and not accept(doc):
                    continue
                found.append((doc_id, doc))
                if len(found) >= limit:
                    return found
        return found

    def count(self, table: str) -> int:
        self.refresh()
        with self._lock:
            return len(self._tables[table].texts)

    def tinydb(self) -> TinyDB:
        """A TinyDB over the current data, for TinyDB queries (read-only)."""
        return TinyDB(storage=lambda: _LogStorage(self))

    def _find_one(self, table: str, field_name: str, value: Any) -> tuple[int, Doc] | None:
        state = self._tables[table]
        if field_name in state.unique:
            doc_id = state.unique[field_name].get(_key(value))
            return (doc_id, state.get(doc_id)) if doc_id is not None else None
        found = self._find(table, field_name, value)
        return found[0] if found else None

    def _find(self, table: str, field_name: str, value: Any) -> list[tuple[int, Doc]]:
        state = self._tables[table]
        if field_name in state.unique:
            doc_id = state.unique[field_name].get(_key(value))
            ids: Iterable[int] = () if doc_id is None else (doc_id,)
        elif field_name in state.indexed:
            ids = state.ids_with(field_name, value)
        else:
            ids = [i for i, text in state.texts.items() if json.loads(text).get(field_name) == value]
        return [(doc_id, state.get(doc_id)) for doc_id in ids]

    # --- writing ----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """An atomic change: other processes' changes are replayed first, then it is exclusive.

        A transaction opened inside another (same thread) joins it: one commit, at the end of
        the outer one, and one rollback if either raises.
        """
        with self._lock:
            if self._open_tx is not None:
                yield self._open_tx
                return
            if self._journal is None:
                yield from self._run(None)
                return
            self._journal.reopen_after_fork()
            with self._journal.locked(exclusive=True):
                self._catch_up(cut_torn_tail=True)
                wrote = yield from self._run(self._journal)
                if wrote and os.fstat(self._journal.log_fd).st_size > self._compact_after:
                    try:
                        self._compact()
                    except OSError as exc:  # the change is committed; folding can wait
                        log.error("cannot compact the store in %s: %s", self._journal.directory, exc)

    def _run(self, journal: _Journal | None) -> Iterator[Transaction]:
        tx = Transaction(self)
        self._open_tx = tx
        try:
            yield tx
            if tx._ops and journal is not None:
                self._append(journal, tx._ops)
        except BaseException:
            tx._rollback()
            raise
        finally:
            self._open_tx = None
        return bool(tx._ops)

    def _append(self, journal: _Journal, ops: list[str]) -> None:
        line = ("[" + ",".join(ops) + "]\n").encode()
        written = os.write(journal.log_fd, line)
        if written != len(line):  # a full disk; the partial line is cut off by the next writer
            raise StoreError(f"the journal took {written} of {len(line)} bytes")
        if journal.fsync:
            os.fsync(journal.log_fd)
        journal.offset += len(line)

    # --- keeping up with other processes -----------------------------------------------------

    def refresh(self) -> None:
        """Replay what other processes committed since this one last looked (cheap when nothing)."""
        journal = self._journal
        if journal is None:
            return
        with self._lock:
            if self._open_tx is not None:
                # inside this thread's own transaction: caught up already, and taking the shared
                # lock here would downgrade (then drop) the exclusive one we hold
                return
            journal.reopen_after_fork()
            status = os.fstat(journal.log_fd)
            if status.st_nlink > 0 and status.st_size <= journal.offset:
                return
            with journal.locked(exclusive=False):
                self._catch_up(cut_torn_tail=False)

    def _catch_up(self, *, cut_torn_tail: bool) -> None:
        """Apply new journal lines; called with the lock held (shared or exclusive)."""
        journal = self._journal
        assert journal is not None
        self._replay_from(journal.log_fd, journal.offset, cut_torn_tail=cut_torn_tail)
        if os.fstat(journal.log_fd).st_nlink == 0:
            # Compacted by another process: our journal file was replaced by a new one.
            new_fd = os.open(journal.path(JOURNAL), os.O_RDWR | os.O_APPEND)
            generation, start = self._read_header(new_fd)
            os.close(journal.log_fd)
            journal.log_fd = new_fd
            if generation == journal.generation + 1:
                journal.generation, journal.offset = generation, start
                self._replay_from(new_fd, start, cut_torn_tail=cut_torn_tail)
            else:  # more than one compaction since we looked: start from the snapshot
                self._load_everything(journal)

    def _replay_from(self, fd: int, offset: int, *, cut_torn_tail: bool) -> None:
        journal = self._journal
        assert journal is not None
        size = os.fstat(fd).st_size
        if size <= offset:
            return
        data = os.pread(fd, size - offset, offset)
        end = data.rfind(b"\n") + 1  # only whole lines: a line without its newline is unfinished
        for number, line in enumerate(data[:end].splitlines()):
            try:
                ops = json.loads(line)
            except ValueError:
                raise StoreError(f"{journal.path(JOURNAL)}: unreadable line {number + 1} after byte "
                                 f"{offset}; the journal was changed by something other than "
                                 "this store") from None
            self._apply(ops)
        journal.offset = offset + end
        if cut_torn_tail and end < len(data):
            os.ftruncate(fd, journal.offset)

    def _apply(self, ops: list[list[Any]]) -> None:
        for op in ops:
            kind, table, doc_id = op[0], op[1], op[2]
            state = self._tables.get(table)
            if state is None:  # a table this version of the app does not use
                continue
            if kind == "put":
                state.put(doc_id, op[3], dump(op[3]))
            elif kind == "delete":
                state.delete(doc_id)

    # --- opening and compaction ---------------------------------------------------------------

    def _open(self) -> None:
        """Load snapshot and journal; repair what a crash may have left. Exclusive lock held."""
        journal = self._journal
        assert journal is not None
        snapshot_generation, covered = self._load_snapshot(journal)
        log_path = journal.path(JOURNAL)
        if log_path.exists():
            fd = os.open(log_path, os.O_RDWR | os.O_APPEND)
            generation, start = self._read_header(fd)
            journal.log_fd, journal.generation, journal.offset = fd, generation, start
            if generation < snapshot_generation:
                # A compaction renamed its snapshot in but died before starting a new journal;
                # other workers may have gone on appending to this one. The snapshot holds it up
                # to the offset it records: replay the rest, then fold everything properly.
                self._replay_from(fd, covered.get(generation, start), cut_torn_tail=True)
                self._compact(generation=snapshot_generation)
            else:
                self._replay_from(fd, start, cut_torn_tail=True)
        else:
            self._new_journal(journal, snapshot_generation)
        if os.fstat(journal.log_fd).st_size > self._compact_after:
            self._compact()

    def _load_everything(self, journal: _Journal) -> None:
        for name, spec in self._specs.items():
            self._tables[name] = _Table(spec)
        self._load_snapshot(journal)
        generation, start = self._read_header(journal.log_fd)
        journal.generation, journal.offset = generation, start
        self._replay_from(journal.log_fd, start, cut_torn_tail=False)

    def _load_snapshot(self, journal: _Journal) -> tuple[int, dict[int, int]]:
        """Load ``store.json``: its generation, and {journal generation: bytes it covers}."""
        path = journal.path(SNAPSHOT)
        if not path.exists():
            return 0, {}
        try:
            text = path.read_text(encoding="utf-8")
            meta: Doc = {}
            for table, doc_id, doc, doc_text in _snapshot_documents(text):
                if table == META_TABLE:
                    meta = doc
                elif table in self._tables:
                    self._tables[table].put(int(doc_id), doc, doc_text)
            generation = int(meta.get("generation", 0))
            covered = {int(meta["journal_generation"]): int(meta["journal_offset"])} if (
                "journal_generation" in meta) else {}
        except (OSError, ValueError, TypeError) as exc:
            raise StoreError(f"cannot read the snapshot {path}: {exc}") from None
        return generation, covered

    @staticmethod
    def _read_header(fd: int) -> tuple[int, int]:
        head = os.pread(fd, 256, 0)
        end = head.find(b"\n")
        if end < 0:
            raise StoreError("the journal has no header line")
        try:
            generation = int(json.loads(head[:end])["generation"])
        except (ValueError, KeyError, TypeError):
            raise StoreError("the journal's header line is not readable") from None
        return generation, end + 1

    def _new_journal(self, journal: _Journal, generation: int) -> None:
        tmp = journal.path(JOURNAL + ".tmp")
        with open(tmp, "wb") as handle:
            handle.write(json.dumps({"generation": generation}).encode() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, journal.path(JOURNAL))
        self._fsync_directory(journal)
        if journal.log_fd is not None:
            os.close(journal.log_fd)
        journal.log_fd = os.open(journal.path(JOURNAL), os.O_RDWR | os.O_APPEND)
        journal.generation = generation
        journal.offset = self._read_header(journal.log_fd)[1]

    def compact(self) -> None:
        """Fold the journal into a new snapshot (also done when the journal grows large)."""
        if self._journal is None:
            return
        with self._lock:
            self._journal.reopen_after_fork()
            with self._journal.locked(exclusive=True):
                self._catch_up(cut_torn_tail=True)
                self._compact()

    def _compact(self, generation: int | None = None) -> None:
        journal = self._journal
        assert journal is not None
        generation = generation if generation is not None else journal.generation + 1
        tmp = journal.path(SNAPSHOT + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            # TinyDB's layout, written from the texts we hold: {"table": {"1": {...}, ...}, ...}
            handle.write("{")
            for name, table in self._tables.items():
                handle.write(json.dumps(name) + ":{")
                handle.write(",".join(f'"{doc_id}":{text}' for doc_id, text in table.texts.items()))
                handle.write("},")
            meta = {"generation": generation, "journal_generation": journal.generation,
                    "journal_offset": journal.offset}
            handle.write(f'{json.dumps(META_TABLE)}:{{"1":{json.dumps(meta)}}}}}')
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, journal.path(SNAPSHOT))
        self._new_journal(journal, generation)

    @staticmethod
    def _fsync_directory(journal: _Journal) -> None:
        fd = os.open(journal.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def _snapshot_documents(text: str) -> Iterator[tuple[str, str, Doc, str]]:
    """``(table, doc id, doc, doc's JSON text)`` for each document of a TinyDB-format file.

    Documents are decoded one at a time, so loading 100k of them never holds them all as
    dicts at once (a plain ``json.load`` peaks at several times the file's size).
    """

    def skip(position: int) -> int:
        return _SPACE.match(text, position).end()

    def expect(position: int, char: str) -> int:
        position = skip(position)
        if text[position:position + 1] != char:
            raise ValueError(f"expected {char!r} at character {position}")
        return skip(position + 1)

    def name(position: int) -> tuple[str, int]:
        value, position = _DECODER.raw_decode(text, position)
        if not isinstance(value, str):
            raise ValueError(f"expected a name before character {position}")
        return value, expect(position, ":")

    def more(position: int) -> tuple[bool, int]:
        """After a member: a comma means another follows."""
        position = skip(position)
        if text[position:position + 1] == ",":
            return True, skip(position + 1)
        return False, position

    position = expect(0, "{")
    tables_follow = text[position:position + 1] != "}"
    while tables_follow:
        table, position = name(position)
        position = expect(position, "{")
        docs_follow = text[position:position + 1] != "}"
        while docs_follow:
            doc_id, position = name(position)
            start = position
            doc, position = _DECODER.raw_decode(text, position)
            if not isinstance(doc, dict):
                raise ValueError(f"document {doc_id} of table {table} is not an object")
            yield table, doc_id, doc, text[start:position]
            docs_follow, position = more(position)
        position = expect(position, "}")
        tables_follow, position = more(position)
    position = expect(position, "}")
    if position != len(text):
        raise ValueError(f"unexpected data at character {position}")
