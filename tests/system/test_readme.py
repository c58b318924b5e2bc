"""The README's library example is documentation that must keep working as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_example_places_a_confirmed_order_as_its_comment_says() -> None:
    (example,) = _python_blocks()
    assert len(example.strip().splitlines()) <= 25, "the example should stay short"

    run = subprocess.run(
        [sys.executable, "-c", example], capture_output=True, text=True, timeout=60, check=False
    )

    assert run.returncode == 0, run.stderr
    promised = re.search(r"# (confirmed .*)$", example, flags=re.M)
    assert promised is not None
    assert run.stdout.strip() == promised.group(1)
