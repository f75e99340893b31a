"""Sign-in, sign-out and the role checks every write goes through.

The session (a signed, HttpOnly, SameSite=Lax cookie that expires after
``PERMANENT_SESSION_LIFETIME``) holds only the user's name; the role is read from the
users' file on every request, so removing a user or changing a role takes effect at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from web.i18n import t
from web.users import LoginThrottle, User, UserDB

bp = Blueprint("auth", __name__)


def users_db() -> UserDB:
    return current_app.extensions["inventory_users"]


def throttle() -> LoginThrottle:
    return current_app.extensions["inventory_login_throttle"]


def load_user() -> None:
    """before_request: ``g.user`` is the signed-in :class:`User` or None."""
    g.user = None
    name = session.get("user")
    if name:
        user = users_db().get(name)
        if user is None:  # removed since signing in
            session.pop("user", None)
        else:
            g.user = user


def current_user() -> User | None:
    return g.get("user")


def wants_json() -> bool:
    return request.path.startswith("/api/")


def require(permission: str | None = None) -> Callable:
    """Decorator: a signed-in user (401 / redirect to sign-in), with ``permission``
    (403) when given."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if wants_json() or request.method != "GET":
                    abort(401)
                flash(t("login_needed"), "info")
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if permission and not user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute or protocol-relative URL."""
    if not target:
        return url_for("dashboard.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return url_for("dashboard.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        name = (request.form.get("name") or "").strip()[:64]
        password = request.form.get("password") or ""
        if throttle().locked(name):
            error = t("login_locked")
        else:
            user = users_db().authenticate(name, password) if name else None
            if user is None:
                throttle().failed(name)
                error = t("bad_login")
            else:
                throttle().succeeded(name)
                target = safe_next(request.args.get("next"))
                lang = session.get("lang")
                session.clear()  # a fresh session (and CSRF secret) for the signed-in user
                session.permanent = True
                session["user"] = user.name
                if lang:
                    session["lang"] = lang
                current_app.logger.info("user %s signed in", user.name)
                return redirect(target)
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("dashboard.index"))


@bp.route("/lang/<code>")
def set_lang(code: str):
    from web.i18n import LANGS

    if code not in LANGS:
        abort(404)
    response = redirect(safe_next(request.args.get("next")))
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response
