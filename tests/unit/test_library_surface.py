"""`shopcore` exports what a library user needs, and importing it costs no framework.

A user sends commands, reads what they return, calls the read functions and catches the
errors, all from `import shopcore`; these tests derive that set from the dispatch tables and
the error module, so a new command, result or error cannot be forgotten in `__all__`."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import shopcore
from shopcore.bootstrap import COMMAND_HANDLERS
from shopcore.shared import errors
from tests.support.commands import declared_result

ROOT = Path(__file__).resolve().parents[2]
CONTEXTS = ("cart", "catalog", "customers", "inventory", "ordering", "payments")


def test_every_exported_name_resolves_and_is_exported_once() -> None:
    missing = [name for name in shopcore.__all__ if not hasattr(shopcore, name)]

    assert missing == []
    assert len(shopcore.__all__) == len(set(shopcore.__all__))


def test_every_command_and_what_it_returns_is_exported() -> None:
    declared = [declared_result(kind) for kind in COMMAND_HANDLERS]
    # `Payment | None` declares Payment.
    results = {part for result in declared for part in (typing.get_args(result) or (result,))}
    wanted = {
        *(kind.__name__ for kind in COMMAND_HANDLERS),
        *(result.__name__ for result in results if result not in (int, type(None))),
    }

    assert wanted - set(shopcore.__all__) == set()


def test_every_error_is_exported() -> None:
    tree = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.ShopError)
    }

    assert tree - set(shopcore.__all__) == set()


def test_every_read_function_is_exported() -> None:
    modules = [importlib.import_module(f"shopcore.{context}.queries") for context in CONTEXTS]
    reads = {
        name
        for module in modules
        for name, value in vars(module).items()
        if inspect.iscoroutinefunction(value) and not name.startswith("_")
    }

    assert reads - set(shopcore.__all__) == set()


def test_the_version_is_pyprojects() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())

    assert shopcore.__version__ == pyproject["project"]["version"]


def test_a_fresh_interpreter_imports_the_core_alone() -> None:
    """First import through a context's queries, as a script would; no framework, driver or
    adapter comes along (about 0.4 s: one interpreter start)."""
    script = (
        "import sys, shopcore.catalog.queries; from shopcore import ProductFilter; "
        "print(' '.join(sorted({name.partition('.')[0] for name in sys.modules})))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=ROOT / "src",  # `-c` puts the working directory first: this tree's shopcore
    )

    assert run.returncode == 0, run.stderr
    loaded = set(run.stdout.split())
    forbidden = {"sqlalchemy", "litestar", "redis", "asyncpg", "aiosqlite"}
    assert loaded & (forbidden | {"adapters", "apps"}) == set()
    assert "shopcore" in loaded
