"""The command line: one click group ``inventory``; thin commands over the library.

Every command takes ``--store`` (default ``$INVENTORY_STORE`` or ``./inventory.db``).
An :class:`~inventory.errors.InventoryError` becomes one line on stderr and exit code 1;
click's usage errors exit with 2. No traceback reaches the user.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from inventory.errors import InventoryError
from inventory.graph.store import GraphStore, open_store
from inventory.output import FORMATS, render


def store_option(command: Callable) -> Callable:
    """Add ``--store`` to a command and hand it an open store as ``store``."""

    @click.option("--store", "store_location", envvar="INVENTORY_STORE", metavar="PATH|URI",
                  help="SQLite file, or bolt://host:port / neo4j://host:port "
                       "(default: $INVENTORY_STORE or ./inventory.db)")
    @functools.wraps(command)
    def wrapper(*args: Any, store_location: str | None, **kwargs: Any) -> Any:
        with open_store(store_location) as store:
            return command(*args, store=store, **kwargs)

    return wrapper


def format_option(command: Callable) -> Callable:
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                        show_default=True, help="How to print the results.")(command)


def echo(rows: list[dict[str, Any]], fmt: str, columns: list[str] | None = None,
         document: Any = None) -> None:
    click.echo(render(rows, fmt, columns, document))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="access-inventory")
def cli() -> None:
    """Inventory of an enterprise leased-line access network (集团客户专线接入网资源).

    Stores sites, access equipment, cables, ducts and rooms as a graph, checks each
    site's protection against its service tier, and tells maintainers what a fault hits.
    """


@cli.command()
@store_option
def init(store: GraphStore) -> None:
    """Create the schema (tables or constraints). Safe to run again."""
    store.init()
    click.echo(f"initialised {store.location}")


@cli.command()
@store_option
@format_option
def stats(store: GraphStore, fmt: str) -> None:
    """Count nodes per label and relationships per type."""
    nodes = store.count_nodes()
    rels = store.count_rels()
    rows = [{"kind": "node", "name": k, "count": v} for k, v in nodes.items()]
    rows += [{"kind": "relationship", "name": k, "count": v} for k, v in rels.items()]
    echo(rows, fmt, document={"store": store.location, "nodes": nodes, "relationships": rels})


def _register_area_commands() -> None:
    """Each area keeps its commands in its own module under inventory/commands/."""
    import importlib
    import pkgutil

    import inventory.commands as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"inventory.commands.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)


_register_area_commands()


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="inventory", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except InventoryError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(0)
