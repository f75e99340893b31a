"""``inventory serve`` (the web app) and ``inventory user add|list|remove`` (its users)."""

from __future__ import annotations

import ipaddress
import sys

import click

from inventory.errors import InventoryError
from inventory.output import FORMATS, render


def _users_db_option(command):
    return click.option("--users-db", envvar="INVENTORY_USERS_DB", default="users.db",
                        show_default=True, metavar="PATH",
                        help="The users' SQLite file (default $INVENTORY_USERS_DB or "
                             "./users.db).")(command)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Worker threads of the production server (per worker process).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes sharing the port; one per CPU core serves the most "
                   "pages (each process runs the analysis on one core).")
@click.option("--store", "store_location", envvar="INVENTORY_STORE", metavar="PATH|URI",
              help="SQLite file or bolt:// / neo4j:// URI (default $INVENTORY_STORE or "
                   "./inventory.db).")
@_users_db_option
def serve_command(host: str, port: int, threads: int, workers: int,
                  store_location: str | None, users_db: str) -> None:
    """Serve the web application (route maps, audit, fault location, import).

    Binds 127.0.0.1 by default. Always runs waitress, a production WSGI server with a fixed
    pool of worker threads (Flask's development server starts a thread per request); with
    --workers N, N waitress processes share the port.
    """
    from web import create_app
    from web.server import serve

    config = {"USERS_DB": users_db}
    if store_location:
        config["STORE"] = store_location
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    if not is_loopback(host):
        click.echo("warning: listening beyond this machine; put it behind a TLS proxy and "
                   "set INVENTORY_SECURE_COOKIES=1", err=True)
    processes = f", {workers} processes" if workers > 1 else ""
    click.echo(f"serving {url} (waitress, {threads} threads{processes})", err=True)
    status = serve(lambda: create_app(config), host, port, threads=threads, workers=workers,
                   log=lambda line: click.echo(line, err=True))
    if status:
        sys.exit(status)


@click.group("user")
def user_group() -> None:
    """Users of the web application: roles viewer, planner, importer, admin."""


def _db(path: str):
    from web.users import UserDB

    return UserDB(path)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError("no password on standard input")
        return password
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "planner", "importer", "admin"]),
              default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
@click.option("--replace", is_flag=True, help="Change the password and role of an existing user.")
@_users_db_option
def user_add(name: str, role: str, password_stdin: bool, replace: bool, users_db: str) -> None:
    """Add a user (the password is prompted for, or read with --password-stdin)."""
    from web.users import check_name

    check_name(name)
    password = _read_password(password_stdin)
    user = _db(users_db).add(name, password, role, replace=replace)
    click.echo(f"{'updated' if replace else 'added'} user {user.name} ({user.role}) in {users_db}")


@user_group.command("list")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@_users_db_option
def user_list(fmt: str, users_db: str) -> None:
    """List the users and their roles (never their passwords)."""
    rows = [u.as_dict() for u in _db(users_db).list()]
    click.echo(render(rows, fmt, ["name", "role", "created", "changed"]))


@user_group.command("remove")
@click.argument("name")
@_users_db_option
def user_remove(name: str, users_db: str) -> None:
    """Remove a user; their signed-in sessions stop working at once."""
    if not _db(users_db).remove(name):
        raise InventoryError(f"no user {name!r} in {users_db}")
    click.echo(f"removed user {name}")


COMMANDS = [serve_command, user_group]
