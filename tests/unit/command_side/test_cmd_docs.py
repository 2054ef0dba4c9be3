"""The examples in docs/command-side.md run, in order, in one module namespace."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "command-side.md"


def test_command_side_doc_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 4
    module = types.ModuleType("docs_command_side")
    sys.modules[module.__name__] = module  # dataclasses look their module up while being built
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
