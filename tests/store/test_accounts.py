"""Team mode's accounts in the real test database: argon2 hashes, sign-in checks, roles, rehash, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from argon2 import PasswordHasher

import sda2
from sda2 import accounts, cli
from sda2.explore import labeler_quality
from tests import forked
from tests.conftest import TEST_DB

PASSWORD = "correct horse battery"


@pytest.fixture
def clean_accounts():
    """Empty accounts and failed sign-in collections for one test, emptied again afterwards."""
    accounts.collection().delete_many({})
    accounts.sign_ins().delete_many({})
    yield accounts
    accounts.collection().delete_many({})
    accounts.sign_ins().delete_many({})


def test_password_is_stored_as_an_argon2id_hash_only(clean_accounts):
    account = sda2.create_account("Ana", "admin", password=PASSWORD)
    assert (account.name, account.role, account.disabled) == ("Ana", "admin", False)
    doc = accounts.collection().find_one({"key": "ana"})
    assert doc["hash"].startswith("$argon2id$") and PASSWORD not in str(doc)
    frame = sda2.list_accounts()
    assert frame["name"].tolist() == ["Ana"] and "hash" not in frame.columns


def test_verify_accepts_the_right_password_case_insensitive_name(clean_accounts):
    accounts.create_account("김민지", "labeler", password=PASSWORD)
    accounts.create_account("Bob", "curator", password="another passphrase")
    assert accounts.verify("김민지", PASSWORD).role == "labeler"
    assert accounts.verify(" BOB ", "another passphrase").name == "Bob"


def test_wrong_password_and_unknown_name_get_the_same_error(clean_accounts):
    accounts.create_account("ana", "admin", password=PASSWORD)
    errors = []
    for name, password in (("ana", "wrong password"), ("nobody", PASSWORD), ("", ""), ("ana", "")):
        with pytest.raises(accounts.SignInError) as info:
            accounts.verify(name, password)
        errors.append(str(info.value))
    assert set(errors) == {accounts.WRONG}


def test_disabled_account_cannot_sign_in_and_can_be_enabled(clean_accounts):
    accounts.create_account("ana", "admin", password=PASSWORD)
    accounts.create_account("lena", "labeler", password=PASSWORD)
    sda2.disable_account("lena")
    with pytest.raises(accounts.SignInError, match="disabled"):
        accounts.verify("lena", PASSWORD)
    with pytest.raises(accounts.SignInError, match="Wrong account name or password"):
        accounts.verify("lena", "not her password")  # a disabled account tells nothing to a wrong password
    assert accounts.role_of("lena") is None
    sda2.enable_account("lena")
    assert accounts.verify("lena", PASSWORD).name == "lena" and accounts.role_of("LENA") == "labeler"


def test_roles_names_and_passwords_are_checked(clean_accounts):
    with pytest.raises(ValueError, match="Unknown role 'owner'.*admin, curator, reviewer, labeler"):
        accounts.create_account("ana", "owner", password=PASSWORD)
    with pytest.raises(ValueError, match="too short"):
        accounts.create_account("ana", "admin", password="short")
    with pytest.raises(ValueError, match="Invalid account name '../etc'"):
        accounts.create_account("../etc", "admin", password=PASSWORD)
    with pytest.raises(ValueError, match="needs a password, an email"):
        accounts.create_account("ana", "admin")
    accounts.create_account("ana", "admin", password=PASSWORD)
    with pytest.raises(ValueError, match="exists already"):
        accounts.create_account("ANA", "labeler", password=PASSWORD)
    with pytest.raises(ValueError, match="last enabled admin"):
        accounts.disable_account("ana")
    with pytest.raises(ValueError, match="last enabled admin"):
        accounts.set_role("ana", "labeler")
    assert accounts.list_accounts()["name"].tolist() == ["ana"]


def test_role_decides_who_is_a_curator_in_team_mode(clean_accounts, monkeypatch):
    accounts.create_account("ana", "admin", password=PASSWORD)
    accounts.create_account("cora", "curator", password=PASSWORD)
    accounts.create_account("rita", "reviewer", password=PASSWORD)
    accounts.create_account("lena", "labeler", password=PASSWORD)
    monkeypatch.setenv("SDA2_CURATORS", "lena")
    monkeypatch.delenv(accounts.TEAM_ENV, raising=False)
    assert not accounts.team_mode() and labeler_quality.is_curator("lena") and not labeler_quality.is_curator("cora")
    monkeypatch.setenv(accounts.TEAM_ENV, "1")
    assert accounts.team_mode()
    assert [labeler_quality.is_curator(n) for n in ("Ana", "cora", "rita", "lena")] == [True, True, False, False]
    sda2.set_role("lena", "curator")
    accounts.disable_account("cora")
    assert labeler_quality.curators() == {"ana", "lena"}


def test_a_hash_made_with_older_parameters_is_replaced_at_sign_in(clean_accounts):
    accounts.create_account("ana", "admin", password=PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)  # an older version's hash
    accounts.collection().update_one({"key": "ana"}, {"$set": {"hash": weak}})
    assert accounts.HASHER.check_needs_rehash(weak)
    accounts.verify("ana", PASSWORD)
    stored = accounts.collection().find_one({"key": "ana"})["hash"]
    assert stored != weak and not accounts.HASHER.check_needs_rehash(stored)
    accounts.verify("ana", PASSWORD)  # the new hash verifies, and stays
    assert accounts.collection().find_one({"key": "ana"})["hash"] == stored


def test_email_maps_single_sign_on_to_an_account(clean_accounts):
    accounts.create_account("ana", "admin", password=PASSWORD)
    accounts.create_account("minji", "labeler", email="MinJi@Example.com")
    assert accounts.account_for_email("minji@example.com").name == "minji"
    assert accounts.account_for_email("nobody@example.com") is None
    with pytest.raises(accounts.SignInError):  # an email-only account has no password to guess
        accounts.verify("minji", "")
    with pytest.raises(ValueError, match="already has the email"):
        accounts.create_account("other", "labeler", email="minji@example.com")


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "FIFTYONE_DATABASE_NAME": TEST_DB}
    return forked.run([sys.executable, "-m", "sda2.cli", "account", *args], input=stdin, env=env, timeout=120)


def test_cli_adds_lists_and_disables_accounts_without_printing_the_password(clean_accounts, capsys):
    added = _cli("add", "김민지", "--role", "labeler", "--password-stdin", stdin=PASSWORD + "\n")  # a real stdin
    assert added.returncode == 0, added.stderr
    assert "Added '김민지' (labeler)" in added.stdout and PASSWORD not in added.stdout + added.stderr
    assert accounts.verify("김민지", PASSWORD).role == "labeler"
    with pytest.raises(SystemExit):
        cli.main(["account", "add", "x", "--role", "owner", "--password-stdin"])
    assert "invalid choice: 'owner'" in capsys.readouterr().err
    assert cli.main(["account", "disable", "김민지"]) == 0 and "can no longer sign in" in capsys.readouterr().out
    assert cli.main(["account", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["김민지\tlabeler\tdisabled\t-"]
    assert cli.main(["account", "disable", "nobody"]) == 2 and "No account named 'nobody'" in capsys.readouterr().err

