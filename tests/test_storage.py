"""The store's contract, run against every backend: in memory and on disk."""

from __future__ import annotations

import json

import pytest
from tinydb import Query, TinyDB

from storage import DuplicateError, open_store
from storage.documents import JOURNAL, SNAPSHOT, DocumentStore, TableSpec
from storage.recordings import FIELDS, MIRROR_FIELDS, NOT_YET, blank_entry, has_happened, is_deleted, timestamp

SPEC = TableSpec("things", unique=("key",), indexed=("group",))


@pytest.fixture(params=["memory", "disk"])
def store(request, tmp_path):
    return open_store(None if request.param == "memory" else tmp_path / "store")


@pytest.fixture(params=["memory", "disk"])
def documents(request, tmp_path):
    return DocumentStore(None if request.param == "memory" else tmp_path / "store", [SPEC])


def entry(entry_id: str, **fields):
    doc = blank_entry(entry_id, timestamp())
    doc.update(fields)
    return doc


def test_a_saved_entry_is_found_by_each_key(store):
    """An entry saved in a change is found by its id, its recording id and its call."""
    with store.recordings.atomic() as changes:
        changes.save(entry("e1", recording_id="RE1", call_id="CA1"))
    assert store.recordings.get("e1")["recording_id"] == "RE1"
    assert store.recordings.by_recording_id("RE1")["id"] == "e1"
    assert [e["id"] for e in store.recordings.for_call("CA1")] == ["e1"]
    assert store.recordings.count() == 1


def test_saving_an_entry_again_replaces_it(store):
    """Saving an entry with a known id replaces it and moves its indexes."""
    with store.recordings.atomic() as changes:
        changes.save(entry("e1", call_id="CA1"))
    with store.recordings.atomic() as changes:
        changes.save(entry("e1", call_id="CA2", status="ended"))
    assert store.recordings.count() == 1
    assert store.recordings.for_call("CA1") == []
    assert store.recordings.for_call("CA2")[0]["status"] == "ended"


def test_a_recording_id_is_held_by_one_entry_only(store):
    """A second entry claiming a taken recording id is refused and nothing is written."""
    with store.recordings.atomic() as changes:
        changes.save(entry("e1", recording_id="RE1"))
    with pytest.raises(DuplicateError), store.recordings.atomic() as changes:
        changes.save(entry("e2", call_id="CA9"))
        changes.save(entry("e3", recording_id="RE1"))
    assert store.recordings.get("e2") is None
    assert store.recordings.count() == 1


def test_a_failed_change_leaves_nothing_behind(store):
    """An exception inside a change undoes every write of that change."""
    with store.recordings.atomic() as changes:
        changes.save(entry("e1", status="recording"))
    with pytest.raises(RuntimeError), store.recordings.atomic() as changes:
        changes.save(entry("e1", status="ended"))
        changes.save(entry("e2"))
        raise RuntimeError("boom")
    assert store.recordings.get("e1")["status"] == "recording"
    assert store.recordings.get("e2") is None


def test_reads_inside_a_change_see_its_own_writes(store):
    """Within one change a saved entry can be read back before the change ends."""
    with store.recordings.atomic() as changes:
        changes.save(entry("e1", recording_id="RE1"))
        assert changes.by_recording_id("RE1")["id"] == "e1"


def test_returned_entries_are_copies(store):
    """Changing an entry that was read does not change the store."""
    with store.recordings.atomic() as changes:
        changes.save(entry("e1", status="recording"))
    got = store.recordings.get("e1")
    got["status"] = "ended"
    assert store.recordings.get("e1")["status"] == "recording"


def test_all_lists_entries_oldest_first(store):
    """all() returns entries in the order they were first stored."""
    for name in ("c", "a", "b"):
        with store.recordings.atomic() as changes:
            changes.save(entry(name))
    assert [e["id"] for e in store.recordings.all()] == ["c", "a", "b"]


def test_blank_entries_have_every_field_and_the_sentinels():
    """A new entry has all 30 fields, nil owners and flows, and 'not yet' end and delete times."""
    doc = blank_entry("e1", "2026-01-01 00:00:00.000000")
    assert tuple(doc) == FIELDS + MIRROR_FIELDS
    assert doc["tm_end"] == doc["tm_delete"] == NOT_YET
    assert doc["owner_id"] == doc["activeflow_id"] == doc["on_end_flow_id"] == "00000000-0000-0000-0000-000000000000"
    assert not is_deleted(doc)


