"""Team mode's accounts: a name, a role (admin, curator, reviewer or labeler), an argon2 password hash.

    import sda2
    sda2.create_account("ana", "admin", password="a long passphrase")
    sda2.create_account("김민지", "labeler", password="another passphrase", email="minji@example.com")
    sda2.list_accounts()                     # a DataFrame: name, role, email, disabled, created_at, created_by
    sda2.disable_account("김민지")

Team mode is one setting, the environment variable ``SDA2_TEAM=1`` (:func:`team_mode`); without it the app
stays single-user with no sign-in. Accounts live in the project database's collection ``sda2_accounts``, one
document per account, keyed by the name compared case-insensitively ("Ana" and "ana" are one account, as in
the audit log). Passwords are hashed with argon2id (``argon2-cffi``'s current parameters) and never stored
or printed in clear; a hash made with older parameters is replaced at the next successful sign-in. A wrong
name and a wrong password give the same error (:class:`SignInError`), and take the same time.

Password guessing is throttled per name: after :data:`LOCK_AFTER` failed password sign-ins in a row, that
name's password sign-in is locked (:class:`AccountLocked`, saying until when) for :data:`LOCK_FIRST`, twice
as long after each further failure, at most :data:`LOCK_MAX`. An unknown name is counted and locked the same
way, so a lock tells nothing about which names exist. The counts live in the collection ``sda2_sign_ins``
(one record per case-folded name, never an account), updated with atomic ``$inc`` so failures in several app
processes at once are all counted; a successful sign-in or an admin's :func:`unlock_account` (CLI
``sda2 account unlock NAME``, the Accounts page) opens it again. :func:`sign_in_failures` lists them.

    sda2.sign_in_failures()                  # name, failures in a row, total, last failure, locked until, …
    sda2.unlock_account("김민지")
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from sda2 import names, store
from sda2.clock import as_utc

import fiftyone.core.odm as foo  # noqa: E402  (sda2.store has started the database)

COLLECTION = "sda2_accounts"
SIGN_INS = "sda2_sign_ins"  # failed password sign-ins and locks, one record per case-folded name
LOCK_AFTER = 5  # failed password sign-ins in a row that lock a name's password sign-in
LOCK_FIRST = timedelta(minutes=1)  # the first lock; each further failure doubles it
LOCK_MAX = timedelta(hours=1)  # the longest lock
TEAM_ENV = "SDA2_TEAM"  # "1" turns team mode on: sign-in, roles
ROLES = ("admin", "curator", "reviewer", "labeler")
CURATOR_ROLES = ("admin", "curator")  # see every answer (blind labeling does not hide others' answers from them)
MIN_PASSWORD = 8  # characters
HASHER = PasswordHasher()  # argon2id with the library's current (RFC 9106) parameters
WRONG = "Wrong account name or password. Fix: check both (names are not case-sensitive) or ask an admin."


class SignInError(ValueError):
    """A sign-in refused: the same message for an unknown name and a wrong password."""


class AccountLocked(SignInError):
    """A password sign-in refused because of too many failures in a row; ``until`` (UTC) is when it opens again."""

    def __init__(self, until: datetime):
        self.until = until
        super().__init__(locked_message(until))


@dataclass(frozen=True)
class Account:
    """One account as the app and the API see it (never its password hash)."""

    name: str
    role: str
    email: str | None
    disabled: bool
    created_at: datetime | None
    created_by: str

    @property
    def is_curator(self) -> bool:
        """Whether the role sees every answer (admin or curator)."""
        return self.role in CURATOR_ROLES


def team_mode() -> bool:
    """Whether the app runs in team mode (``SDA2_TEAM`` set to 1, true, yes or on)."""
    return os.environ.get(TEAM_ENV, "").strip().casefold() in ("1", "true", "yes", "on")


_INDEXED: set[tuple[int, str]] = set()


def _keyed(name: str):
    """The project-wide collection ``name`` (journaled writes; unique on the case-folded name ``key``)."""
    coll = store.durable(foo.get_db_conn()[name])
    if (id(coll.database.client), name) not in _INDEXED:
        coll.create_index("key", unique=True)
        _INDEXED.add((id(coll.database.client), name))
    return coll


def collection():
    """The accounts collection (journaled writes; unique on the case-folded name)."""
    return _keyed(COLLECTION)


def account_key(name) -> str:
    """The form account names are matched by: trimmed and case-folded."""
    return str(name or "").strip().casefold()


def check_role(role) -> str:
    """``role`` itself when it is one of :data:`ROLES`; else ValueError listing them."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}. Fix: use one of {', '.join(ROLES)}.")
    return role


