"""``inventory generate``: a realistic sample export of the Bortala access network."""

from __future__ import annotations

from pathlib import Path

import click

from importers.generate import generate as generate_export


@click.command("generate")
@click.option("--sites", "n_sites", type=click.IntRange(1, 10_000_000), required=True,
              metavar="N", help="Number of customer sites (10 to 1,000,000 is the tested range).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Same seed, same bytes.")
@click.option("--force", is_flag=True, help="Write into OUT even if it is not empty.")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
def generate(n_sites: int, seed: int, force: bool, out: Path) -> None:
    """Write a sample export (CSV per table + manifest.json) into the folder OUT.

    The Bortala prefecture (博尔塔拉): rings of core, aggregation and access rooms, cabinets
    and PON trees, customers of all four tiers, and ~3 % of sites per deliberate defect kind,
    listed in OUT/manifest.json. See docs/sample-network.md.
    """
    result = generate_export(out, sites=n_sites, seed=seed, force=force)
    rows = " ".join(f"{table}={count}" for table, count in result["counts"].items())
    defects = " ".join(f"{kind}={count}" for kind, count in result["defect_counts"].items())
    click.echo(f"wrote {out}: {rows}; defects: {defects}")


COMMANDS = [generate]
