"""Configuration of the web application: defaults, the environment, the secret key.

Precedence, lowest first: the defaults below, the environment (``$INVENTORY_*``), the
``config`` mapping given to :func:`web.create_app`. Every key can be set in that mapping;
the environment names are:

=========================  =======================================================
``INVENTORY_STORE``        the graph store (SQLite path or bolt:// / neo4j:// URI)
``INVENTORY_USERS_DB``     the users' SQLite file (default ``./users.db``)
``INVENTORY_SECRET_KEY``   the key that signs session cookies and CSRF tokens
``INVENTORY_SECRET_KEY_FILE``  where a generated key is kept (0600), default beside
                           the users' file
``INVENTORY_TILE_URL``     the map tile URL template (an intranet tile server)
``INVENTORY_TILE_ATTRIBUTION``  its attribution text
``INVENTORY_MAX_UPLOAD_MB``  upload limit in MB (default 50)
``INVENTORY_UPLOAD_DIR``   where uploads wait between dry run and commit
``INVENTORY_SESSION_HOURS``  how long a sign-in lasts (default 8)
``INVENTORY_SECURE_COOKIES``  1 to send cookies over HTTPS only (behind a TLS proxy)
``INVENTORY_READ_REQUIRES_LOGIN``  1 to require a signed-in user for every page
=========================  =======================================================
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def defaults() -> dict[str, Any]:
    env = os.environ
    hours = float(env.get("INVENTORY_SESSION_HOURS") or 8)
    upload_mb = float(env.get("INVENTORY_MAX_UPLOAD_MB") or 50)
    return {
        "STORE": env.get("INVENTORY_STORE") or None,  # None: open_store's own default
        "USERS_DB": env.get("INVENTORY_USERS_DB") or "users.db",
        "SECRET_KEY": env.get("INVENTORY_SECRET_KEY") or None,
        "SECRET_KEY_FILE": env.get("INVENTORY_SECRET_KEY_FILE") or None,
        "TILE_URL": env.get("INVENTORY_TILE_URL") or OSM_TILES,
        "TILE_ATTRIBUTION": env.get("INVENTORY_TILE_ATTRIBUTION") or OSM_ATTRIBUTION,
        "MAX_CONTENT_LENGTH": int(upload_mb * 1024 * 1024),
        "UPLOAD_DIR": env.get("INVENTORY_UPLOAD_DIR")
        or os.path.join(tempfile.gettempdir(), "inventory-uploads"),
        # uploads not committed within this time are deleted
        "UPLOAD_TTL_SECONDS": 3600,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=hours),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag(env.get("INVENTORY_SECURE_COOKIES")),
        "SESSION_COOKIE_NAME": "inventory_session",
        "READ_REQUIRES_LOGIN": _flag(env.get("INVENTORY_READ_REQUIRES_LOGIN")),
        # a CSRF token lives as long as the session (which expires), not one hour: an
        # importer may read a long dry-run report before committing
        "WTF_CSRF_TIME_LIMIT": None,
        "DEFAULT_LANG": "zh",
        # analysis results of the whole network (audit, search index) are cached this long;
        # a commit from this app clears them at once
        "CACHE_SECONDS": 300,
        # the audit of a larger network is computed in the background (pages say so)
        "AUDIT_SYNC_MAX_SITES": 5000,
        # the dashboard map asks for single sites below this many in view, clusters above
        "MAP_MAX_POINTS": 2000,
        # sign-in throttling: this many failures per user name in the window lock it
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_SECONDS": 300,
        "JSON_SORT_KEYS": False,
    }


def secret_key_file(config: dict[str, Any]) -> Path:
    if config.get("SECRET_KEY_FILE"):
        return Path(config["SECRET_KEY_FILE"])
    users_db = Path(config.get("USERS_DB") or "users.db")
    return users_db.resolve().parent / ".inventory-secret-key"


def load_or_create_secret_key(path: Path) -> str:
    """The key kept in ``path``; made (random, 0600) when the file does not exist."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("%s was readable by others (mode %o): set to 0600", path, mode)
            os.chmod(path, 0o600)
        key = path.read_text(encoding="ascii").strip()
        if len(key) < 32:
            raise RuntimeError(f"the secret key in {path} is too short: delete the file "
                               "to have a new one made") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    log.info("made a new secret key in %s", path)
    return key
