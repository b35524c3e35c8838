"""Production (DEBUG off) refuses to start on a missing or development SECRET_KEY; keys rotate.

Each case imports the settings in a new process with its own environment, as a server would.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL_KEY = "k3#Vb8!qLz2@Wm7$Rx5^Tn9&Pc4*Hd6(Jf1)Gs0-Ay3+Ue8=Oi2~Lo5"
OLD_KEY = "o1!Qa9@Zs8#Xd7$Cf6%Vg5^Bh4&Nj3*Mk2(Ll1)Pp0-Oo9+Ii8=Uu7"


def _run(code: str, **env: str | None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "dealalerts.settings"}
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_a_secret_key_stops_with_a_clear_message():
    result = _run("print('started')", DEBUG="false", SECRET_KEY=None)
    assert result.returncode != 0 and "started" not in result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr


def test_production_on_the_development_key_stops_with_a_clear_message():
    from dealalerts.settings import DEVELOPMENT_SECRET_KEY

    result = _run("print('started')", DEBUG="false", SECRET_KEY=DEVELOPMENT_SECRET_KEY)
    assert result.returncode != 0 and "started" not in result.stdout
    assert "SECRET_KEY must be set" in result.stderr and "development key" in result.stderr


def test_production_with_a_real_key_starts():
    result = _run("from django.conf import settings; print(settings.SECRET_KEY)", DEBUG="false", SECRET_KEY=REAL_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == REAL_KEY


def test_development_runs_on_the_development_key():
    from dealalerts.settings import DEVELOPMENT_SECRET_KEY

    result = _run("from django.conf import settings; print(settings.SECRET_KEY)", DEBUG="true", SECRET_KEY=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == DEVELOPMENT_SECRET_KEY


@pytest.mark.parametrize(("fallbacks", "accepted"), [(f"{OLD_KEY},another-retired-key", True), ("", False)])
def test_unsubscribe_links_signed_with_a_retired_key_work_while_it_is_a_fallback(fallbacks, accepted):
    signed = _run("from notifications.links import unsubscribe_token; print(unsubscribe_token(42))", SECRET_KEY=OLD_KEY)
    assert signed.returncode == 0, signed.stderr
    token = signed.stdout.strip()

    verified = _run(
        f"from notifications.links import user_from_unsubscribe_token; print(user_from_unsubscribe_token({token!r}))",
        DEBUG="false",
        SECRET_KEY=REAL_KEY,
        SECRET_KEY_FALLBACKS=fallbacks,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == ("42" if accepted else "None")