@pytest.mark.parametrize("value, happened", [(NOT_YET, False), ("", False), (None, False),
                                             ("2026-01-01 00:00:00.000000", True)])
def test_not_yet_and_empty_timestamps_mean_it_has_not_happened(value, happened):
    """The 9999 sentinel and the empty string of older data both mean 'has not happened'."""
    assert has_happened(value) is happened
    assert is_deleted({"tm_delete": value}) is happened


def test_timestamps_are_utc_with_microseconds():
    """timestamp() writes UTC as YYYY-MM-DD HH:MM:SS.ffffff."""
    import re

    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", timestamp())


def test_tinydb_queries_run_on_current_data(documents):
    """A TinyDB query sees what transactions wrote, and TinyDB cannot write behind the journal."""
    with documents.transaction() as tx:
        tx.insert("things", {"key": "a", "group": 1})
        tx.insert("things", {"key": "b", "group": 2})
    db = documents.tinydb()
    assert [d["key"] for d in db.table("things").search(Query().group == 2)] == ["b"]
    with pytest.raises(Exception, match="transaction"):
        db.table("things").insert({"key": "c"})


def test_indexes_follow_deletes(documents):
    """A deleted document is no longer found by its unique or indexed fields."""
    with documents.transaction() as tx:
        doc_id = tx.insert("things", {"key": "a", "group": 1})
    with documents.transaction() as tx:
        tx.delete("things", doc_id)
    assert documents.find_one("things", "key", "a") is None
    assert documents.find("things", "group", 1) == []


# --- on disk only --------------------------------------------------------------------------


def test_a_reopened_store_holds_every_committed_change(tmp_path):
    """Closing and reopening the directory gives back every committed entry."""
    first = open_store(tmp_path)
    for i in range(50):
        with first.recordings.atomic() as changes:
            changes.save(entry(f"e{i}", recording_id=f"RE{i}", call_id=f"CA{i % 5}"))
    again = open_store(tmp_path)
    assert again.recordings.count() == 50
    assert len(again.recordings.for_call("CA3")) == 10
    assert again.recordings.by_recording_id("RE42")["id"] == "e42"


def test_two_handles_see_each_others_writes(tmp_path):
    """Two stores on one directory (as two workers) see each other's changes at once."""
    a, b = open_store(tmp_path), open_store(tmp_path)
    with a.recordings.atomic() as changes:
        changes.save(entry("e1", recording_id="RE1"))
    assert b.recordings.by_recording_id("RE1")["id"] == "e1"
    with pytest.raises(DuplicateError), b.recordings.atomic() as changes:
        changes.save(entry("e2", recording_id="RE1"))
    with b.recordings.atomic() as changes:
        changes.save(entry("e1", recording_id="RE1", status="ended"))
    assert a.recordings.get("e1")["status"] == "ended"


def test_compaction_keeps_everything_and_other_handles_follow(tmp_path):
    """After compaction the snapshot opens in plain TinyDB and other handles keep up."""
    a, b = open_store(tmp_path), open_store(tmp_path)
    for i in range(20):
        with a.recordings.atomic() as changes:
            changes.save(entry(f"e{i}", recording_id=f"RE{i}"))
    a.documents.compact()
    with a.recordings.atomic() as changes:
        changes.save(entry("after", recording_id="RE-after"))
    assert b.recordings.count() == 21
    assert b.recordings.by_recording_id("RE-after")["id"] == "after"
    with TinyDB(tmp_path / SNAPSHOT) as db:
        assert len(db.table("recordings").all()) == 20
    assert open_store(tmp_path).recordings.count() == 21


def test_a_handle_that_missed_two_compactions_reloads(tmp_path):
    """A handle idle through two compactions reloads from the snapshot and misses nothing."""
    a, b = open_store(tmp_path), open_store(tmp_path)
    for round_ in range(2):
        with a.recordings.atomic() as changes:
            changes.save(entry(f"e{round_}", recording_id=f"RE{round_}"))
        a.documents.compact()
    with a.recordings.atomic() as changes:
        changes.save(entry("last", recording_id="RE-last"))
    assert {e["id"] for e in b.recordings.all()} == {"e0", "e1", "last"}


