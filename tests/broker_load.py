"""The project's Celery app on a filesystem broker in a given folder, for the broker load test.

Whatever the settings chose (Redis in CI), the processes importing this module talk through the
embedded broker in BROKER_LOAD_DIR with the transport class BROKER_LOAD_TRANSPORT; the rest of the
configuration (routes, acks, prefetch) is the project's.

    celery -A tests.broker_load worker -Q default        # consumes; each task appends its number
    python -m tests.broker_load FIRST COUNT              # publishes record(FIRST) … record(FIRST+COUNT-1)
"""

import os
import sys
from pathlib import Path

from dealalerts.broker import folder_options
from dealalerts.celery import app

BROKER_DIR = Path(os.environ["BROKER_LOAD_DIR"])
RECORD_FILE = BROKER_DIR / "received.txt"

app.conf.update(
    broker_url="filesystem://",
    broker_transport=os.environ["BROKER_LOAD_TRANSPORT"],
    # Poll all the time rather than every 0.1 s, so that consumers list and take files while
    # producers are writing them: the race this test is about.
    broker_transport_options=folder_options(BROKER_DIR, polling_interval=0.005),
)


@app.task(name="tests.broker_load.record")
def record(number: int) -> None:
    # One short write on an O_APPEND descriptor: lines from several processes never interleave.
    fd = os.open(RECORD_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{number}\n".encode())
    finally:
        os.close(fd)


if __name__ == "__main__":
    first, count = int(sys.argv[1]), int(sys.argv[2])
    with app.producer_or_acquire() as producer:
        for number in range(first, first + count):
            record.apply_async((number,), producer=producer)
