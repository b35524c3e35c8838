"""The embedded broker of `make run` under load: every message delivered once, no worker lost.

Real processes: producer processes publish while two `celery worker` processes (the project's
app, prefork) consume the same queue, all through `dealalerts.broker` in a temp folder — whatever
broker the settings chose (Redis in CI). kombu's own filesystem transport fails this test within
seconds: a worker takes a message file before its producer has written it and stops with
"Unrecoverable error: JSONDecodeError" (kombu#1551), and the messages after it are never consumed.
"""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from kombu import Connection

from dealalerts.broker import folder_options
from peers.processes import BASE_DIR, Worker, start_worker
from tests.waiting import wait_until

TRANSPORT = "dealalerts.broker:Transport"
PRODUCERS, PER_PRODUCER, WORKERS = 4, 800, 2  # 3,200 messages


def received(folder: Path) -> Counter:
    """How many times each number was recorded by the `record` task."""
    record = folder / "received.txt"
    return Counter(int(line) for line in record.read_text().split()) if record.exists() else Counter()


def waiting_messages(folder: Path) -> int:
    return sum(1 for name in os.listdir(folder / "queue") if name.endswith(".msg"))


def test_every_message_is_delivered_once_with_producers_and_workers_racing(tmp_path):
    env = {
        **os.environ,
        "BROKER_LOAD_DIR": str(tmp_path),
        "BROKER_LOAD_TRANSPORT": TRANSPORT,
        "REMAP_SIGTERM": "SIGQUIT",  # as in the Procfile: stop promptly on SIGTERM to the group
    }
    total = PRODUCERS * PER_PRODUCER
    workers: list[Worker] = []
    try:
        for _ in range(WORKERS):
            workers.append(start_worker(env, app="tests.broker_load", queues="default", concurrency=2))
        started = time.monotonic()
        # Producers publish while the workers poll the folder: files appear as workers list it.
        producers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.broker_load", str(n * PER_PRODUCER), str(PER_PRODUCER)],
                cwd=BASE_DIR,
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(PRODUCERS)
        ]
        for producer in producers:
            _, errors = producer.communicate(timeout=60)
            assert producer.returncode == 0, errors

        def done_or_crashed() -> bool:
            crashed = any(worker.process.poll() is not None for worker in workers)
            return crashed or (received(tmp_path).total() >= total and waiting_messages(tmp_path) == 0)

        wait_until(done_or_crashed, timeout=60, interval=0.2)
        seconds = time.monotonic() - started
        time.sleep(0.5)  # a message delivered twice would be recorded by now
    finally:
        for worker in workers:
            worker.stop()
    outputs = [worker.output(tail=10_000_000) for worker in workers]
    for worker in workers:
        worker.log.unlink(missing_ok=True)

    counts = received(tmp_path)
    lost = total - len(counts)
    duplicated = counts.total() - len(counts)
    figures = (
        f"{total} messages from {PRODUCERS} producer processes to {WORKERS} worker processes: "
        f"lost {lost}, duplicated {duplicated}, {seconds:.1f} s"
    )
    print(figures)
    for output in outputs:
        assert "Unrecoverable error" not in output and "Traceback" not in output, f"{figures}\n{output[-3000:]}"
    assert (lost, duplicated) == (0, 0), figures
    assert set(counts) == set(range(total)), figures


def test_a_message_file_left_empty_is_skipped_and_kept_not_fatal(tmp_path, caplog):
    """kombu's own transport leaves an empty file when its writer dies mid-write; a worker moves on."""
    options = folder_options(tmp_path)
    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
        # A queue no other test binds: kombu keeps bindings in one per-process state for all folders.
        queue = connection.SimpleQueue("leftovers")
        (tmp_path / "queue" / "0_left-empty.leftovers.msg").write_bytes(b"")  # sorts first: taken first
        queue.put({"n": 1})
        message = queue.get(timeout=5)
        message.ack()
        assert message.payload == {"n": 1}
        queue.close()
    assert "unreadable broker message" in caplog.text
    assert os.listdir(tmp_path / "queue") == ["0_left-empty.leftovers.msg.claimed"]