def test_a_torn_last_line_is_ignored_and_cut_off(tmp_path):
    """A journal line cut short (a writer killed mid-write) is skipped and the next write repairs it."""
    store = open_store(tmp_path)
    with store.recordings.atomic() as changes:
        changes.save(entry("e1", recording_id="RE1"))
    with open(tmp_path / JOURNAL, "ab") as handle:
        handle.write(b'[["put","recordings",99,{"id":"torn"')
    reopened = open_store(tmp_path)
    assert [e["id"] for e in reopened.recordings.all()] == ["e1"]
    with reopened.recordings.atomic() as changes:
        changes.save(entry("e2", recording_id="RE2"))
    lines = (tmp_path / JOURNAL).read_bytes().splitlines()
    assert all(json.loads(line) is not None for line in lines)
    assert open_store(tmp_path).recordings.count() == 2


def test_a_crash_between_snapshot_and_new_journal_loses_nothing(tmp_path):
    """A snapshot renamed in while the old journal stayed is recovered without replaying twice."""
    store = open_store(tmp_path)
    for i in range(3):
        with store.recordings.atomic() as changes:
            changes.save(entry(f"e{i}", recording_id=f"RE{i}"))
    old_journal = (tmp_path / JOURNAL).read_bytes()
    store.documents.compact()
    (tmp_path / JOURNAL).write_bytes(old_journal)  # as if the journal rename never happened
    reopened = open_store(tmp_path)
    assert reopened.recordings.count() == 3
    with reopened.recordings.atomic() as changes:
        changes.save(entry("e3", recording_id="RE3"))
    assert open_store(tmp_path).recordings.count() == 4


def test_a_snapshot_that_is_not_json_is_reported(tmp_path):
    """A damaged snapshot file stops the store with a message naming the file."""
    from storage import StoreError

    (tmp_path / SNAPSHOT).write_text("{not json")
    with pytest.raises(StoreError, match="store.json"):
        open_store(tmp_path)


def test_a_file_written_by_tinydb_itself_opens(tmp_path):
    """A store.json written by plain TinyDB (its own spacing) loads with every document and index."""
    with TinyDB(tmp_path / SNAPSHOT, indent=2) as db:
        db.table("recordings").insert_multiple(
            [entry(f"e{i}", recording_id=f"RE{i}", call_id="CA1", note="ünïcode") for i in range(3)])
    store = open_store(tmp_path)
    assert store.recordings.count() == 3
    assert store.recordings.by_recording_id("RE2")["note"] == "ünïcode"
    assert len(store.recordings.for_call("CA1")) == 3


def test_a_compaction_killed_after_the_snapshot_loses_no_later_write(tmp_path, monkeypatch):
    """A compaction dying between snapshot and new journal keeps other workers' later writes."""
    a, b = open_store(tmp_path), open_store(tmp_path)
    for i in range(3):
        with a.recordings.atomic() as changes:
            changes.save(entry(f"e{i}", recording_id=f"RE{i}"))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed between the snapshot rename and the journal rename")

    monkeypatch.setattr(a.documents, "_new_journal", killed)
    with pytest.raises(KeyboardInterrupt):
        a.documents.compact()
    with b.recordings.atomic() as changes:  # worker B goes on, acknowledged
        changes.save(entry("after", recording_id="RE-after"))
    restarted = open_store(tmp_path)
    assert restarted.recordings.by_recording_id("RE-after")["id"] == "after"
    with pytest.raises(DuplicateError), restarted.recordings.atomic() as changes:
        changes.save(entry("dup", recording_id="RE-after"))  # a redelivered callback
    with b.recordings.atomic() as changes:  # B follows the repaired journal
        changes.save(entry("later", recording_id="RE-later"))
    assert {e["id"] for e in open_store(tmp_path).recordings.all()} == {"e0", "e1", "e2", "after", "later"}


def test_a_child_forked_after_another_worker_compacted_stays_consistent(tmp_path):
    """A store opened before fork keeps its journal offset right in the child after a compaction."""
    import multiprocessing

    parent = open_store(tmp_path)
    with parent.recordings.atomic() as changes:
        changes.save(entry("p", recording_id="RP"))
    other = open_store(tmp_path)
    other.documents.compact()
    with other.recordings.atomic() as changes:
        changes.save(entry("q", recording_id="RQ"))

    def child() -> None:
        with parent.recordings.atomic() as changes:
            assert changes.by_recording_id("RQ")["id"] == "q"
            changes.save(entry("c", recording_id="RC"))

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(60)
    assert process.exitcode == 0
    fresh = open_store(tmp_path)
    assert {e["recording_id"] for e in fresh.recordings.all()} == {"RP", "RQ", "RC"}


