"""The web application: route maps, route diagrams, audit, fault location and imports in the
browser, and the same content as JSON under ``/api/``.

    from web import create_app
    app = create_app({"STORE": "demo/inventory.db"})

One blueprint per area (``web/views/``); pages and their JSON counterparts share the
functions of :mod:`web.pages`, which only call the GraphStore contract and the analysis
and geo libraries. Configuration: :mod:`web.config`.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from inventory.errors import InventoryError, NotFound, StoreUnavailable, ValidationError
from web import config as config_module
from web import links
from web.extensions import csrf, store_ext
from web.i18n import current_lang, fmt_km, fmt_m, t, t_enum
from web.users import LoginThrottle, UserDB

log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(config_module.defaults())
    if config:
        app.config.update(config)
    _secret_key(app)

    app.extensions["inventory_users"] = UserDB(app.config["USERS_DB"])
    app.extensions["inventory_login_throttle"] = LoginThrottle(
        app.extensions["inventory_users"], app.config["LOGIN_MAX_FAILURES"],
        app.config["LOGIN_LOCK_SECONDS"])
    app.extensions["inventory_cache"] = {}
    store_ext.init_app(app)
    app.before_request(_reject_nameless_form_parts)  # before the CSRF check, which trips on them
    csrf.init_app(app)

    app.jinja_env.autoescape = True  # also for templates not ending in .html
    app.jinja_env.globals.update(t=t, t_enum=t_enum, lang=current_lang, fmt_km=fmt_km,
                                 fmt_m=fmt_m, nav_items=NAV_ITEMS,
                                 element_link=links.element_link, step_link=links.step_link,
                                 segment_rows=links.segment_rows)
    app.jinja_env.filters["yesno"] = lambda v: t("yes") if v else (t("no") if v is not None
                                                                       else "")

    from web import auth
    from web.views import (
        api,
        audit,
        customers,
        dashboard,
        elements,
        fault,
        imports,
        plans,
        search,
        sites,
    )

    app.before_request(auth.load_user)
    app.before_request(_read_access)
    for module in (auth, dashboard, search, customers, sites, elements, fault, audit, imports,
                   plans, api):
        app.register_blueprint(module.bp)

    app.context_processor(lambda: {"current_user": g.get("user")})
    app.after_request(_security_headers)
    _error_handlers(app)
    return app


def _secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.config.get("TESTING") and not app.config.get("SECRET_KEY_FILE"):
        app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
        return
    path = config_module.secret_key_file(app.config)
    app.config["SECRET_KEY"] = config_module.load_or_create_secret_key(Path(path))


def _reject_nameless_form_parts():
    """A multipart part without a name (a crafted request; found by schemathesis) makes
    Flask-WTF's CSRF check raise AttributeError (a 500): refuse it as a bad request."""
    if request.mimetype == "multipart/form-data" and (
            None in request.form or None in request.files):
        from flask import abort

        abort(400)


def _read_access():
    """With READ_REQUIRES_LOGIN, every page but sign-in and static files needs a user."""
    from flask import current_app

    from web.auth import require

    if not current_app.config.get("READ_REQUIRES_LOGIN"):
        return None
    if request.endpoint in {"auth.login", "auth.set_lang", "static"} or g.get("user"):
        return None
    return require()(lambda: None)()


#: (endpoint, label key) of the navigation's areas
NAV_ITEMS = (("dashboard.index", "nav_dashboard"), ("search.index", "nav_search"),
             ("audit.index", "nav_audit"), ("fault.index", "nav_fault"),
             ("imports.index", "nav_import"), ("plans.index", "nav_plans"),
             ("api.openapi", "nav_api"))


def _tile_origin(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    host = parts.netloc.replace("{s}", "*")
    if "{" in host:
        return ""
    return f"{parts.scheme}://{host}"


def _security_headers(response):
    from flask import current_app

    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "same-origin")
    tiles = _tile_origin(current_app.config.get("TILE_URL", ""))
    # folium writes its map as inline script; everything else comes from this app only
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: {tiles}".rstrip() + "; connect-src 'self'; "
        "frame-ancestors 'self'; form-action 'self'; base-uri 'self'; object-src 'none'")
    return response


def _error_page(status: int, title: str, message: str = "", **extra: Any):
    if request.path.startswith("/api/"):
        response = jsonify({"error": title, "message": message, "status": status, **extra})
    else:
        response = make_response(render_template("error.html", status=status, title=title,
                                                 message=message, **extra))
    response.status_code = status
    return response


def _error_handlers(app: Flask) -> None:
    @app.errorhandler(StoreUnavailable)
    def unavailable(exc: StoreUnavailable):
        app.logger.warning("store unavailable: %s", exc)
        response = _error_page(503, t("unavailable"), t("unavailable_hint"))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return _error_page(404, t("not_found"), str(exc))

    @app.errorhandler(ValidationError)
    def invalid(exc: ValidationError):
        return _error_page(400, t("bad_request"), str(exc))

    @app.errorhandler(InventoryError)
    def inventory_error(exc: InventoryError):
        return _error_page(400, t("bad_request"), str(exc))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return _error_page(400, t("csrf_failed"), exc.description)

    @app.errorhandler(413)
    def too_large(exc: HTTPException):
        mb = app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024)
        return _error_page(413, t("too_large"), t("too_large_hint", mb=f"{mb:g}"))

    @app.errorhandler(401)
    def unauthorised(exc: HTTPException):
        return _error_page(401, t("login_needed"), "")

    @app.errorhandler(403)
    def forbidden(exc: HTTPException):
        return _error_page(403, t("forbidden"), "")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        title = {404: t("not_found"), 400: t("bad_request")}.get(exc.code, exc.name)
        return _error_page(exc.code or 500, title, exc.description or "")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _error_page(500, t("server_error"), "")

