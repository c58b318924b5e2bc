"""The architecture site and the API's `/docs` page render completely in a browser with no
internet, and loading them sends nothing off the machine.

The site is built with `mkdocs build` into a temporary folder and served from 127.0.0.1; the API
runs in this process on the in-memory shop. Headless Chromium (tests/support/browser.py) reaches
that one host and nothing else, and records every request a page makes: a Mermaid diagram that
still needed mermaid.js from a CDN, or a web font from Google, shows as a request to another
host and as a diagram left as source text. Skips without Chromium, except under CI=true.
"""

from __future__ import annotations

import contextlib
import functools
import html
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.http.app import TAGS
from apps.api import build_app
from apps.components import Components
from apps.settings import Settings
from tests.support.browser import HOST, Browser, Page, chromium, chromium_or_skip, is_local
from tests.support.sse import served

ROOT = Path(__file__).resolve().parents[2]
# How `pymdownx.superfences` writes a ```mermaid fence into the page.
MERMAID_FENCE = re.compile(r'<pre class="mermaid"><code>(.*?)</code></pre>', re.DOTALL)
C4_PAGE = "architecture/c4/"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return directory


def test_the_site_builds_in_strict_mode(site: Path) -> None:
    """No broken link and no page left out of the navigation (`--strict`): the build above
    would have failed; a page of each section is there."""
    assert (site / "services" / "ordering" / "index.html").is_file()
    assert (site / "operations" / "runbooks" / "index.html").is_file()