def test_a_nested_transaction_joins_the_outer_one(store):
    """A transaction opened inside another commits with it, and an error in either undoes both."""
    with store.recordings.atomic() as outer:
        outer.save(entry("outer"))
        with store.recordings.atomic() as inner:
            inner.save(entry("inner"))
        assert store.recordings.get("inner") is not None  # reads inside see both
    assert {e["id"] for e in store.recordings.all()} == {"outer", "inner"}
    with pytest.raises(RuntimeError), store.recordings.atomic() as outer:
        outer.save(entry("gone-outer"))
        with store.recordings.atomic() as inner:
            inner.save(entry("gone-inner"))
        raise RuntimeError("boom")
    assert {e["id"] for e in store.recordings.all()} == {"outer", "inner"}


def test_a_nested_transaction_keeps_other_writers_out(tmp_path):
    """While an outer transaction is open, another handle cannot commit, even after an inner one."""
    import threading

    a, b = open_store(tmp_path), open_store(tmp_path)
    done = threading.Event()

    def other_writer() -> None:
        with b.recordings.atomic() as changes:
            changes.save(entry("from-b"))
        done.set()

    with a.recordings.atomic() as outer:
        outer.save(entry("outer"))
        with a.recordings.atomic() as inner:
            inner.save(entry("inner"))
        thread = threading.Thread(target=other_writer)
        thread.start()
        assert not done.wait(0.3)  # b waits for a's lock
        assert a.recordings.get("from-b") is None
    thread.join(10)
    assert done.is_set()
    assert {e["id"] for e in open_store(tmp_path).recordings.all()} == {"outer", "inner", "from-b"}


def test_a_failed_compaction_does_not_fail_the_committed_change(tmp_path, caplog):
    """When the snapshot cannot be written the change still commits and the failure is logged."""
    store = DocumentStore(tmp_path, [SPEC], compact_after_bytes=1)
    (tmp_path / (SNAPSHOT + ".tmp")).mkdir()  # the temporary snapshot cannot be created
    for key in ("a", "b"):
        with store.transaction() as tx:
            tx.insert("things", {"key": key})
    assert "cannot compact" in caplog.text
    assert DocumentStore(tmp_path, [SPEC]).count("things") == 2


def test_a_short_journal_write_is_an_error_and_is_undone(tmp_path, monkeypatch):
    """A journal write that lands only partly (disk full) raises, rolls back, and is cut off later."""
    from storage import StoreError
    import storage.documents as documents

    store = DocumentStore(tmp_path, [SPEC])
    real_write = documents.os.write
    monkeypatch.setattr(documents.os, "write", lambda fd, data: real_write(fd, data[:5]))
    with pytest.raises(StoreError, match="journal took 5"), store.transaction() as tx:
        tx.insert("things", {"key": "lost"})
    monkeypatch.setattr(documents.os, "write", real_write)
    assert store.find_one("things", "key", "lost") is None
    with DocumentStore(tmp_path, [SPEC]).transaction() as tx:
        tx.insert("things", {"key": "kept"})
    assert [d["key"] for _, d in DocumentStore(tmp_path, [SPEC]).all("things")] == ["kept"]


def test_an_index_follows_one_and_many_documents_per_value(documents):
    """An indexed value held by one document, then several, then one again, finds exactly those."""
    with documents.transaction() as tx:
        ids = [tx.insert("things", {"key": f"k{i}", "group": "g"}) for i in range(3)]
    assert [d["key"] for _, d in documents.find("things", "group", "g")] == ["k0", "k1", "k2"]
    with documents.transaction() as tx:
        tx.delete("things", ids[0])
        tx.put("things", ids[1], {"key": "k1", "group": "other"})
    assert [d["key"] for _, d in documents.find("things", "group", "g")] == ["k2"]
    assert [d["key"] for _, d in documents.find("things", "group", "other")] == ["k1"]
    with documents.transaction() as tx:
        tx.delete("things", ids[2])
    assert documents.find("things", "group", "g") == []