def _check_password(password) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"The password is too short (at least {MIN_PASSWORD} characters). Fix: choose a longer one; "
                         "a few words make a good passphrase.")
    return password


def _check_email(email) -> str | None:
    text = str(email or "").strip()
    if not text:
        return None
    if "@" not in text or any(c.isspace() for c in text):
        raise ValueError(f"{text!r} is not an email address. Fix: pass one such as ana@example.com, or none.")
    return text.casefold()


def _account(doc: dict) -> Account:
    return Account(doc["name"], doc["role"], doc.get("email"), bool(doc.get("disabled")), doc.get("created_at"),
                   doc.get("created_by", ""))


def _find(name) -> dict:
    doc = collection().find_one({"key": account_key(name)})
    if doc is None:
        raise KeyError(f"No account named {str(name)!r}. Fix: see `sda2 account list`, or add it with "
                       f"`sda2 account add NAME --role labeler`.")
    return doc


def create_account(name: str, role: str, password: str | None = None, email: str | None = None,
                   created_by: str = "api") -> Account:
    """Add an account; ``password`` (hashed with argon2) or ``email`` (OIDC sign-in only) or both."""
    names.validate_person_name(name)
    check_role(role)
    email = _check_email(email)
    if password is None and email is None:
        raise ValueError("An account needs a password, an email for single sign-on (OIDC), or both. "
                         "Fix: pass password=… (CLI: a prompt or --password-stdin) or email=….")
    doc = {"key": account_key(name), "name": name, "role": role, "email": email, "disabled": False,
           "hash": HASHER.hash(_check_password(password)) if password is not None else None,
           "created_at": datetime.now(timezone.utc), "created_by": str(created_by)}
    if email is not None and collection().find_one({"email": email}, {"_id": 1}):
        raise ValueError(f"Another account already has the email {email!r}. Fix: one email per account.")
    try:
        collection().insert_one(doc)
    except DuplicateKeyError:
        raise ValueError(f"An account named {name!r} exists already (names are not case-sensitive). Fix: choose "
                         "another name, or change that account's role or password.") from None
    _clear_failures(doc["key"], {"unlocked_at": doc["created_at"], "unlocked_by": str(created_by)})  # starts open
    return _account(doc)


def get_account(name: str) -> Account:
    """The account named ``name`` (KeyError naming the fix when there is none)."""
    return _account(_find(name))


def list_accounts() -> pd.DataFrame:
    """Every account (enabled or not), sorted by name: name, role, email, disabled, created_at, created_by."""
    rows = [_account(d).__dict__ for d in collection().find({}, {"hash": 0})]
    frame = pd.DataFrame(rows, columns=["name", "role", "email", "disabled", "created_at", "created_by"])
    return frame.sort_values("name", key=lambda s: s.str.casefold(), ignore_index=True)


def _enabled_admins() -> int:
    return collection().count_documents({"role": "admin", "disabled": False})


def _update(name, changes: dict) -> Account:
    doc = _find(name)
    collection().update_one({"_id": doc["_id"]}, {"$set": changes})
    return get_account(name)


def disable_account(name: str) -> Account:
    """Disable an account: it can no longer sign in (its past edits keep its name). The last admin stays."""
    doc = _find(name)
    if doc["role"] == "admin" and not doc.get("disabled") and _enabled_admins() <= 1:
        raise ValueError(f"{doc['name']!r} is the last enabled admin; without one nobody could manage accounts. "
                         "Fix: make another admin first (`sda2 account add NAME --role admin`).")
    return _update(name, {"disabled": True})


def enable_account(name: str) -> Account:
    """Let a disabled account sign in again."""
    return _update(name, {"disabled": False})


def set_role(name: str, role: str) -> Account:
    """Change an account's role (the last enabled admin keeps hers)."""
    check_role(role)
    doc = _find(name)
    if doc["role"] == "admin" and role != "admin" and not doc.get("disabled") and _enabled_admins() <= 1:
        raise ValueError(f"{doc['name']!r} is the last enabled admin. Fix: make another admin first.")
    return _update(name, {"role": role})


