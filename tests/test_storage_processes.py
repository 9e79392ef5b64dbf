"""The on-disk store shared by real processes: no lost or doubled entries, and kills lose nothing."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from storage import open_store
from storage.documents import DocumentStore
from storage.recordings import TABLE, blank_entry, timestamp

ROOT = Path(__file__).resolve().parents[1]


def _claim_recordings(directory: str, worker: int, recording_ids: list[str]) -> None:
    """Act like a worker receiving record callbacks: one entry per recording id, plus its own."""
    store = open_store(directory)
    for n, rid in enumerate(recording_ids):
        with store.recordings.atomic() as changes:
            if changes.by_recording_id(rid) is None:
                doc = blank_entry(str(uuid.uuid4()), timestamp())
                doc.update(recording_id=rid, call_id=f"CA-{rid}", status="ended")
                changes.save(doc)
        with store.recordings.atomic() as changes:
            doc = blank_entry(f"own-{worker}-{n}", timestamp())
            changes.save(doc)


def test_concurrent_processes_keep_exactly_one_entry_per_recording(tmp_path):
    """Four processes delivering the same 150 callbacks leave one entry each and lose no write."""
    recording_ids = [f"RE{i:03d}" for i in range(150)]
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_claim_recordings,
                               args=(str(tmp_path), n, recording_ids[n::2] + recording_ids))
               for n in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    store = open_store(tmp_path)
    entries = store.recordings.all()
    claimed = [e["recording_id"] for e in entries if e["recording_id"]]
    assert sorted(claimed) == recording_ids
    own = [e for e in entries if e["id"].startswith("own-")]
    assert len(own) == sum(len(recording_ids[n::2] + recording_ids) for n in range(4))


_WRITER = textwrap.dedent("""
    import sys, uuid
    from storage.documents import DocumentStore
    from storage.recordings import TABLE, blank_entry, timestamp
    store = DocumentStore(sys.argv[1], [TABLE], compact_after_bytes=int(sys.argv[2]))
    n = 0
    while True:
        entry_id = f"{sys.argv[3]}-{n}"
        with store.transaction() as tx:
            doc = blank_entry(entry_id, timestamp())
            doc["recording_id"] = entry_id
            tx.insert("recordings", doc)
        print(entry_id, flush=True)  # acknowledged: the change is committed
        n += 1
""")


def test_a_writer_killed_at_any_instant_loses_no_acknowledged_write(tmp_path):
    """Writers killed at random moments (compacting often) leave a store holding every acknowledged entry."""
    acknowledged: list[str] = []
    for round_, delay in enumerate((0.35, 0.5, 0.8, 0.27, 0.6)):
        # two writers at once, so kills also land while the other holds or waits for the lock
        names = (f"r{round_}a", f"r{round_}b")
        processes = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), "20000", name],
                                      cwd=ROOT, stdout=subprocess.PIPE, text=True) for name in names]
        time.sleep(delay)
        for process in processes:
            os.kill(process.pid, signal.SIGKILL)
        for process in processes:
            out, _ = process.communicate(timeout=30)
            acknowledged += [line for line in out.splitlines() if line.strip()]
        store = DocumentStore(tmp_path, [TABLE])  # must load after every kill
        stored = {doc["id"] for _, doc in store.all("recordings")}
        missing = set(acknowledged) - stored
        assert not missing, f"round {round_}: lost {sorted(missing)[:5]}"
        store.close()
    assert len(acknowledged) > 100  # the writers really ran
