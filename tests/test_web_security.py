"""Access control, CSRF, sessions, upload limit, password storage and escaping."""

from __future__ import annotations

import io
import re
import sqlite3
import time
from datetime import timedelta

import pytest
from test_web_support import (  # noqa: F401 (fixtures)
    PASSWORD,
    XSS_CUSTOMER,
    XSS_CUSTOMER_ID,
    XSS_SITE,
    XSS_SITE_ID,
    app_fixture,
    client_fixture,
    csrf_token,
    export_files,
    login,
    make_app,
    network,
    rw_app_fixture,
    rw_client_fixture,
)


def _upload(client, token: str | None, files: list[tuple[str, bytes]] | None = None):
    files = files or [(p.name, p.read_bytes()) for p in export_files(["customers.csv"])]
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    if token is not None:
        data["csrf_token"] = token
    return client.post("/imports", data=data, content_type="multipart/form-data")


def test_anonymous_cannot_import(rw_client):
    assert rw_client.get("/imports").status_code == 302          # to the sign-in page
    assert "/login" in rw_client.get("/imports").headers["Location"]
    token = csrf_token(rw_client)
    assert _upload(rw_client, token).status_code == 401
    assert rw_client.post("/imports/commit", data={"token": "x" * 32,
                                                   "csrf_token": token}).status_code == 401
    api = rw_client.post("/api/imports", data={}, headers={"X-CSRFToken": token})
    assert api.status_code == 401 and api.is_json


@pytest.mark.parametrize("role", ["viewer", "planner"])
def test_wrong_role_cannot_import(rw_client, role):
    login(rw_client, role)
    assert rw_client.get("/imports").status_code == 403
    token = csrf_token(rw_client, "/")
    assert _upload(rw_client, token).status_code == 403
    assert rw_client.post("/imports/commit", data={"token": "x" * 32,
                                                   "csrf_token": token}).status_code == 403


@pytest.mark.parametrize("role", ["viewer", "importer"])
def test_wrong_role_cannot_plan(rw_client, role):
    login(rw_client, role)
    assert rw_client.get("/plans").status_code in (403, 404)
    token = csrf_token(rw_client, "/")
    response = rw_client.post("/plans/apply", data={"token": "x" * 32, "csrf_token": token})
    assert response.status_code in (403, 404)


@pytest.mark.parametrize("role", ["importer", "admin"])
def test_importer_and_admin_may_import(rw_client, role):
    login(rw_client, role)
    assert rw_client.get("/imports").status_code == 200


def test_csrf_token_required(rw_client):
    login(rw_client, "importer")
    assert _upload(rw_client, None).status_code == 400
    assert _upload(rw_client, "forged-token").status_code == 400
    assert "expired" in _upload(rw_client, None).get_data(as_text=True)
    # sign-in and sign-out forms are protected too
    assert rw_client.post("/logout").status_code == 400
    fresh = rw_client.application.test_client()
    assert fresh.post("/login", data={"name": "importer", "password": PASSWORD}
                      ).status_code == 400
    # the API takes the token in a header
    token = rw_client.get("/api/session").get_json()["csrf_token"]
    files = {"files": [(io.BytesIO(b"id,name\n"), "customers.csv")]}
    no_header = rw_client.post("/api/imports", data=files, content_type="multipart/form-data")
    assert no_header.status_code == 400
    files = {"files": [(io.BytesIO(export_files(["customers.csv"])[0].read_bytes()),
                        "customers.csv")]}
    with_header = rw_client.post("/api/imports", data=files, headers={"X-CSRFToken": token},
                                 content_type="multipart/form-data")
    assert with_header.status_code == 200, with_header.get_json()


def test_token_of_another_session_is_refused(rw_app):
    one, two = rw_app.test_client(), rw_app.test_client()
    login(one, "importer")
    login(two, "importer")
    token_one = csrf_token(one, "/")
    assert _upload(two, token_one).status_code == 400


