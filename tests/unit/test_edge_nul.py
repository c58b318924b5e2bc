"""The edge refuses a NUL in a request body however the body arrives: a raw byte or JSON's
escape, whole or split between two chunks; a backslash followed by the text `u0000` is not one."""

from __future__ import annotations

import pytest
from litestar.exceptions import ClientException
from litestar.types import Message

from adapters.http.edge import _without_nul


async def read_all(*chunks: bytes) -> list[bytes]:
    pending = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        for n, chunk in enumerate(chunks)
    ]

    async def receive() -> Message:
        return pending.pop(0)  # type: ignore[return-value]

    checked = _without_nul(receive)
    return [(await checked())["body"] for _ in chunks]


@pytest.mark.parametrize(
    "chunks",
    [
        (b'{"name": "Ann\\u0000"}',),
        (b'{"name": "Ann\x00"}',),
        (b'{"name": "Ann\\u00', b'00"}'),
        (b'{"name": "Ann\\', b'u0000"}'),
        (b'{"name": "A\\\\\\u0000"}',),  # an escaped backslash, then the escape
    ],
)
async def test_a_nul_in_the_body_is_refused(chunks: tuple[bytes, ...]) -> None:
    with pytest.raises(ClientException) as refused:
        await read_all(*chunks)
    assert refused.value.status_code == 400


@pytest.mark.parametrize(
    "chunks",
    [
        (b'{"name": "Ann"}',),
        (b'{"path": "C:\\\\u0000"}',),  # a backslash, then the text u0000
        (b'{"path": "C:\\\\', b'u0000"}'),
        (b'{"n": "\\u0010 \\u00201"}',),
    ],
)
async def test_text_without_a_nul_passes_untouched(chunks: tuple[bytes, ...]) -> None:
    assert await read_all(*chunks) == list(chunks)
