"""Password guessing throttled: failures counted per name in the real database, a growing lock with an explicit
clock, unknown names alike, the admin's unlock from the CLI, and failures in two processes at once all counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from argon2 import PasswordHasher

from sda2 import accounts
from tests import forked
from tests.conftest import TEST_DB

PASSWORD = "correct horse battery"

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # the explicit clock of the lockout tests
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # argon2id at its lowest cost


@pytest.fixture
def cheap_hashes(monkeypatch):
    """Empty accounts and sign-in records, hashed with argon2id at its lowest cost: the lockout does not depend on
    the cost, and forty sign-ins at the real cost (0.4 s each on a busy machine) would take the test's time; the
    real cost is tested in test_accounts.py."""
    monkeypatch.setattr(accounts, "HASHER", CHEAP)
    accounts.collection().delete_many({})
    accounts.sign_ins().delete_many({})
    yield accounts
    accounts.collection().delete_many({})
    accounts.sign_ins().delete_many({})


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FIFTYONE_DATABASE_NAME": TEST_DB}
    return forked.run([sys.executable, "-m", "sda2.cli", "account", *args], env=env, timeout=120)


def _refusal(name: str, password: str, now: datetime) -> accounts.SignInError:
    with pytest.raises(accounts.SignInError) as info:
        accounts.verify(name, password, now=now)
    return info.value


def test_five_failures_in_a_row_lock_password_sign_in_until_the_lock_expires(cheap_hashes):
    accounts.create_account("ana", "admin", password=PASSWORD)
    for i in range(accounts.LOCK_AFTER):
        assert not accounts.is_locked("ana", now=T0)
        refusal = _refusal("ana", f"guess {i}", T0 + timedelta(seconds=i))
        assert type(refusal) is accounts.SignInError and str(refusal) == accounts.WRONG
    until = T0 + timedelta(seconds=accounts.LOCK_AFTER - 1) + accounts.LOCK_FIRST
    assert accounts.is_locked("ANA", now=T0 + timedelta(seconds=5)) == until
    locked = _refusal("ana", PASSWORD, until - timedelta(seconds=1))  # even the right password, while locked
    assert isinstance(locked, accounts.AccountLocked) and locked.until == until
    assert str(locked) == accounts.locked_message(until)
    assert "locked until " + accounts.local_time_text(until) in str(locked)
    assert "5" not in str(locked).replace(accounts.local_time_text(until), "")  # no count, no internals
    row = accounts.sign_in_failures(now=until - timedelta(seconds=1)).iloc[0]
    assert (row["name"], row["account"], row["failures"], row["total_failures"]) == ("ana", True, 5, 5)
    assert (row["locked_until"], row["refused_while_locked"]) == (until, 1)

    # expired: one more wrong guess locks again, twice as long
    assert accounts.is_locked("ana", now=until) is None
    later = until + timedelta(seconds=10)
    assert type(_refusal("ana", "guess 6", later)) is accounts.SignInError
    assert accounts.is_locked("ana", now=later) == later + 2 * accounts.LOCK_FIRST
    assert isinstance(_refusal("ana", PASSWORD, later + timedelta(minutes=1)), accounts.AccountLocked)

    # the right password after the lock: signed in, and the count in a row starts over (the totals stay)
    assert accounts.verify("ana", PASSWORD, now=later + timedelta(minutes=2)).name == "ana"
    row = accounts.sign_in_failures(now=later + timedelta(minutes=2)).iloc[0]
    assert (row["failures"], row["total_failures"], row["refused_while_locked"]) == (0, 6, 2)
    assert pd.isna(row["locked_until"])
    for i in range(accounts.LOCK_AFTER - 1):
        _refusal("ana", "again wrong", later + timedelta(minutes=3))
    assert accounts.is_locked("ana", now=later + timedelta(minutes=3)) is None  # 4 in a row: not yet


def test_lock_doubles_with_each_further_failure_up_to_the_cap():
    durations = [accounts.lock_duration(n) for n in range(accounts.LOCK_AFTER + 12)]
    assert durations[:accounts.LOCK_AFTER] == [timedelta(0)] * accounts.LOCK_AFTER
    assert durations[accounts.LOCK_AFTER:accounts.LOCK_AFTER + 3] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert max(durations) == accounts.LOCK_MAX == timedelta(hours=1)
    assert accounts.lock_duration(10**6) == accounts.LOCK_MAX


def test_an_unknown_name_is_counted_and_locked_alike_without_creating_an_account(cheap_hashes):
    accounts.create_account("ana", "admin", password=PASSWORD)
    known = [_refusal("ana", "wrong", T0) for _ in range(accounts.LOCK_AFTER + 1)]
    unknown = [_refusal("Nobody", "wrong", T0) for _ in range(accounts.LOCK_AFTER + 1)]
    assert [type(e) for e in known] == [type(e) for e in unknown] == (
        [accounts.SignInError] * accounts.LOCK_AFTER + [accounts.AccountLocked])
    assert [str(e) for e in known] == [str(e) for e in unknown]  # word for word: nothing tells the names apart
    assert accounts.list_accounts()["name"].tolist() == ["ana"]
    frame = accounts.sign_in_failures(now=T0).set_index("name")
    assert frame.loc["Nobody", "account"] == False and frame.loc["ana", "account"] == True  # noqa: E712
    assert frame["failures"].to_dict() == {"ana": 5, "Nobody": 5}
    for junk in ("", "../etc", "x" * 101):  # never an account name: refused, and recorded for no one
        with pytest.raises(accounts.SignInError, match="Wrong account name or password"):
            accounts.verify(junk, "wrong", now=T0)
    assert len(accounts.sign_in_failures()) == 2
    assert accounts.unlock_account("nobody", by="ana") == 5 and accounts.is_locked("nobody", now=T0) is None
    assert accounts.unlock_account("nobody") == 0  # nothing left to clear
    accounts.create_account("Nobody", "labeler", password=PASSWORD)  # a new account starts unlocked
    assert accounts.verify("nobody", PASSWORD, now=T0).role == "labeler"


def test_cli_unlocks_a_locked_account_and_lists_the_failures(cheap_hashes):
    accounts.create_account("김민지", "labeler", password=PASSWORD)
    for _ in range(accounts.LOCK_AFTER):
        _refusal("김민지", "wrong", datetime.now(timezone.utc))
    until = accounts.is_locked("김민지")
    assert until is not None
    listed = _cli("failures")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("김민지\taccount\t5 in a row\t5 in all\tlast ")
    assert listed.stdout.rstrip().endswith("locked until " + accounts.local_time_text(until))
    unlocked = _cli("unlock", "김민지")
    assert unlocked.returncode == 0, unlocked.stderr
    assert unlocked.stdout == "Unlocked '김민지': password sign-in is open again (5 failed sign-ins in a row cleared).\n"
    assert accounts.is_locked("김민지") is None and accounts.verify("김민지", PASSWORD).name == "김민지"
    row = accounts.sign_in_failures().iloc[0]
    assert row["unlocked_by"] == (os.environ.get("USER") or "cli") and row["failures"] == 0
    again = _cli("unlock", "김민지")
    assert again.returncode == 0 and "was not locked" in again.stdout


RACE = r"""
import json, os, sys, time
from pathlib import Path

