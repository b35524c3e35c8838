"""`make run`'s worker, started from the Procfile as honcho starts it, stops cleanly on Ctrl-C.

On Ctrl-C honcho sends SIGTERM to each process's whole group and SIGKILLs what is left after
KILL_WAIT seconds. The pool processes used to die mid-task ("exited with signal 15") and leave
the worker hung until the SIGKILL, which loses the messages it holds.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time

from honcho.environ import parse_procfile
from honcho.manager import KILL_WAIT

from peers.processes import BASE_DIR
from tests.waiting import wait_until


def test_the_procfile_worker_stops_within_honchos_grace_period(tmp_path):
    line = parse_procfile((BASE_DIR / "Procfile").read_text()).processes["worker"]
    # The same command on a broker in a temp folder (tests/broker_load.py), not var/broker.
    command = line.replace(" -A dealalerts ", " -A tests.broker_load ")
    assert command != line, line
    env = {**os.environ, "BROKER_LOAD_DIR": str(tmp_path), "BROKER_LOAD_TRANSPORT": "dealalerts.broker:Transport"}
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:  # like honcho: a shell in a new session, so its own process group
        process = subprocess.Popen(
            command, shell=True, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        assert wait_until(lambda: " ready." in log.read_text(), timeout=60), log.read_text()
        subprocess.run([sys.executable, "-m", "tests.broker_load", "0", "20"], cwd=BASE_DIR, env=env, check=True)
        assert wait_until(lambda: (tmp_path / "received.txt").exists(), timeout=20), log.read_text()
        started = time.monotonic()
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=KILL_WAIT)
        finally:
            seconds = time.monotonic() - started
    finally:
        with contextlib.suppress(ProcessLookupError):  # honcho's last word; nothing should be left to hit
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    output = log.read_text()
    assert process.returncode == 0, output
    assert "exited with signal" not in output and "Traceback" not in output, output
    print(f"worker stopped {seconds:.1f} s after SIGTERM to its process group")
