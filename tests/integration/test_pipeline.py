"""Jobs sent ahead to busy workers (pool pipelining): every answer reaches its own client, and a
job waiting behind a request that fails is not lost."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

def test_many_concurrent_short_requests_each_get_their_own_answer(phpsite, start_kiln):
    k = start_kiln(phpsite, ["--workers", "1"])

    def one(n):
        with httpx.Client(base_url=k.base, timeout=20) as c:
            out = []
            for i in range(40):
                r = c.get(f"/dump.php?client={n}&i={i}")
                out.append((r.status_code, r.json()["get"]))
            return n, out

    with ThreadPoolExecutor(max_workers=8) as ex:
        results = list(ex.map(one, range(8)))
    for n, out in results:
        for i, (status, get) in enumerate(out):
            assert status == 200
            assert get == {"client": str(n), "i": str(i)}


def test_a_job_behind_a_crashing_request_is_served(phpsite, start_kiln):
    # ASan would report the deliberate SIGSEGV as its own error; let the worker just die.
    k = start_kiln(phpsite, ["--workers", "1"],
                   env={"ASAN_OPTIONS": "detect_leaks=1:handle_segv=0"})
    statuses = []
    lock = threading.Lock()

    def normal(i):
        r = httpx.get(k.url(f"/dump.php?i={i}"), timeout=20)
        with lock:
            statuses.append((r.status_code, r.json()["get"]["i"] if r.status_code == 200 else None))

    for round_ in range(5):
        threads = [threading.Thread(target=lambda: httpx.get(k.url("/crash.php"), timeout=20))]
        threads += [threading.Thread(target=normal, args=(f"{round_}-{j}",)) for j in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(statuses) == 20
    assert all(status == 200 for status, _ in statuses), statuses