def set_password(name: str, password: str) -> Account:
    """Replace an account's password (hashed with argon2)."""
    return _update(name, {"hash": HASHER.hash(_check_password(password))})


def local_time_text(moment: datetime, tz: tzinfo | None = None) -> str:
    """``moment`` as "2026-12-01 15:42:10 CET" in ``tz`` (default: this machine's local time zone)."""
    local = as_utc(moment).astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or ''}".strip()


def locked_message(until: datetime, tz: tzinfo | None = None) -> str:
    """The sign-in form's message for a locked name: until when, in local time; the same for every name."""
    return ("Too many failed sign-ins: password sign-in for this account is locked until "
            f"{local_time_text(until, tz)}. Fix: try again after that time, or ask an admin to unlock it.")


def lock_duration(failures: int) -> timedelta:
    """How long ``failures`` failed sign-ins in a row lock a name: none below :data:`LOCK_AFTER`, then
    :data:`LOCK_FIRST` doubling with each further failure, at most :data:`LOCK_MAX`."""
    if failures < LOCK_AFTER:
        return timedelta(0)
    return min(LOCK_FIRST * 2 ** min(failures - LOCK_AFTER, 30), LOCK_MAX)


def sign_ins():
    """The collection of failed sign-in records (journaled writes; unique on the case-folded name)."""
    return _keyed(SIGN_INS)


def _now(now: datetime | None) -> datetime:
    return as_utc(now) if now is not None else datetime.now(timezone.utc)


def _refuse_if_locked(key: str, now: datetime) -> None:
    """Raise AccountLocked (and count the refusal) while ``key``'s password sign-in is locked."""
    record = sign_ins().find_one_and_update({"key": key, "locked_until": {"$gt": now}},
                                            {"$inc": {"refused_while_locked": 1}, "$set": {"last_refused_at": now}},
                                            projection={"locked_until": 1})
    if record is not None:
        raise AccountLocked(as_utc(record["locked_until"]))


def _count_failure(key: str, typed: str, now: datetime) -> None:
    """Count one failed password sign-in for ``key`` atomically; lock it when that makes too many in a row."""
    update = {"$inc": {"failures": 1, "total_failures": 1}, "$set": {"name": typed, "last_failure_at": now},
              "$setOnInsert": {"first_failure_at": now, "refused_while_locked": 0}}
    for attempt in (1, 2):
        try:
            record = sign_ins().find_one_and_update({"key": key}, update, upsert=True, projection={"failures": 1},
                                                    return_document=ReturnDocument.AFTER)
            break
        except DuplicateKeyError:  # another process inserted the first record a moment ago: now it is an update
            if attempt == 2:
                raise
    duration = lock_duration(record["failures"])
    if duration:
        sign_ins().update_one({"_id": record["_id"]}, {"$max": {"locked_until": now + duration},
                                                       "$inc": {"locks": 1}})


def _clear_failures(key: str, changes: dict) -> int:
    """Reset ``key``'s failures in a row and its lock (the totals stay for the admin); how many it had."""
    record = sign_ins().find_one_and_update(
        {"key": key, "$or": [{"failures": {"$gt": 0}}, {"locked_until": {"$ne": None}}]},
        {"$set": {"failures": 0, "locked_until": None, **changes}}, projection={"failures": 1})
    return int(record["failures"]) if record else 0


def unlock_account(name: str, by: str = "api") -> int:
    """Open ``name``'s password sign-in again and forget its failures in a row (an admin's action); returns how
    many failures it cleared (0: it was neither locked nor failing). Works for names without an account too."""
    key = account_key(name)
    if not key:
        raise ValueError("No name given. Fix: pass the account name to unlock (see `sda2 account failures`).")
    return _clear_failures(key, {"unlocked_at": datetime.now(timezone.utc), "unlocked_by": str(by)})


def is_locked(name: str, now: datetime | None = None) -> datetime | None:
    """Until when (UTC) ``name``'s password sign-in is locked, or None when it is open."""
    record = sign_ins().find_one({"key": account_key(name), "locked_until": {"$gt": _now(now)}}, {"locked_until": 1})
    return as_utc(record["locked_until"]) if record else None


