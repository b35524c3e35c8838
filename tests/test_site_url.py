"""Links in email follow the port `make run` serves on, in every process honcho starts."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINT_SITE_URL = (
    f"DJANGO_SETTINGS_MODULE=dealalerts.settings {sys.executable} -c 'import django, os; django.setup(); "
    "from django.conf import settings; "
    'print(os.environ["HONCHO_PROCESS_NAME"], settings.SITE_URL, flush=True)\'; sleep 3'
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORT", "DJANGO_SETTINGS_MODULE")}
    return env | extra


def test_site_url_follows_port_when_unset():
    code = "import django, os; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
    env = clean_env(PORT="8123", DJANGO_SETTINGS_MODULE="dealalerts.settings")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "http://127.0.0.1:8123"


def test_site_url_wins_over_port():
    code = "import django, os; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
    env = clean_env(PORT="8123", SITE_URL="https://deals.example", DJANGO_SETTINGS_MODULE="dealalerts.settings")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "https://deals.example"


def test_make_run_gives_the_worker_the_web_port(tmp_path):
    """honcho hands each process type its own PORT (worker: PORT+100): the worker must still link to the web."""
    plan = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], env=clean_env(), cwd=ROOT, capture_output=True, text=True, check=True
    )
    start = next(line for line in plan.stdout.splitlines() if "honcho start" in line)
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"web: {PRINT_SITE_URL}\nworker: {PRINT_SITE_URL}\n")
    command = start.replace("-f Procfile", f"-f {shlex.quote(str(procfile))} -d {shlex.quote(str(ROOT))}")
    out = subprocess.run(command, shell=True, env=clean_env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    printed = dict(line.split("| ", 1)[1].split() for line in out.stdout.splitlines() if ".1 http" in line)
    assert printed == {"web.1": "http://127.0.0.1:8123", "worker.1": "http://127.0.0.1:8123"}, out.stdout
