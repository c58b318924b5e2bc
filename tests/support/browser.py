"""Headless Chromium for tests that look at a page as a person's browser renders it.

Debian's `chromium`, driven over the DevTools protocol with the `websockets` client that
uvicorn[standard] (a dev dependency) already brings: no browser download, no driver binary.
The browser can reach one host only: `shop.test` (any port), which it resolves to 127.0.0.1.
Every other name resolves to nothing and every other address goes to a proxy on a closed
port, so a page that wants something from the internet fails to get it here, exactly as it
would on a machine without a network, and every request the page makes is recorded
(`Page.requests`), including those that failed.

`shop.test` rather than 127.0.0.1 so that scripts which behave differently on localhost
(Swagger UI skips its online validator badge there) are seen as a visitor would see them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import ClientConnection, connect

HOST = "shop.test"
NAMES = ("chromium", "chromium-browser", "google-chrome")
# Bound to nothing: a request sent through this proxy fails at once.
DEAD_PROXY = "127.0.0.1:9"


def chromium_or_skip() -> str:
    """The browser's path; without one, skip locally and fail under CI=true, where the
    Makefile's `browser` target has installed it."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    reason = "no headless Chromium (`apt-get install chromium`, or `make browser`)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the browser tests")
    pytest.skip(reason)


def is_local(url: str) -> bool:
    """A URL that never leaves the machine: the test host, or data the page made itself."""
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob", "about"} or (
        parts.scheme in {"http", "https", "ws"} and parts.hostname == HOST
    )


@dataclass
class Page:
    browser: Browser
    target: str
    session: str
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    async def goto(self, url: str) -> None:
        await self.browser.send("Page.navigate", {"url": url}, self.session)

    async def evaluate(self, expression: str) -> Any:
        answer = await self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            self.session,
        )
        return answer.get("result", {}).get("value")

    async def wait_for(self, expression: str, *, within: float = 10.0) -> Any:
        """The value of `expression` once it is truthy; fails after `within` seconds with
        what the page showed."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                text = await self.evaluate("document.body ? document.body.innerText : ''")
                raise AssertionError(
                    f"not true within {within} s: {expression}\nrequests: {self.requests}\n"
                    f"failed: {self.failed}\npage text: {str(text)[:2000]}"
                )
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        await self.browser.send("Target.closeTarget", {"targetId": self.target})

    async def screenshot(self) -> bytes:
        """The whole page as a PNG (for a person to look at while working on the pages)."""
        answer = await self.browser.send(
            "Page.captureScreenshot", {"captureBeyondViewport": True}, self.session
        )
        return base64.b64decode(answer["data"])


class Browser:
    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._numbers = itertools.count(1)
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pages: dict[str, Page] = {}
        self._reader = asyncio.create_task(self._read())

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        number = next(self._numbers)
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        answer = self._answers[number] = asyncio.get_running_loop().create_future()
        await self._connection.send(json.dumps(message))
        async with asyncio.timeout(15):
            return await answer

    async def new_page(self, width: int = 1400, height: int = 1000) -> Page:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self, target["targetId"], attached["sessionId"])
        self._pages[page.session] = page
        await self.send("Network.enable", session=page.session)
        await self.send("Page.enable", session=page.session)
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": False,
                # Mermaid's C4 layout wraps rows at the screen's width, not the window's.
                "screenWidth": 1920,
                "screenHeight": 1080,
            },
            page.session,
        )
        return page

    async def _read(self) -> None:
        async for raw in self._connection:
            message = json.loads(raw)
            if "id" in message:
                answer = self._answers.pop(message["id"])
                if "error" in message:
                    answer.set_exception(AssertionError(f"DevTools: {message['error']}"))
                else:
                    answer.set_result(message.get("result", {}))
                continue
            page = self._pages.get(message.get("sessionId", ""))
            if page is None:
                continue
            params = message.get("params", {})
            if message["method"] == "Network.requestWillBeSent":
                page.requests.append(params["request"]["url"])
            elif message["method"] == "Network.loadingFailed" and not params.get("canceled"):
                page.failed.append(f"{params.get('requestId')}: {params.get('errorText')}")

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def chromium(executable: str) -> AsyncIterator[Browser]:
    """A headless Chromium that reaches `shop.test` (127.0.0.1) and nothing else."""
    # Helpers may still be closing files in the profile as it is removed.
    with tempfile.TemporaryDirectory(
        prefix="shopcore-chromium-", ignore_cleanup_errors=True
    ) as profile:
        arguments = [
            executable,
            "--headless",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            f"--host-resolver-rules=MAP {HOST} 127.0.0.1, MAP * ~NOTFOUND",
            f"--proxy-server={DEAD_PROXY}",
            f"--proxy-bypass-list={HOST}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--disable-gpu",
            "--mute-audio",
            "about:blank",
        ]
        if os.geteuid() == 0:
            # The sandbox needs an unprivileged user; CI and this machine run as root.
            arguments.insert(1, "--no-sandbox")
        process = await asyncio.create_subprocess_exec(
            *arguments,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            url = await _devtools_url(Path(profile), process)
            async with connect(url, max_size=64 * 2**20) as connection:
                browser = Browser(connection)
                try:
                    yield browser
                finally:
                    await browser.close()
        finally:
            await _stop(process)


async def _stop(process: asyncio.subprocess.Process) -> None:
    """End the browser and its helper processes (its own process group), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        async with asyncio.timeout(10):
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def _devtools_url(profile: Path, process: asyncio.subprocess.Process) -> str:
    """Chromium writes its port and browser path to DevToolsActivePort once it listens."""
    written = profile / "DevToolsActivePort"
    async with asyncio.timeout(20):
        while not written.exists() or len(written.read_text().splitlines()) < 2:
            if process.returncode is not None:
                raise AssertionError(f"chromium exited with {process.returncode} at start")
            await asyncio.sleep(0.05)
    port, path = written.read_text().splitlines()[:2]
    return f"ws://127.0.0.1:{port}{path}"
