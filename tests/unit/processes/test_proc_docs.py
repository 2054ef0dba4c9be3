"""The examples in docs/processes.md run, in order, in one module namespace."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "processes.md"


def test_processes_doc_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 3
    module = types.ModuleType("docs_processes")
    sys.modules[module.__name__] = module
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