@pytest.fixture(scope="module")
def site_url(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietFiles, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium(chromium_or_skip()) as started:
        yield started


def diagrams(site: Path) -> dict[str, list[str]]:
    """Page path -> the source of each Mermaid diagram on it, as the theme hands it over."""
    found = {}
    for page in sorted(site.rglob("index.html")):
        sources = MERMAID_FENCE.findall(page.read_text(encoding="utf-8"))
        if sources:
            found[page.parent.relative_to(site).as_posix() + "/"] = [
                html.unescape(source) for source in sources
            ]
    return found


async def mermaid_svgs(page: Page) -> list[dict[str, str]]:
    """The attributes of every <svg> Mermaid drew. The theme draws each diagram into a closed
    shadow root, which the page's own scripts cannot see but the DevTools DOM can."""
    document = await page.browser.send(
        "DOM.getDocument", {"depth": -1, "pierce": True}, page.session
    )
    found: list[dict[str, str]] = []

    def walk(node: dict[str, Any], in_diagram: bool) -> None:
        attributes = node.get("attributes", [])
        pairs = dict(zip(attributes[::2], attributes[1::2], strict=True))
        if in_diagram and node.get("nodeName") == "svg":
            found.append(pairs)
        inside = in_diagram or "mermaid" in pairs.get("class", "").split()
        for child in [*node.get("children", []), *node.get("shadowRoots", [])]:
            walk(child, inside)

    walk(document["root"], in_diagram=False)
    return found


def off_the_machine(page: Page) -> list[str]:
    return [url for url in page.requests if not is_local(url)]


async def test_the_c4_page_draws_its_diagrams_with_no_request_off_the_machine(
    browser: Browser, site: Path, site_url: str
) -> None:
    expected = len(diagrams(site)[C4_PAGE])
    page = await browser.new_page()
    await page.goto(site_url + C4_PAGE)
    # The theme replaces each <pre class="mermaid"> by a <div class="mermaid"> holding the
    # drawing; a diagram it could not draw (no mermaid.js, a syntax error) stays a <pre>.
    await page.wait_for(
        "document.readyState === 'complete'"
        f" && document.querySelectorAll('div.mermaid').length === {expected}"
        " && !document.querySelector('pre.mermaid')"
    )
    svgs = await mermaid_svgs(page)
    assert len(svgs) == expected, f"{len(svgs)} of {expected} diagrams drawn"
    assert all(svg.get("id", "").startswith("__mermaid_") for svg in svgs), svgs
    kinds = [svg.get("aria-roledescription", "") for svg in svgs]
    assert kinds == ["c4"] * expected, f"Mermaid drew {kinds}"
    assert not off_the_machine(page), f"the page asked the internet for {off_the_machine(page)}"
    assert not page.failed, f"requests failed: {page.failed}"

    # Every other diagram of the site, through the same mermaid.js: a syntax error would
    # leave that diagram as source text on its page.
    errors = await page.evaluate(
        "(async (sources) => { const errors = [];"
        " for (const [where, source] of sources) {"
        "  try { await mermaid.parse(source); }"
        "  catch (error) { errors.push(where + ': ' + String(error.message || error)); } }"
        f" return errors; }})({json.dumps(_numbered(diagrams(site)))})"
    )
    assert not errors, "diagrams Mermaid cannot read:\n" + "\n".join(errors)
    await page.close()


# Pages whose diagrams are drawn, not only parsed: those with the most, and the most varied
# (sequences with alt/opt/rect blocks, a hand-written state diagram, ER with dashed links).
DRAWN_PAGES = (
    "architecture/sequences/",
    "architecture/state-machines/",
    "architecture/data-model/",
)


@pytest.mark.parametrize("path", DRAWN_PAGES)
async def test_the_architecture_pages_draw_every_diagram(
    browser: Browser, site: Path, site_url: str, path: str
) -> None:
    expected = len(diagrams(site)[path])
    page = await browser.new_page()
    await page.goto(site_url + path)
    await page.wait_for(
        "document.readyState === 'complete'"
        f" && document.querySelectorAll('div.mermaid').length === {expected}"
        " && !document.querySelector('pre.mermaid')",
        within=30.0,
    )
    svgs = await mermaid_svgs(page)
    assert len(svgs) == expected, f"{len(svgs)} of {expected} diagrams drawn"
    assert not off_the_machine(page), f"the page asked the internet for {off_the_machine(page)}"
    await page.close()


def _numbered(found: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [
        (f"{path} diagram {number}", source)
        for path, sources in found.items()
        for number, source in enumerate(sources, start=1)
    ]


async def test_the_front_page_sends_nothing_off_the_machine(
    browser: Browser, site_url: str
) -> None:
    """No web font, no script from a CDN: the theme's defaults would fetch both."""
    page = await browser.new_page()
    await page.goto(site_url)
    await page.wait_for("document.readyState === 'complete' && typeof mermaid === 'object'")
    assert not off_the_machine(page), f"the page asked the internet for {off_the_machine(page)}"
    assert not page.failed, f"requests failed: {page.failed}"
    await page.close()


def test_the_api_document_lists_tags_in_a_shoppers_order() -> None:
    """Swagger UI shows the tags in the order of the document's `tags`; an operation whose tag
    is not declared there would be listed after them all."""
    document = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    declared = [tag["name"] for tag in document["tags"]]
    used = {
        tag
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for tag in operation.get("tags", ())
    }
    assert declared == [tag.name for tag in TAGS]
    assert declared[:3] == ["catalog", "inventory", "customers"]
    assert not used - set(declared), f"tags missing from TAGS: {used - set(declared)}"


@contextlib.asynccontextmanager
async def api() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    app = build_app(Components(Settings(jwt_secret="docs-page-" + "k" * 32)))
    async with served(app) as url:
        yield url.replace("127.0.0.1", HOST), app.openapi_schema.to_schema()


async def test_the_api_docs_page_renders_every_operation_offline(browser: Browser) -> None:
    async with api() as (url, document):
        operations = sum(
            1
            for item in document["paths"].values()
            for method in ("get", "put", "post", "patch", "delete")
            if method in item
        )
        page = await browser.new_page()
        await page.goto(f"{url}/docs")
        await page.wait_for(f"document.querySelectorAll('.opblock').length === {operations}")
        shown = await page.evaluate(
            "[...document.querySelectorAll('.opblock-tag-section h3')]"
            ".map(e => e.getAttribute('data-tag'))"
        )
        assert shown == [tag.name for tag in TAGS]
        assert not off_the_machine(page), f"/docs asked the internet for {off_the_machine(page)}"
        assert not page.failed, f"/docs: requests failed: {page.failed}"
