"""The web app's users: a small SQLite file, never the graph.

A user has a name, a role and a password hash (werkzeug's ``generate_password_hash``:
scrypt by default; a password is never stored or logged in clear). The file is kept at
``USERS_DB`` (``$INVENTORY_USERS_DB``, default ``./users.db``), created 0600.

Roles, each allowing what the ones before it allow to read (reading is open unless
``READ_REQUIRES_LOGIN``):

* ``viewer``   — reads;
* ``planner``  — may apply plans;
* ``importer`` — may upload and commit imports;
* ``admin``    — everything.

This module is the only place in ``web/`` with SQL, and it is about users, not the
inventory; every statement takes its values as parameters.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
import unicodedata
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from inventory.errors import InventoryError, ValidationError

ROLES = ("viewer", "planner", "importer", "admin")
#: what each role may do besides reading
PERMISSIONS = {
    "viewer": frozenset(),
    "planner": frozenset({"plan"}),
    "importer": frozenset({"import"}),
    "admin": frozenset({"plan", "import", "admin"}),
}
MIN_PASSWORD = 8
_NAME_RE = re.compile(r"^[\w.@-]{1,64}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created       TEXT NOT NULL,
    changed       TEXT NOT NULL
);
-- failed sign-ins, shared by all worker processes of the server (LoginThrottle)
CREATE TABLE IF NOT EXISTS login_failures (name TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_name ON login_failures (name, at);
-- counters shared by the worker processes, e.g. the cache generation (web.cache)
CREATE TABLE IF NOT EXISTS app_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

# checked against when the user does not exist, so that a wrong name takes as long as a
# wrong password
_DUMMY_HASH = generate_password_hash("not a real password, only for timing")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created: str = ""
    changed: str = ""

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role, "created": self.created,
                "changed": self.changed}


def check_name(name: str) -> str:
    name = unicodedata.normalize("NFC", str(name or "")).strip()
    if not _NAME_RE.match(name):
        raise ValidationError("name", name, "a user name is 1-64 letters, digits, . _ @ or -")
    return name


def check_role(role: str) -> str:
    role = str(role or "").strip().lower()
    if role not in ROLES:
        raise ValidationError("role", role, f"expected one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if password is None or len(password) < MIN_PASSWORD:
        raise ValidationError("password", "…", f"a password needs at least {MIN_PASSWORD} "
                              "characters")
    if len(password) > 1024:
        raise ValidationError("password", "…", "a password is at most 1024 characters")
    return password


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class UserDB:
    """The users' file. Each call opens its own short connection (thread-safe)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        parent = self.path.resolve().parent
        if not parent.is_dir():
            raise InventoryError(f"cannot open the users' file {self.path}: no directory "
                                 f"{parent}")
        if not self.path.exists():
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.close(fd)
        try:
            conn = sqlite3.connect(self.path, timeout=10)
            conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InventoryError(f"cannot use the users' file {self.path}: {exc}") from None
        return conn

    def add(self, name: str, password: str, role: str = "viewer", *,
            replace: bool = False) -> User:
        name, role = check_name(name), check_role(role)
        digest = generate_password_hash(check_password(password))
        now = _now()
        with closing(self._connect()) as conn, conn:
            exists = conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone()
            if exists and not replace:
                raise InventoryError(f"user {name!r} exists already (use --replace to change "
                                     "the password and role)")
            if exists:
                conn.execute("UPDATE users SET role = ?, password_hash = ?, changed = ? "
                             "WHERE name = ?", (role, digest, now, name))
            else:
                conn.execute("INSERT INTO users (name, role, password_hash, created, changed) "
                             "VALUES (?, ?, ?, ?, ?)", (name, role, digest, now, now))
        return self.get(name)

    def get(self, name: str) -> User | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT name, role, created, changed FROM users WHERE name = ?",
                               (str(name),)).fetchone()
        return User(*row) if row else None

    def list(self) -> list[User]:
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT name, role, created, changed FROM users ORDER BY name"
                                ).fetchall()
        return [User(*row) for row in rows]

    def remove(self, name: str) -> bool:
        with closing(self._connect()) as conn, conn:
            return conn.execute("DELETE FROM users WHERE name = ?", (str(name),)).rowcount > 0

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password matches, else None (in about the same time)."""
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT name, role, created, changed, password_hash FROM users "
                               "WHERE name = ?", (str(name),)).fetchone()
        if row is None:
            check_password_hash(_DUMMY_HASH, password or "")
            return None
        if not check_password_hash(row[4], password or ""):
            return None
        return User(*row[:4])

    def counter(self, key: str) -> int:
        """A counter shared by every process using this file (0 when never bumped)."""
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT value FROM app_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else 0

    def bump(self, key: str) -> int:
        """Add one to a shared counter; returns the new value."""
        with closing(self._connect()) as conn, conn:
            conn.execute("INSERT INTO app_state (key, value) VALUES (?, 1) "
                         "ON CONFLICT (key) DO UPDATE SET value = value + 1", (key,))
            return conn.execute("SELECT value FROM app_state WHERE key = ?", (key,)
                                ).fetchone()[0]


class LoginThrottle:
    """At most ``max_failures`` failed sign-ins per name within ``window`` seconds; then
    that name is refused until the window has passed. Kept in the users' file, so that
    every worker process of ``inventory serve --workers N`` counts the same failures."""

    #: failures kept at most (bounded under a spray of names)
    MAX_ROWS = 10_000

    def __init__(self, db: UserDB, max_failures: int = 5, window: float = 300):
        self.db = db
        self.max_failures = max_failures
        self.window = window

    def locked(self, name: str) -> bool:
        with closing(self.db._connect()) as conn:
            count = conn.execute("SELECT count(*) FROM login_failures WHERE name = ? AND at > ?",
                                 (str(name), time.time() - self.window)).fetchone()[0]
        return count >= self.max_failures

    def failed(self, name: str) -> None:
        now = time.time()
        with closing(self.db._connect()) as conn, conn:
            conn.execute("DELETE FROM login_failures WHERE at <= ?", (now - self.window,))
            conn.execute("INSERT INTO login_failures (name, at) VALUES (?, ?)", (str(name), now))
            conn.execute("DELETE FROM login_failures WHERE rowid NOT IN (SELECT rowid FROM "
                         "login_failures ORDER BY at DESC LIMIT ?)", (self.MAX_ROWS,))

    def succeeded(self, name: str) -> None:
        with closing(self.db._connect()) as conn, conn:
            conn.execute("DELETE FROM login_failures WHERE name = ?", (str(name),))
