"""Import: upload CSV / XLSX / ZIP → the dry-run report in the page → commit.

Both steps need a signed-in user whose role may import (``importer`` or ``admin``) and a
CSRF token. The uploaded files wait in ``UPLOAD_DIR/<token>/`` between the dry run and the
commit; the random token is kept in the session (never taken from the form alone), so one
user's upload cannot be committed from another session. Uploads older than
``UPLOAD_TTL_SECONDS`` are deleted.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
import unicodedata
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from importers.core import import_paths
from web import cache
from web.auth import require
from web.extensions import get_store
from web.i18n import t
from web.jsonutil import plain

bp = Blueprint("imports", __name__)

ALLOWED = (".csv", ".xlsx", ".zip")
MAX_FILES = 50
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def upload_root() -> Path:
    root = Path(current_app.config["UPLOAD_DIR"])
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def safe_upload_name(name: str, index: int) -> str:
    """The file's own name (Chinese kept: the importer reads 站点.csv by its name), without
    any directory part, control character or leading dot."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    name = name.strip().lstrip(".").strip()
    stem, dot, ext = name.rpartition(".")
    if not dot or f".{ext.lower()}" not in ALLOWED:
        raise ValueError(name)
    stem = stem[:100] or f"upload-{index}"
    return f"{stem}.{ext.lower()}"


def _cleanup_old(root: Path) -> None:
    ttl = current_app.config.get("UPLOAD_TTL_SECONDS", 3600)
    now = time.time()
    for folder in root.iterdir():
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > ttl:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _pending_folder(token: str | None, kind: str = "import") -> Path | None:
    """The folder of this session's pending upload, if it still exists and is ours."""
    if not token or not _TOKEN_RE.match(token) or token != session.get(f"{kind}_token"):
        return None
    folder = upload_root() / token
    meta = folder / "upload.json"
    if not meta.is_file():
        return None
    info = json.loads(meta.read_text(encoding="utf-8"))
    if info.get("user") != g.user.name:
        return None
    if time.time() - info.get("time", 0) > current_app.config.get("UPLOAD_TTL_SECONDS", 3600):
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return folder


def _paths(folder: Path) -> list[Path]:
    info = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    return [folder / "files" / name for name in info["files"]]


def run_import(paths: list[Path], dry_run: bool, crs: str | None) -> dict[str, Any]:
    report = import_paths(get_store(), [str(p) for p in paths], dry_run=dry_run, crs=crs)
    data = plain(report.as_dict())
    # the report names files by their path on the server: show only the names
    folder = str(paths[0].parent) + "/" if paths else ""
    for entry in [*data.get("files", []), *data.get("errors", []), *data.get("warnings", [])]:
        if isinstance(entry.get("file"), str) and entry["file"].startswith(folder):
            entry["file"] = entry["file"][len(folder):]
    return data


def save_upload(files: list[Any], crs: str | None, kind: str = "import"
                ) -> tuple[str, list[Path]]:
    """Keep the uploaded files under a new random token; returns (token, paths)."""
    if not files:
        raise ValueError(t("no_files"))
    if len(files) > MAX_FILES:
        raise ValueError(f"at most {MAX_FILES} files")
    names = []
    for i, storage in enumerate(files):
        try:
            name = safe_upload_name(storage.filename or "", i)
        except ValueError:
            raise ValueError(t("bad_file_type")) from None
        if name in names:
            stem, _, ext = name.rpartition(".")
            name = f"{stem}-{i}.{ext}"
        names.append(name)
    root = upload_root()
    _cleanup_old(root)
    token = secrets.token_urlsafe(24)
    folder = root / token
    (folder / "files").mkdir(parents=True, mode=0o700)
    paths = []
    for storage, name in zip(files, names):
        path = folder / "files" / name
        storage.save(path)
        paths.append(path)
    (folder / "upload.json").write_text(json.dumps(
        {"user": g.user.name, "time": time.time(), "files": names, "crs": crs},
        ensure_ascii=False), encoding="utf-8")
    old = session.get(f"{kind}_token")
    if old and _TOKEN_RE.match(old):
        shutil.rmtree(root / old, ignore_errors=True)
    session[f"{kind}_token"] = token
    return token, paths


def _crs_field() -> str | None:
    crs = (request.form.get("crs") or "").strip()
    return crs[:40] or None


@bp.route("/imports", methods=["GET"])
@require("import")
def index():
    return render_template("import.html", report=None, token=None, committed=False)


@bp.route("/imports", methods=["POST"])
@require("import")
def upload():
    """Step 1: save the files and show the dry-run report."""
    crs = _crs_field()
    files = [f for f in request.files.getlist("files") if f and f.filename]
    try:
        token, paths = save_upload(files, crs)
    except ValueError as exc:
        flash(str(exc), "error")
        return render_template("import.html", report=None, token=None, committed=False), 400
    report = run_import(paths, dry_run=True, crs=crs)
    current_app.logger.info("user %s: dry run of %d file(s): %s", g.user.name, len(paths),
                            "ok" if report["ok"] else f"{len(report['errors'])} error(s)")
    if not report["ok"]:
        shutil.rmtree(upload_root() / token, ignore_errors=True)
        session.pop("import_token", None)
        token = None
    return render_template("import.html", report=report, token=token, committed=False,
                           crs=crs), (200 if report["ok"] else 422)


@bp.route("/imports/commit", methods=["POST"])
@require("import")
def commit():
    """Step 2: import the files of this session's dry run for real."""
    token = request.form.get("token")
    folder = _pending_folder(token)
    if folder is None:
        flash(t("import_expired"), "error")
        return redirect(url_for("imports.index"))
    info = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    try:
        report = run_import(_paths(folder), dry_run=False, crs=info.get("crs"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        session.pop("import_token", None)
    cache.clear()
    current_app.logger.info("user %s committed an import: %s", g.user.name,
                            "written" if report.get("written") else "not written")
    return render_template("import.html", report=report, token=None, committed=True), \
        (200 if report["ok"] else 422)
