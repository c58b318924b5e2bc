"""`/docs`: Swagger UI served from this API's own origin, under a Content-Security-Policy.

Litestar's page loaded Swagger UI from a CDN at run time, without integrity hashes, and had no
CSP: a compromised CDN could run script with the docs page's origin (the API's), and the page
did not render without internet access. Here Swagger UI's files come from a package
(`swagger-ui-py`, pinned in the lock file) and are served under `/docs/assets/`; the page runs
no inline script (its one script of our own, `shopcore-docs.js`, is served from there too and
loads `/docs/openapi.json`), so the CSP allows scripts from this origin only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import PathParameter

ASSETS = "/docs/assets"
# The docs page's policy; every other answer gets the API's, which allows nothing at all.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

_INIT_JS = b"""window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/docs/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
});
"""
_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


def _static_dir() -> Path:
    """Swagger UI's files in the installed package, found without importing it."""
    spec = importlib.util.find_spec("swagger_ui")
    if (
        spec is None or not spec.submodule_search_locations
    ):  # pragma: no cover - a locked dependency
        raise RuntimeError("swagger-ui-py is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class LocalSwaggerPage(SwaggerRenderPlugin):
    """The page at `/docs`: Swagger UI's files and our start-up script, all from this origin."""

    def __init__(self) -> None:
        super().__init__(
            js_url=f"{ASSETS}/swagger-ui-bundle.js",
            css_url=f"{ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
            path="/",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema.get("info", {}).get("title", "API"))
        return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title}</title>
    {self.favicon}
    <link rel="stylesheet" href="{self.css_url}">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="{self.js_url}"></script>
    <script src="{self.standalone_preset_js_url}"></script>
    <script src="{ASSETS}/shopcore-docs.js"></script>
  </body>
</html>
""".encode()


def docs_assets() -> Router:
    """`/docs/assets/{name}`: the few files the page loads, read once."""
    directory = _static_dir()
    files = {name: ((directory / name).read_bytes(), media) for name, media in _FILES.items()}
    files["shopcore-docs.js"] = (_INIT_JS, "text/javascript")

    @get("/{name:str}", include_in_schema=False, cache=False)
    async def asset(name: Annotated[str, PathParameter(max_length=64)]) -> Response[bytes]:
        found = files.get(name)
        if found is None:
            raise NotFoundException("no such file")
        body, media = found
        return Response(body, media_type=media, headers={"Cache-Control": "public, max-age=3600"})

    return Router(path=ASSETS, route_handlers=[asset], include_in_schema=False)
