"""Record-callback throughput and latency under gunicorn at 100, 10k and 100k stored recordings.

    python bench/webhooks.py [--sizes 100,10000,100000] [--seconds 10]

For each size: seed a fresh store, start gunicorn (2 workers) on 127.0.0.1, and drive signed
record callbacks (each a new recording: a write) with wrk at 16 connections, then the bare
route (parses the same body, returns fixed PerCL) in the same server. Needs wrk (Debian
package ``wrk``). Prints a table and checks the targets: at 100k, throughput at least a third
of the bare route, p99 at most 25 ms, and within 1.3x of the figures at 100.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.signatures import sign  # noqa: E402
from storage.documents import DocumentStore  # noqa: E402
from storage.recordings import TABLE, blank_entry, timestamp  # noqa: E402

SECRET = "bench-secret"
CONNECTIONS = 16
THREADS = 2
WORKERS = 2


def seed(directory: Path, count: int) -> None:
    store = DocumentStore(directory, [TABLE])
    now = timestamp()
    for start in range(0, count, 1000):
        with store.transaction() as tx:
            for n in range(start, min(start + 1000, count)):
                entry = blank_entry(str(uuid.uuid4()), now)
                entry.update(status="ended", recording_id=f"RE{n:040x}", call_id=f"CA{n:040x}",
                             account_id="AC" + "0" * 40, recording_size=96044, duration_sec=6,
                             recording_url=f"https://example.com/{n}.wav", tm_start=now, tm_end=now)
                tx.insert("recordings", entry)
    store.compact()
    store.close()


def callbacks(path: Path, count: int) -> None:
    """Signed record callbacks, each for a new recording of a new call."""
    now = int(time.time())
    with open(path, "w") as out:
        for n in range(count):
            call_id, recording_id = f"CA{uuid.uuid4().hex}{n:08x}", f"RE{uuid.uuid4().hex}{n:08x}"
            body = json.dumps({
                "requestType": "record", "callId": call_id, "accountId": "AC" + "0" * 40,
                "from": "+13125550100", "to": "+13125550199", "callStatus": "inProgress",
                "direction": "inbound", "conferenceId": None, "queueId": None, "parentCallId": None,
                "recordingId": recording_id, "recordingUrl": f"https://example.com/{recording_id}.wav",
                "recordingSize": "96044", "recordingFormat": "audio/wav", "recordingDurationSec": 6,
                "termReason": "finishKey", "privacyMode": False,
            })
            out.write(f"/freeclimb/record/{uuid.uuid4()}\t{sign(body.encode(), SECRET, now)}\t{body}\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wrk(port: int, path: str, seconds: int, requests_file: Path | None) -> dict[str, float]:
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    if requests_file is not None:
        command += ["-s", str(ROOT / "bench" / "record_callbacks.lua"),
                    f"http://127.0.0.1:{port}{path}", "--", str(requests_file), str(THREADS)]
    else:
        command += ["-s", str(ROOT / "bench" / "bare.lua"), f"http://127.0.0.1:{port}{path}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wait_for_workers(port: int, server: subprocess.Popen, count: int) -> None:
    """Until ``count`` different workers have answered: each has loaded the store."""
    seen: set[str] = set()
    deadline = time.monotonic() + 300
    while len(seen) < count:
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError("gunicorn did not start")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/pid", timeout=60) as answer:
                seen.add(answer.read().decode())
        except OSError:
            time.sleep(0.2)


def rss_mb(pid: int) -> float:
    """Resident memory of gunicorn's workers (children of the master), in MB."""
    total = 0
    for child in Path("/proc").glob("[0-9]*"):
        try:
            stat = (child / "stat").read_text().split()
            if int(stat[3]) == pid:
                total += int((child / "statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e6


def run_size(size: int, seconds: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-{size}-"))
    try:
        data = work / "data"
        started = time.perf_counter()
        seed(data, size)
        seeded = time.perf_counter() - started
        requests_file = work / "callbacks.tsv"
        callbacks(requests_file, 12000 * seconds // 10 * 3)
        port = free_port()
        # MIRROR_AUDIO off: the seeded recording URLs are not on this machine, and a benchmark
        # sends traffic to 127.0.0.1 only
        env = {**os.environ, "DATA_DIR": str(data), "FREECLIMB_SIGNING_SECRET": SECRET,
               "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "MIRROR_AUDIO": "off"}
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning", "--backlog", "64", "bench.bare_app:app"],
            cwd=ROOT, env=env)
        try:
            wait_for_workers(port, server, WORKERS)
            record = wrk(port, "/freeclimb/record", seconds, requests_file)
            bare = wrk(port, "/bench/bare", seconds, None)
            memory = rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(30)
        return {"size": size, "seed_s": round(seeded, 1), "record": record, "bare": bare,
                "workers_rss_mb": round(memory)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    results = [run_size(int(size), args.seconds) for size in args.sizes.split(",")]
    if args.json:
        print(json.dumps(results, indent=2))
    print(f"{'stored':>8} {'record req/s':>12} {'p50 ms':>7} {'p99 ms':>7} {'bare req/s':>10} "
          f"{'bare p99':>8} {'ratio':>6} {'non-2xx':>7} {'RSS MB':>7}")
    for r in results:
        rec, bare = r["record"], r["bare"]
        print(f"{r['size']:>8} {rec['rps']:>12.0f} {rec['p50']:>7.2f} {rec['p99']:>7.2f} "
              f"{bare['rps']:>10.0f} {bare['p99']:>8.2f} {rec['rps'] / bare['rps']:>6.2f} "
              f"{rec['non2xx'] + bare['non2xx']:>7} {r['workers_rss_mb']:>7}")
    first, last = results[0], results[-1]
    checks = {
        "throughput >= 1/3 of bare": last["record"]["rps"] >= last["bare"]["rps"] / 3,
        "p99 <= 25 ms": last["record"]["p99"] <= 25,
        "throughput within 1.3x of smallest": first["record"]["rps"] <= 1.3 * last["record"]["rps"],
        "p99 within 1.3x of smallest": last["record"]["p99"] <= 1.3 * max(first["record"]["p99"], 1.0),
        "no errors": all(r["record"]["non2xx"] == 0 and r["bare"]["non2xx"] == 0 for r in results),
    }
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name} (largest size {last['size']})")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
