"""Reading deploy/'s plain-text files the way their tools do, for
tests/integration/test_deploy_artifacts.py: a Dockerfile as instructions and stages, an env
file as names and values."""

from __future__ import annotations

import re
from pathlib import Path

Instruction = tuple[str, str]  # (INSTRUCTION, its arguments)


def instructions(dockerfile: Path) -> list[Instruction]:
    """Every instruction, continuation lines joined and comments left out."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines()]
    found = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(parts[0].upper(), parts[1] if len(parts) > 1 else "") for parts in found]


def stages(dockerfile: Path) -> list[list[Instruction]]:
    """The instructions of each stage, each list starting with its FROM."""
    split: list[list[Instruction]] = []
    for instruction in instructions(dockerfile):
        if instruction[0] == "FROM":
            split.append([])
        if split:
            split[-1].append(instruction)
    return split


def dotenv(path: Path) -> dict[str, str]:
    """NAME=value lines, comments and blank lines left out, as compose reads deploy/.env."""
    lines = [line for line in path.read_text().splitlines() if line and line[0] != "#"]
    return dict(line.split("=", 1) for line in lines)
