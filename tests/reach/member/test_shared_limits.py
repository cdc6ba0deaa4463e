"""Five wrong sign-ins lock a number whichever server process they reach.

Two real Python processes (as two gunicorn workers would be) serve the class link's sign-in page on
one SQLite file: three wrong codes through the first, two through the second, and then the right code
is refused by the second. Before, each process counted in its own memory and granted five guesses
of its own.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]

SEED = """
import json
import django
django.setup()
from fanzha.org import actions as org
from fanzha.org.credentials import actions as credentials
from fanzha.reach import actions as reach
school = org.create_unit(parent=None, name="示范中学", code="SHARED", kind="school")
klass = org.create_unit(parent=school, name="高一1班", code="G101", kind="class")
student = org.enrol_person(unit=klass, name="张三", kind="student", external_number="2023001",
                           phone="13800138000")
teacher = org.enrol_person(unit=school, name="辅导员", kind="teacher", external_number="T01")
actor = org.create_account(teacher, None)
code = credentials.issue_code(student, actor).code
print(json.dumps({"token": reach.ensure_class_link(klass).token, "code": code}))
"""

# One "worker": sign in with each code given on the command line; print the status codes.
WORKER = """
import json, sys
import django
django.setup()
from django.test import Client
from django.urls import reverse
token, codes = sys.argv[1], sys.argv[2:]
client = Client(REMOTE_ADDR="10.0.0.1")
url = reverse("member_signin", args=[token])
print(json.dumps([client.post(url, {"number": "2023001", "code": c}).status_code for c in codes]))
"""


def run(env: dict[str, str], script: str, *args: str) -> object:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_five_wrong_codes_lock_the_number_across_processes(tmp_path):
    path = tmp_path / "shared.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANZHA_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="fanzha.settings.test",
        FANZHA_DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=f"sqlite:///{path}",
    )
    migrated = subprocess.run(
        [sys.executable, "-m", "fanzha", "migrate", "-v0"], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    world = run(env, SEED)
    assert isinstance(world, dict)
    token, code = world["token"], world["code"]
    wrong = "0000000000" if code != "0000000000" else "1111111111"
    assert run(env, WORKER, token, wrong, wrong, wrong) == [400, 400, 400]
    assert run(env, WORKER, token, wrong, wrong, code) == [400, 400, 429]  # another process: locked
    with sqlite3.connect(path) as conn:
        counts = sorted(n for (n,) in conn.execute("SELECT count FROM core_ratecounter"))
        keys = [k for (k,) in conn.execute("SELECT key FROM core_ratecounter")]
    assert counts[-1] == 5  # the number's count, and the person's, as both processes saw them
    assert all("2023001" not in k and "10.0.0.1" not in k for k in keys)
