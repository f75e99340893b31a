"""``inventory user add|list|remove`` and ``inventory serve``."""

from __future__ import annotations

import json
import sqlite3
import stat

import pytest
from click.testing import CliRunner

from inventory.cli import cli
from inventory.commands import web as web_commands


def _run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_user_add_list_remove(tmp_path):
    db = str(tmp_path / "users.db")
    result = _run("user", "add", "alice", "--role", "importer", "--password-stdin",
                  "--users-db", db, input="s3cret-passw0rd\n")
    assert result.exit_code == 0, result.output
    assert "alice (importer)" in result.output
    assert stat.S_IMODE((tmp_path / "users.db").stat().st_mode) == 0o600
    listed = _run("user", "list", "--users-db", db, "--format", "json")
    rows = json.loads(listed.output)
    assert [(r["name"], r["role"]) for r in rows] == [("alice", "importer")]
    assert "password" not in listed.output
    stored = sqlite3.connect(db).execute("SELECT password_hash FROM users").fetchone()[0]
    assert "s3cret-passw0rd" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    # a second add is refused; --replace changes role and password
    with pytest.raises(Exception, match="exists already"):
        _run("user", "add", "alice", "--password-stdin", "--users-db", db,
             input="another-password\n")
    assert _run("user", "add", "alice", "--role", "admin", "--replace", "--password-stdin",
                "--users-db", db, input="another-password\n").exit_code == 0
    from web.users import UserDB

    assert UserDB(db).authenticate("alice", "another-password").role == "admin"
    assert UserDB(db).authenticate("alice", "s3cret-passw0rd") is None
    assert _run("user", "remove", "alice", "--users-db", db).exit_code == 0
    assert UserDB(db).list() == []


def test_user_add_prompts_for_the_password(tmp_path):
    db = str(tmp_path / "users.db")
    result = _run("user", "add", "bob", "--users-db", db,
                  input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    from web.users import UserDB

    assert UserDB(db).authenticate("bob", "a-long-password").role == "viewer"


def test_user_checks(tmp_path):
    db = str(tmp_path / "users.db")
    short = CliRunner().invoke(cli, ["user", "add", "carol", "--password-stdin", "--users-db",
                                     db], input="short\n")
    assert short.exit_code != 0
    bad_role = CliRunner().invoke(cli, ["user", "add", "carol", "--role", "root",
                                        "--users-db", db])
    assert bad_role.exit_code == 2
    bad_name = CliRunner().invoke(cli, ["user", "add", "a b/c", "--password-stdin",
                                        "--users-db", db], input="long-enough-pw\n")
    assert bad_name.exit_code != 0
    missing = CliRunner().invoke(cli, ["user", "remove", "nobody", "--users-db", db])
    assert missing.exit_code != 0


def test_users_db_from_environment(tmp_path, monkeypatch):
    db = tmp_path / "env-users.db"
    monkeypatch.setenv("INVENTORY_USERS_DB", str(db))
    assert _run("user", "add", "dave", "--password-stdin", input="long-enough-pw\n"
                ).exit_code == 0
    assert db.exists()


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("localhost", True),
                                           ("::1", True), ("127.0.0.2", True),
                                           ("0.0.0.0", False), ("192.0.2.10", False),
                                           ("example.org", False)])
def test_is_loopback(host, loopback):
    assert web_commands.is_loopback(host) is loopback


def _serve(monkeypatch, tmp_path, *args: str) -> dict:
    calls: dict = {}
    import waitress
    from flask import Flask

    monkeypatch.setattr(waitress, "serve", lambda app, **kw: calls.update(waitress=kw))
    monkeypatch.setattr(Flask, "run", lambda self, **kw: calls.update(flask=kw))
    result = _run("serve", "--users-db", str(tmp_path / "users.db"),
                  "--store", str(tmp_path / "inventory.db"), *args)
    assert result.exit_code == 0, result.output
    calls["output"] = result.output
    return calls


def test_serve_binds_loopback_with_waitress(monkeypatch, tmp_path):
    monkeypatch.setenv("INVENTORY_SECRET_KEY", "k" * 40)
    calls = _serve(monkeypatch, tmp_path)
    assert calls["waitress"]["host"] == "127.0.0.1" and calls["waitress"]["port"] == 8000
    assert "flask" not in calls
    assert "TLS" not in calls["output"]


def test_serve_uses_waitress_beyond_loopback(monkeypatch, tmp_path):
    monkeypatch.setenv("INVENTORY_SECRET_KEY", "k" * 40)
    calls = _serve(monkeypatch, tmp_path, "--host", "0.0.0.0", "--port", "8080")
    assert calls["waitress"]["host"] == "0.0.0.0" and calls["waitress"]["port"] == 8080
    assert "flask" not in calls
    assert "TLS" in calls["output"]
