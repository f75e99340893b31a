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
import threading
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


class LoginThrottle:
    """At most ``max_failures`` failed sign-ins per name within ``window`` seconds; then
    that name is refused until the window has passed (in memory, per process)."""

    def __init__(self, max_failures: int = 5, window: float = 300):
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, name: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(name, []) if now - t < self.window]
        if times:
            self._failures[name] = times
        else:
            self._failures.pop(name, None)
        return times

    def locked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name, time.monotonic())) >= self.max_failures

    def failed(self, name: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._failures[name] = [*self._recent(name, now), now]
            if len(self._failures) > 10_000:  # bounded memory under a spray of names
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)