SIGN_IN_COLUMNS = ["name", "account", "failures", "total_failures", "first_failure_at", "last_failure_at",
                   "locked_until", "refused_while_locked", "last_refused_at", "unlocked_at", "unlocked_by"]


def sign_in_failures(now: datetime | None = None) -> pd.DataFrame:
    """Every name with failed password sign-ins, most recent first: the name as last typed, whether an account
    has it, failures in a row, total, first and last failure (UTC), locked until (NaT when open), sign-ins
    refused while locked, the last of those, and the last admin unlock."""
    moment = _now(now)
    known = {d["key"] for d in collection().find({}, {"key": 1})}
    rows = []
    for doc in sign_ins().find({}):
        until = as_utc(doc.get("locked_until"))
        rows.append({"name": doc.get("name") or doc["key"], "account": doc["key"] in known,
                     "failures": int(doc.get("failures", 0)), "total_failures": int(doc.get("total_failures", 0)),
                     "first_failure_at": as_utc(doc.get("first_failure_at")),
                     "last_failure_at": as_utc(doc.get("last_failure_at")),
                     "locked_until": until if until is not None and until > moment else None,
                     "refused_while_locked": int(doc.get("refused_while_locked", 0)),
                     "last_refused_at": as_utc(doc.get("last_refused_at")),
                     "unlocked_at": as_utc(doc.get("unlocked_at")), "unlocked_by": doc.get("unlocked_by")})
    frame = pd.DataFrame(rows, columns=SIGN_IN_COLUMNS)
    return frame.sort_values("last_failure_at", ascending=False, ignore_index=True, na_position="last")


_DUMMY_HASH: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash (with :data:`HASHER`'s parameters) to check against when the name is unknown, so both refusals
    take the same time."""
    if id(HASHER) not in _DUMMY_HASH:
        _DUMMY_HASH[id(HASHER)] = HASHER.hash("not anyone's password")
    return _DUMMY_HASH[id(HASHER)]


def _could_be_an_account(name: str) -> bool:
    """Whether ``name`` is a valid account name (only those are counted and locked, so junk fills no records)."""
    try:
        names.validate_person_name(name)
    except ValueError:
        return False
    return True


def verify(name: str, password: str, *, now: datetime | None = None) -> Account:
    """The account when ``password`` is right (rehashing it if its parameters are old); SignInError otherwise,
    AccountLocked while the name is locked after too many failures (``now``: the clock, default the real one)."""
    key, moment = account_key(name), _now(now)
    counted = key and _could_be_an_account(str(name).strip())  # others can never sign in: nothing to guess or lock
    if counted:
        _refuse_if_locked(key, moment)
    doc = collection().find_one({"key": key}) if key else None
    stored = doc.get("hash") if doc else None
    try:
        HASHER.verify(stored or _dummy_hash(), str(password or ""))
        if stored is None:
            raise SignInError(WRONG)
    except (VerificationError, InvalidHashError, SignInError):
        if counted:
            _count_failure(key, str(name).strip(), moment)
        raise SignInError(WRONG) from None
    _clear_failures(key, {"last_success_at": moment})
    if doc.get("disabled"):
        raise SignInError(f"The account {doc['name']!r} is disabled. Fix: ask an admin to enable it.")
    if HASHER.check_needs_rehash(stored):
        collection().update_one({"_id": doc["_id"], "hash": stored}, {"$set": {"hash": HASHER.hash(password)}})
    return _account(doc)


def account_for_email(email: str) -> Account | None:
    """The enabled account whose email is ``email`` (single sign-on maps an OIDC email to it), or None."""
    key = _check_email(email) if email else None
    doc = collection().find_one({"email": key, "disabled": False}) if key else None
    return _account(doc) if doc else None


def role_of(name) -> str | None:
    """The role of the enabled account named ``name``, or None (no such account, or disabled)."""
    doc = collection().find_one({"key": account_key(name), "disabled": False}, {"role": 1}) if account_key(name) else None
    return doc["role"] if doc else None


def curator_names() -> set[str]:
    """Case-folded names of the enabled accounts that see every answer (admins and curators)."""
    return {d["key"] for d in collection().find({"role": {"$in": list(CURATOR_ROLES)}, "disabled": False}, {"key": 1})}
