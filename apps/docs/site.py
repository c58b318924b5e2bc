"""Which generated block goes into which page, and writing or checking them all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import click
from sqlalchemy import Table

from apps.docs import markdown as md
from apps.docs import messages, schemas, settings_table, states
from apps.docs.datamodel import er_diagram, links_table, table_section
from apps.docs.endpoints import Endpoint, details, endpoints, in_tag_order, summary_table
from apps.docs.markers import MarkerError, fill
from apps.docs.services import (
    MACHINES,
    OUTSIDE_TABLES,
    SERVICES,
    SHARED_TABLES,
    Service,
    service_of_path,
    service_of_table,
)
from apps.docs.sources import Sources

Blocks = dict[str, dict[str, str]]  # page under docs/ -> block name -> content


def blocks(sources: Sources) -> Blocks:
    found = endpoints(sources.openapi, sources.guards)
    pages: Blocks = {}
    for service in SERVICES:
        pages[service.page] = _service_blocks(service, sources, found)
    pages["architecture/state-machines.md"] = {
        machine.name: states.section(machine) for machine in MACHINES
    }
    pages["architecture/data-model.md"] = {
        "er-diagram": er_diagram(sources.tables),
        "logical-links": links_table(),
        "table-owners": _owners(sources.tables),
    }
    pages["architecture/events.md"] = {
        "events-by-context": _events_by_context(),
        "handler-groups": messages.groups_table(),
    }
    pages["reference/api.md"] = {
        "endpoint-index": _endpoint_index(in_tag_order(found, sources.openapi)),
        "other-endpoints": _other_endpoints(sources, found),
        "body-schemas": schemas.sections(sources.openapi),
    }
    pages["reference/settings.md"] = {"settings": settings_table.table()}
    return pages


def _service_blocks(
    service: Service, sources: Sources, found: Sequence[Endpoint]
) -> dict[str, str]:
    mine = [item for item in found if service_of_path(item.path, item.tags) is service]
    tables = [table for table in sources.tables if table.name in service.tables]
    key = service.key
    if service.key == "worker":
        return {
            f"{key}-cli": _cli(sources.cli, ("worker", "relay")),
            f"{key}-groups": messages.groups_table(),
            f"{key}-data-model": _data_model(service, tables),
        }
    return {
        f"{key}-commands": messages.commands_table(service.contexts),
        f"{key}-endpoints": summary_table(mine) + "\n\n" + details(sources.openapi, mine),
        f"{key}-events": messages.events_table(service.contexts),
        f"{key}-data-model": _data_model(service, tables),
    }


def _data_model(service: Service, tables: Sequence[Table]) -> str:
    parts = [er_diagram(tables)] if tables else ["_This service owns no tables._"]
    parts.extend(table_section(table) for table in tables)
    for machine in service.machines:
        parts.append(f"### State machine: {machine.title.lower()}")
        parts.append(states.section(machine))
    return "\n\n".join(parts)


def _owners(tables: Sequence[Table]) -> str:
    rows = []
    for table in tables:
        service = service_of_table(table.name)
        if service is not None:
            owner = f"[{service.name}](../{service.page})"
        elif table.name in SHARED_TABLES:
            owner = "shared: " + SHARED_TABLES[table.name]
        elif table.name in OUTSIDE_TABLES:
            owner = "outside the shop: " + OUTSIDE_TABLES[table.name]
        else:
            owner = "**no service** (add it to `apps/docs/services.py`)"
        rows.append((md.code(table.name), owner))
    return md.table(("Table", "Owned by"), rows)


def _events_by_context() -> str:
    return "\n\n".join(
        f"### {md.code(f'shopcore.{context}')}\n\n" + messages.events_table((context,))
        for context in messages.CONTEXTS
    )


def _endpoint_index(found: Sequence[Endpoint]) -> str:
    rows = []
    for item in found:
        service = service_of_path(item.path, item.tags)
        if service is None:
            where = f"[operations](#{item.anchor})"
        else:
            where = f"[{service.name}](../{service.page}#{item.anchor})"
        rows.append(
            (md.code(item.method), md.code(item.path), md.cell(item.summary), item.auth, where)
        )
    return md.table(("Method", "Path", "Summary", "Auth", "Service"), rows)


def _other_endpoints(sources: Sources, found: Sequence[Endpoint]) -> str:
    others = [item for item in found if service_of_path(item.path, item.tags) is None]
    # On the API reference page itself, where the schemas are: links stay on the page.
    return summary_table(others) + "\n\n" + details(sources.openapi, others, schemas="")


def _cli(cli: click.Group, names: Sequence[str]) -> str:
    parts = []
    for name in names:
        command = cli.commands[name]
        rows = [
            (
                " / ".join(md.code(opt) for opt in [*param.opts, *param.secondary_opts]),
                md.code(str(param.default))
                if isinstance(param.default, str | int | float | bool)
                else "—",
                md.cell(param.help or ""),
            )
            for param in command.params
            if isinstance(param, click.Option)
        ]
        parts.append(f"### {md.code(f'shopcore {name}')}")
        parts.append(md.text(" ".join((command.help or "").split())))
        if rows:
            parts.append(md.table(("Option", "Default", "Meaning"), rows))
    return "\n\n".join(parts)


def render(directory: Path, sources: Sources) -> dict[Path, str]:
    """Every page with generated blocks, as it should read: path -> full text."""
    generated = blocks(sources)
    pages = {}
    for page, content in sorted(generated.items()):
        path = directory / page
        if not path.is_file():
            raise MarkerError(f"{path} is missing; it needs the blocks {', '.join(content)}")
        pages[path] = fill(path.read_text(encoding="utf-8"), content, where=str(path))
    return pages


def stale(rendered: dict[Path, str]) -> list[Path]:
    return [path for path, text in rendered.items() if path.read_text(encoding="utf-8") != text]


def write(rendered: dict[Path, str], report: Callable[[Path], object] = print) -> list[Path]:
    changed = stale(rendered)
    for path in changed:
        path.write_text(rendered[path], encoding="utf-8")
        report(path)
    return changed