folder, name, attempts = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
children = []
for index in range(2):
    pid = os.fork()
    if pid == 0:
        from argon2 import PasswordHasher

        from sda2 import accounts  # each process its own database connection

        accounts.HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # as the test's accounts
        accounts.sign_ins().find_one({})
        (folder / f"ready{index}").touch()
        while not (folder / "go").exists():
            time.sleep(0.005)
        outcomes = []
        for _ in range(attempts):
            try:
                accounts.verify(name, "a wrong password")
            except accounts.AccountLocked:
                outcomes.append("locked")
            except accounts.SignInError:
                outcomes.append("wrong")
        (folder / f"outcomes{index}.json").write_text(json.dumps({"pid": os.getpid(), "outcomes": outcomes}))
        os._exit(0)
    children.append(pid)
while not all((folder / f"ready{i}").exists() for i in range(2)):
    time.sleep(0.005)
(folder / "go").touch()
print(json.dumps([os.waitpid(pid, 0)[1] for pid in children]))
"""


def test_failures_in_two_processes_at_once_are_all_counted(cheap_hashes, tmp_path):
    accounts.create_account("ana", "admin", password=PASSWORD)
    attempts = 8
    for name in ("ana", "nobody"):  # an account, and a name whose first record both processes race to insert
        folder = tmp_path / name
        folder.mkdir()
        env = {**os.environ, "FIFTYONE_DATABASE_NAME": TEST_DB}
        done = forked.run([sys.executable, "-c", RACE, str(folder), name, str(attempts)], env=env, timeout=120)
        assert done.returncode == 0 and json.loads(done.stdout) == [0, 0], done.stderr
        results = [json.loads((folder / f"outcomes{i}.json").read_text()) for i in range(2)]
        assert results[0]["pid"] != results[1]["pid"]
        outcomes = results[0]["outcomes"] + results[1]["outcomes"]
        assert len(outcomes) == 2 * attempts and outcomes.count("wrong") >= accounts.LOCK_AFTER
        record = accounts.sign_ins().find_one({"key": name})
        assert record["failures"] == record["total_failures"] == outcomes.count("wrong")
        assert record["refused_while_locked"] == outcomes.count("locked")
        assert accounts.is_locked(name) is not None