def test_upload_limit(tmp_path):
    app = make_app(tmp_path, MAX_CONTENT_LENGTH=1024)
    client = app.test_client()
    login(client, "importer")
    token = csrf_token(client, "/imports")
    response = _upload(client, token, [("customers.csv", b"x" * 4096)])
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "too large" in text and "Traceback" not in text
    api = client.post("/api/imports", data={"files": [(io.BytesIO(b"x" * 4096), "a.csv")]},
                      headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert api.status_code == 413 and api.is_json


def test_passwords_are_hashed(tmp_path, app):
    db = sqlite3.connect(app.config["USERS_DB"])
    rows = db.execute("SELECT name, password_hash FROM users").fetchall()
    assert rows
    for _name, digest in rows:
        assert PASSWORD not in digest
        assert digest.startswith(("scrypt:", "pbkdf2:"))
    with open(app.config["USERS_DB"], "rb") as handle:
        raw = handle.read()
    assert PASSWORD.encode() not in raw


def test_login_logout_and_cookie_flags(client):
    response = login(client, "importer")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert "importer (importer)" in client.get("/").get_data(as_text=True)
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/imports").status_code == 302


def test_wrong_password_and_throttling(tmp_path):
    app = make_app(tmp_path, LOGIN_MAX_FAILURES=3)
    client = app.test_client()
    for _ in range(3):
        response = login(client, "importer", "wrong password")
        assert response.status_code == 401
        assert "Wrong user name or password" in response.get_data(as_text=True)
    locked = login(client, "importer")         # right password, but locked for now
    assert locked.status_code == 401 and "Too many" in locked.get_data(as_text=True)
    assert login(client, "admin").status_code == 302   # other names are not locked


def test_unknown_user(client):
    assert login(client, "nobody").status_code == 401


def test_sessions_expire(tmp_path):
    app = make_app(tmp_path, PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    client = app.test_client()
    login(client, "importer")
    assert client.get("/imports").status_code == 200
    time.sleep(2.1)
    assert client.get("/imports").status_code == 302


def test_removed_user_loses_access_at_once(client, app):
    login(client, "importer")
    assert client.get("/imports").status_code == 200
    app.extensions["inventory_users"].remove("importer")
    assert client.get("/imports").status_code == 302


def test_login_redirect_stays_on_site(client):
    token = csrf_token(client)
    for target, expected in (("/audit", "/audit"), ("https://evil.example/", "/"),
                             ("//evil.example/x", "/"), ("/\\evil.example", "/")):
        client.get("/")
        token = csrf_token(client, f"/login?next={target}")
        response = client.post(f"/login?next={target}",
                               data={"name": "viewer", "password": PASSWORD,
                                     "csrf_token": token})
        assert response.headers["Location"] == expected, target
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


_RAW_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "<b>bold</b>",
               "<i>addr</i>")


def _assert_escaped(text: str, where: str) -> None:
    for raw in _RAW_MARKUP:
        assert raw not in text, (where, raw)


def test_hostile_names_are_escaped_on_pages(client):
    pages = [f"/customers/{XSS_CUSTOMER_ID}", f"/sites/{XSS_SITE_ID}",
             "/search?q=alert", "/elements/Circuit/CIR-XSS", "/audit",
             "/audit?tier=GOLD", f"/search?q={XSS_SITE_ID}"]
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        _assert_escaped(html, path)
    customer = client.get(f"/customers/{XSS_CUSTOMER_ID}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in customer
    site = client.get(f"/sites/{XSS_SITE_ID}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(2)&gt;" in site
    # the search input echoes the query escaped
    echoed = client.get("/search", query_string={"q": '"><script>x()</script>'})
    assert '"><script>x()</script>' not in echoed.get_data(as_text=True)


def test_hostile_names_are_escaped_in_map_popups(client):
    html = client.get(f"/map/sites/{XSS_SITE_ID}").get_data(as_text=True)
    _assert_escaped(html, "site map")
    assert "</script>`" not in html
    # the popup content is a JSON string whose markup is escaped twice over: HTML entities
    # for the browser, \u003c for the <script> element
    popup = re.search(r"bindPopup\((\"[^\n]*?\"), \{maxWidth", html)
    assert popup, "no popup"
    assert "\\u003cdiv" in html and "\\u0026lt;img src=x onerror=alert(2)\\u0026gt;" in html
    # no JavaScript template literal (folium's own popups use one, where ${…} would run)
    assert "$(`" not in html and "setContent($" not in html
    # the dashboard map's sites come as JSON and are written with textContent
    data = client.get("/api/sites.geojson?bbox=-180,-90,180,90").get_json()
    names = [f["properties"]["name"] for f in data["features"]]
    assert XSS_SITE in names
    script = client.get("/static/js/inventory-map.js").get_data(as_text=True)
    assert "innerHTML" not in script and "textContent" in script


def test_hostile_names_in_json_are_data(client):
    data = client.get(f"/api/customers/{XSS_CUSTOMER_ID}").get_json()
    assert data["customer"]["name"] == XSS_CUSTOMER
    response = client.get(f"/api/customers/{XSS_CUSTOMER_ID}")
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_upload_names_cannot_escape_the_upload_folder(rw_app):
    from web.views.imports import safe_upload_name

    assert safe_upload_name("../../etc/passwd.csv", 0) == "passwd.csv"
    assert safe_upload_name("..\\..\\x.zip", 0) == "x.zip"
    assert safe_upload_name("站点.CSV", 0) == "站点.csv"
    assert safe_upload_name(".hidden.csv", 0) == "hidden.csv"
    for bad in ("x.exe", "noext", "x.csv.sh"):
        with pytest.raises(ValueError):
            safe_upload_name(bad, 0)
    client = rw_app.test_client()
    login(client, "importer")
    token = csrf_token(client, "/imports")
    response = _upload(client, token, [("evil.sh", b"rm -rf /")])
    assert response.status_code == 400 and "accepted" in response.get_data(as_text=True)
