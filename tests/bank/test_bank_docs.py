"""docs/reference-system.md stays true: its Python runs, and its Mermaid is what the CLI prints."""

from __future__ import annotations

import re
from pathlib import Path

from examples.bank.topology import services

from riverbed.runtime.flow import build_flow, to_mermaid

DOC = Path(__file__).parents[2] / "docs" / "reference-system.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_python_examples_run() -> None:
    found = blocks("python")
    assert found
    for code in found:
        exec(compile(code, str(DOC), "exec"), {})


def test_the_mermaid_diagram_is_the_declared_flow() -> None:
    (diagram,) = blocks("mermaid")
    assert diagram == to_mermaid(build_flow(services))
