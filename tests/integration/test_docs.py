"""docs/ says what the code does today.

The generated blocks equal what `shopcore docs` writes from the code, every endpoint and table
belongs to a service page, and the hand-written pages cite only tests and files that exist, and
make no claim about a missing feature that the code has since grown.
(tests/integration/test_docs_site_offline.py builds the site, strictly.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from apps.cli import main
from apps.docs import Sources, load, render, stale
from apps.docs.endpoints import endpoints
from apps.docs.services import OUTSIDE_TABLES, SHARED_TABLES, service_of_path, service_of_table
from apps.settings import PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
HINT = "run `.venv/bin/shopcore docs` and commit the pages it rewrites"
# `tests/unit/test_x.py::test_name` or a path under src/, apps/ or tests/, in a code span.
CITATION = re.compile(r"`((?:src|apps|tests)/[\w./-]+?)(?:::(\w+))?`")


@pytest.fixture(scope="module")
def sources() -> Sources:
    return load(main)


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def test_generated_docs_match_the_code(sources: Sources) -> None:
    differing = stale(render(DOCS, sources))
    names = ", ".join(str(path.relative_to(ROOT)) for path in differing)
    assert not differing, f"generated docs differ from the code ({names}): {HINT}"


def test_the_cli_check_agrees(tmp_path: Path) -> None:
    """`shopcore docs --check` exits 1 naming a page whose generated block went stale."""
    copy = tmp_path / "docs"
    for page in pages():
        target = copy / page.relative_to(DOCS)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    settings_page = copy / "reference" / "settings.md"
    settings_page.write_text(
        settings_page.read_text(encoding="utf-8").replace("SHOPCORE_CURRENCY", "SHOPCORE_X"),
        encoding="utf-8",
    )

    result = CliRunner().invoke(main, ["docs", "--check", "--directory", str(copy)])

    assert result.exit_code == 1
    assert "settings.md" in result.output


def test_every_endpoint_and_table_belongs_to_a_service(sources: Sources) -> None:
    """A new route under /v1 or a new table must be given to a service in
    apps/docs/services.py, or it would appear on no service page."""
    orphans = [
        f"{item.method} {item.path}"
        for item in endpoints(sources.openapi, sources.guards)
        if item.path.startswith("/v1/") and service_of_path(item.path, item.tags) is None
    ]
    tables = [
        table.name
        for table in sources.tables
        if service_of_table(table.name) is None
        and table.name not in SHARED_TABLES
        and table.name not in OUTSIDE_TABLES
    ]
    assert not orphans, f"endpoints of no service (map them in apps/docs/services.py): {orphans}"
    assert not tables, f"tables of no service (map them in apps/docs/services.py): {tables}"


def test_every_admin_route_is_staff_only(sources: Sources) -> None:
    admin = [
        item
        for item in endpoints(sources.openapi, sources.guards)
        if item.path.startswith("/v1/admin/")
    ]
    assert admin
    unguarded = [f"{item.method} {item.path}" for item in admin if item.auth != "staff token"]
    assert not unguarded, f"admin routes without the staff_only guard: {unguarded}"


# Settings whose values have a form of their own: a value of that form, unlike the default.
_SAMPLES = {
    "SHOPCORE_DATABASE_URL": "sqlite+aiosqlite:///elsewhere.db",
    "SHOPCORE_CURRENCY": "CHF",
    "SHOPCORE_TRUSTED_PROXIES": "10.0.0.0/8",
    "SHOPCORE_DATABASE_READ_URL": "postgresql+asyncpg://shop@replica/shop",
    "SHOPCORE_DATABASE_TRANSACTION_POOLER": "true",
    "SHOPCORE_TRACING": "true",
    "SHOPCORE_REDIS_CLUSTER": "true",
    # Longer than the gateway's default timeout, which it must exceed (Settings.from_env).
    "SHOPCORE_SETTLE_WITHIN_SECONDS": "70",
    "SHOPCORE_GATEWAY_TIMEOUT_SECONDS": "7.5",
}


def _sample(name: str, kind: object) -> str:
    if name in _SAMPLES:
        return _SAMPLES[name]
    text = repr(kind)
    if "tuple" in text:
        return "https://shop.example"
    if "int" in text:
        return "7"
    return "x" * 40


def test_every_settings_field_is_read_from_the_variable_named_after_it() -> None:
    variables = Settings.variables()
    assert [variable.field for variable in variables] == [
        field.name for field in msgspec.structs.fields(Settings)
    ]
    unset = Settings.from_env({})
    for variable in variables:
        assert variable.name == f"SHOPCORE_{variable.field.upper()}"
        changed = Settings.from_env({variable.name: _sample(variable.name, variable.type)})
        assert getattr(changed, variable.field) != getattr(unset, variable.field), (
            f"setting {variable.name} does not change Settings.{variable.field}"
        )


# Read by the test suite and CI only, never by Settings.
TEST_VARIABLES = {
    "SHOPCORE_TEST_POSTGRES_URL",
    "SHOPCORE_TEST_REDIS_URL",
    "SHOPCORE_STATEFUL_EXAMPLES",
    "SHOPCORE_SCHEMATHESIS_EXAMPLES",
    "SHOPCORE_TEST_PATIENCE",
    "SHOPCORE_FAULT_SEED",
}


def test_every_variable_the_code_and_the_docs_mention_is_read() -> None:
    """A renamed field renames its variable: the README, the pages, the entry points and the
    benchmark must not go on naming the old one."""
    read = {variable.name for variable in Settings.variables()} | TEST_VARIABLES
    places = [ROOT / "README.md", ROOT / "pyproject.toml", *pages()]
    for folder in ("apps", "src", "bench"):
        places.extend((ROOT / folder).rglob("*.py"))
    unknown = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in places
        for name in re.findall(rf"{PREFIX}[A-Z0-9_]+", path.read_text(encoding="utf-8"))
        if name not in read
    }
    assert not unknown, "variables no setting is read from:\n" + "\n".join(sorted(unknown))


def test_hand_written_pages_cite_only_tests_and_files_that_exist() -> None:
    missing = []
    for page in pages():
        for path, name in CITATION.findall(page.read_text(encoding="utf-8")):
            target = ROOT / path
            if not target.exists():
                missing.append(f"{page.relative_to(ROOT)}: {path}")
            elif name and not re.search(
                rf"^\s*(async )?def {name}\(", target.read_text(encoding="utf-8"), re.MULTILINE
            ):
                missing.append(f"{page.relative_to(ROOT)}: {path}::{name}")
    assert not missing, "pages cite what does not exist:\n" + "\n".join(missing)


def _no_proxy_headers(_: Sources) -> bool:
    return "proxy_headers" not in (ROOT / "apps" / "server.py").read_text(encoding="utf-8")


def _no_bench(_: Sources) -> bool:
    return not (ROOT / "bench").exists()


# (page, phrase that makes the claim, what must still be true while the phrase is there)
CLAIMS: list[tuple[str, str, Callable[[Sources], bool]]] = [
    ("operations/scaling.md", "granian without its proxy-headers wrapper", _no_proxy_headers),
    ("operations/scaling.md", "there is no bench/ directory yet", _no_bench),
]


def test_claims_about_missing_features_still_hold(sources: Sources) -> None:
    """Pages that say a feature is missing fail here once the code has it: then the page must
    be rewritten (and the phrase and its claim below removed)."""
    outdated = []
    for page, phrase, still_true in CLAIMS:
        text = (DOCS / page).read_text(encoding="utf-8")
        if " ".join(phrase.split()) in " ".join(text.split()) and not still_true(sources):
            outdated.append(f"docs/{page}: {phrase!r} is no longer true")
    assert not outdated, "update the pages:\n" + "\n".join(outdated)
