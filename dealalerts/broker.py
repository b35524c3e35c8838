"""The embedded Celery broker of `make run`: kombu's filesystem transport, made safe to share.

kombu's filesystem transport (5.7) loses the worker after a few minutes of `make run`
(kombu#1551, `JSONDecodeError: Expecting value: line 1 column 1`): `Channel._put` creates a
message file under its final name (`<ms>_<uuid>.<queue>.msg`) and only then locks and writes
it, while `_get` lists the folder and moves files away without that lock, so a consumer can take
a file that is still empty or half written. The decode error escapes `drain_events` and Celery
stops the worker ("Unrecoverable error"). An exchange's binding table in the control folder has
the same gap: `_queue_bind` creates it empty, then locks and writes it, while publishers read it.

The cure is the usual one for files other processes read: write the whole file under a name
readers ignore, in the same folder, then rename or link it into place, which is atomic on POSIX.
A consumer claims a message with one `os.rename` inside the queue folder: of two consumers racing
for a file exactly one wins, the other gets FileNotFoundError and moves on. (kombu's
`shutil.move` into the temp folder copies and deletes when /tmp is another file system, and then
two consumers can both read a message.) Everything else is kombu's, so the folder layout and the
transport options stay the same. Selected by `CELERY_BROKER_TRANSPORT` in settings.

One more change serves stopping: a worker told to shut down stops waiting for messages at once
(see `Transport.drain_events`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic, sleep

from celery.signals import worker_shutting_down
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)


def folder_options(folder: Path, *, polling_interval: float = 0.1) -> dict:
    """The transport options for a broker kept in `folder`; its subfolders are created here.

    Producers and consumers share one message folder (`queue`); exchange bindings live in
    `control`. kombu looks for new messages once a second; every 0.1 s, a task starts within
    0.1 s of being sent, for the price of listing a small folder.
    """
    for sub in ("queue", "control", "processed"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "polling_interval": polling_interval,
    }


def _write_aside(path: str, data: bytes) -> str:
    """Write `data` to a new file beside `path` under a name no reader looks for; return that name.

    Such names never end in `.<queue>.msg` or `.exchange`, so consumers and publishers skip them.
    """
    aside = f"{path}.{uuid.uuid4().hex}.writing"
    try:
        with open(aside, "wb") as file:
            file.write(data)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(aside)
        raise
    return aside


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put `payload` on `queue`: the file appears under its final name complete or not at all."""
        filename = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, filename)
        try:
            aside = _write_aside(path, str_to_bytes(dumps(payload)))
            os.replace(aside, path)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {filename!r} to directory") from exc

    def _get(self, queue):
        """Take the oldest message of `queue`, or raise Empty."""
        wanted = f"{queue}.msg"
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:  # kombu's own test: another queue, or not a message
                continue
            path = os.path.join(self.data_folder_in, filename)
            claimed = f"{path}.claimed"
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # another consumer took it first
            try:
                with open(claimed, "rb") as file:
                    payload = file.read()
                message = loads(bytes_to_str(payload))
            except OSError as exc:
                raise ChannelError(f"Cannot read file {claimed!r} from queue.") from exc
            except ValueError:
                # Only a file kombu's own transport left half written (a writer killed mid-write)
                # gets here; keep it for a look rather than stopping the worker on every start.
                logger.error("Skipped an unreadable broker message, kept as %s", claimed)
                continue
            if self.store_processed:
                shutil.move(claimed, os.path.join(self.processed_folder, filename))
            else:
                os.remove(claimed)
            return message
        raise Empty()

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        # kombu creates a missing binding table with open("wb") and only then locks and writes it:
        # a publisher reading in between gets "" and fails to decode it. Put a complete empty
        # table in place first; kombu then takes its locked read-modify-write path.
        table = self._exchange_file(exchange)
        if not table.exists():
            self.control_folder.mkdir(exist_ok=True)
            try:
                aside = _write_aside(str(table), b"[]")
            except OSError as exc:
                raise ChannelError(f"Cannot open {table}") from exc
            try:
                os.link(aside, table)
            except FileExistsError:
                pass  # another process created it first; kombu adds our binding under its lock
            finally:
                os.remove(aside)
        super()._queue_bind(exchange, routing_key, pattern, queue)


_worker_shutting_down = threading.Event()


@worker_shutting_down.connect
def _stop_waiting_for_messages(**kwargs) -> None:
    _worker_shutting_down.set()


class Transport(filesystem.Transport):
    Channel = Channel

    def drain_events(self, connection, timeout=None):
        """kombu's polling loop, which also gives up as soon as the worker is shutting down.

        Celery's worker loop asks a polling transport for messages 2 s at a time, looks for a
        shutdown request only between two asks, and then asks once more: 2–4 s before it begins to
        stop, which with the pool's own ~1.5 s overruns the 5 s honcho allows before SIGKILL — and a
        SIGKILLed worker loses the messages it holds unacknowledged (kept in memory, not on disk).
        """
        started = monotonic()
        interval = self.polling_interval
        if timeout and interval and interval > timeout:
            interval = timeout
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                if _worker_shutting_down.is_set() or (timeout is not None and monotonic() - started >= timeout):
                    raise TimeoutError() from None
                if interval is not None:
                    sleep(interval)
