"""The `shopcore` command: operational entry points (later: serve, worker, db upgrade, ...)."""

from __future__ import annotations

import asyncio
import logging

import click

from apps.demo import describe, place_demo_order


@click.group()
@click.option("--log-level", default="WARNING", show_default=True, help="Python logging level.")
def main(log_level: str) -> None:
    """shopcore: the backend of an online shop."""
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")


@main.command()
def demo() -> None:
    """Place an order in a complete in-memory shop and print it."""
    order, left = asyncio.run(place_demo_order())
    click.echo(describe(order, left))
