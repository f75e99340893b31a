"""The application factory, configuration, error pages and offline maps."""

from __future__ import annotations

import os
import re
import stat

from test_web_support import app_fixture, client_fixture, make_app, network  # noqa: F401 (fixtures)

from web import create_app


def test_factory_takes_config_and_env(tmp_path, monkeypatch):
    monkeypatch.setenv("INVENTORY_TILE_URL", "http://tiles.intranet/{z}/{x}/{y}.png")
    monkeypatch.setenv("INVENTORY_MAX_UPLOAD_MB", "2")
    app = create_app({"TESTING": True, "USERS_DB": str(tmp_path / "u.db"),
                      "STORE": str(network()["db"])})
    assert app.config["TILE_URL"] == "http://tiles.intranet/{z}/{x}/{y}.png"
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 8 * 3600
    names = {bp for bp in app.blueprints}
    assert {"dashboard", "search", "customers", "sites", "elements", "fault", "audit",
            "imports", "plans", "auth", "api"} <= names


def test_secret_key_generated_once_with_private_permissions(tmp_path, monkeypatch):
    monkeypatch.delenv("INVENTORY_SECRET_KEY", raising=False)
    config = {"USERS_DB": str(tmp_path / "users.db"), "STORE": str(network()["db"])}
    first = create_app(dict(config)).config["SECRET_KEY"]
    key_file = tmp_path / ".inventory-secret-key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert create_app(dict(config)).config["SECRET_KEY"] == first
    assert len(first) >= 32


def test_secret_key_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INVENTORY_SECRET_KEY", "k" * 40)
    app = create_app({"USERS_DB": str(tmp_path / "users.db")})
    assert app.config["SECRET_KEY"] == "k" * 40
    assert not (tmp_path / ".inventory-secret-key").exists()


def test_missing_store_is_a_503_page_not_a_traceback(tmp_path):
    app = make_app(tmp_path, tmp_path / "nowhere" / "inventory.db")
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "Traceback" not in text and "not available" in text
    assert page.headers["Retry-After"]
    api = client.get("/api/dashboard")
    assert api.status_code == 503 and api.is_json
    assert api.get_json()["status"] == 503
    assert not (tmp_path / "nowhere").exists()  # nothing created as a side effect


def test_neo4j_down_is_a_503(tmp_path):
    # nothing listens on port 1: the driver fails to connect, the store raises
    # StoreUnavailable, the app answers 503 (and would recover once the server is back)
    app = make_app(tmp_path, None, STORE="bolt://127.0.0.1:1")
    client = app.test_client()
    for path in ("/", "/sites/S-0000001", "/api/sites/S-0000001", "/search?q=x"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert "Traceback" not in response.get_data(as_text=True)


def test_not_found_pages(client):
    assert client.get("/sites/NO-SUCH-SITE").status_code == 404
    assert client.get("/customers/NO-SUCH").status_code == 404
    assert client.get("/elements/Duct/NO-SUCH").status_code == 404
    assert client.get("/elements/Bogus/X").status_code == 404
    response = client.get("/api/sites/NO-SUCH-SITE")
    assert response.status_code == 404 and response.get_json()["status"] == 404


def test_language_switch(client):
    assert "Dashboard" in client.get("/").get_data(as_text=True)
    response = client.get("/lang/zh?next=/search")
    assert response.status_code == 302 and response.headers["Location"].endswith("/search")
    assert "总览" in client.get("/").get_data(as_text=True)
    client.get("/lang/en")
    assert "Dashboard" in client.get("/").get_data(as_text=True)
    assert client.get("/lang/fr").status_code == 404
    # never redirects off-site
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"
    assert client.get("/lang/en?next=//evil.example/").headers["Location"] == "/"


def test_browser_language_is_the_default(client):
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "总览" in page.get_data(as_text=True)


def test_security_headers(client):
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp


_EXTERNAL_ASSET = re.compile(
    r"""<(?:script|link)[^>]+(?:src|href)=["']?(?:https?:)?//""", re.IGNORECASE)


def _external_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']((?:https?:)?//[^"']+)""", html)


def test_maps_load_nothing_from_the_internet(tmp_path):
    app = make_app(tmp_path, TILE_URL="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    client = app.test_client()
    site = network()["manifest"]["defects"][0]["site_id"]
    for path in ("/map/network", f"/map/sites/{site}", "/", f"/sites/{site}"):
        html = client.get(path).get_data(as_text=True)
        assert not _EXTERNAL_ASSET.search(html), (path, _external_urls(html))
        # the only absolute URL is the configured tile server's
        for url in re.findall(r"https?://[^\s\"'<>)]+", html):
            assert url.startswith("https://tile.openstreetmap.org/"), (path, url)
    html = client.get(f"/map/sites/{site}").get_data(as_text=True)
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "/static/vendor/leaflet/leaflet.css" in html
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()
    assert "tile.openstreetmap.org" in html
    network_map = client.get("/map/network").get_data(as_text=True)
    assert "/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in network_map


def test_vendored_assets_are_served(client):
    for path in ("/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css",
                 "/static/vendor/leaflet/images/marker-icon.png",
                 "/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
                 "/static/vendor/leaflet.markercluster/MarkerCluster.css",
                 "/static/js/inventory-map.js", "/static/css/app.css", "/favicon.ico"):
        assert client.get(path).status_code == 200, path


def test_without_tiles_the_map_still_draws(client):
    site = network()["manifest"]["defects"][0]["site_id"]
    html = client.get(f"/map/sites/{site}").get_data(as_text=True)
    assert "L.tileLayer" not in html
    assert "L.polyline" in html and "L.circleMarker" in html


def test_tile_url_is_configurable(tmp_path):
    app = make_app(tmp_path, TILE_URL="http://10.0.0.5/tiles/{z}/{x}/{y}.png")
    html = app.test_client().get("/map/network").get_data(as_text=True)
    assert "http://10.0.0.5/tiles/{z}/{x}/{y}.png" in html
    csp = app.test_client().get("/").headers["Content-Security-Policy"]
    assert "img-src 'self' data: http://10.0.0.5" in csp


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["sites"] == network()["manifest"]["counts"]["sites"] + 1


def test_read_requires_login_when_configured(tmp_path):
    from test_web_support import login

    app = make_app(tmp_path, READ_REQUIRES_LOGIN=True)
    client = app.test_client()
    assert client.get("/").status_code == 302
    assert client.get("/api/dashboard").status_code == 401
    assert client.get("/login").status_code == 200
    login(client, "viewer")
    assert client.get("/").status_code == 200


def test_store_closed_on_teardown(tmp_path):
    from web.extensions import close_store, get_store

    app = make_app(tmp_path)
    with app.app_context():
        store = get_store()
        assert store.count_nodes()["Site"] > 0
    close_store(app)
    assert app.extensions["inventory_store"].store is None
    assert os.path.exists(network()["db"])


def test_requests_in_new_threads_do_not_leak_connections(tmp_path):
    """The development server runs each request in a new thread: each thread's SQLite
    connection is closed when its request ends."""
    import threading

    from web.extensions import get_store

    app = make_app(tmp_path)
    client = app.test_client()

    def hit():
        assert client.get("/search?q=S-0000017").status_code == 200

    for _ in range(5):
        thread = threading.Thread(target=hit)
        thread.start()
        thread.join()
    with app.app_context():
        store = get_store()
    assert len(getattr(store, "_connections", [])) <= 1
