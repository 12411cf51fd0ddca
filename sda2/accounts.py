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
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo.errors import DuplicateKeyError

from sda2 import names, store

import fiftyone.core.odm as foo  # noqa: E402  (sda2.store has started the database)

COLLECTION = "sda2_accounts"
TEAM_ENV = "SDA2_TEAM"  # "1" turns team mode on: sign-in, roles
ROLES = ("admin", "curator", "reviewer", "labeler")
CURATOR_ROLES = ("admin", "curator")  # see every answer (blind labeling does not hide others' answers from them)
MIN_PASSWORD = 8  # characters
HASHER = PasswordHasher()  # argon2id with the library's current (RFC 9106) parameters
WRONG = "Wrong account name or password. Fix: check both (names are not case-sensitive) or ask an admin."


class SignInError(ValueError):
    """A sign-in refused: the same message for an unknown name and a wrong password."""


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


_INDEXED: set[int] = set()


def collection():
    """The accounts collection (journaled writes; unique on the case-folded name)."""
    coll = store.durable(foo.get_db_conn()[COLLECTION])
    if id(coll.database.client) not in _INDEXED:
        coll.create_index("key", unique=True)
        _INDEXED.add(id(coll.database.client))
    return coll


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


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    """A hash to check against when the name is unknown, so both refusals take the same time."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(HASHER.hash("not anyone's password"))
    return _DUMMY_HASH[0]


def verify(name: str, password: str) -> Account:
    """The account when ``password`` is right (rehashing it if its parameters are old); SignInError otherwise."""
    doc = collection().find_one({"key": account_key(name)}) if account_key(name) else None
    stored = doc.get("hash") if doc else None
    try:
        HASHER.verify(stored or _dummy_hash(), str(password or ""))
        if stored is None:
            raise SignInError(WRONG)
    except (VerificationError, InvalidHashError):
        raise SignInError(WRONG) from None
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
