"""The README's code blocks work when pasted: each python and sh block runs, in order, in a fresh directory.

Only the set-up block (``make run`` / ``make test``) is skipped: running it would start this test suite.
``.venv/bin/`` in a block means this checkout's virtualenv.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"
BLOCK = re.compile(r"^```(python|sh)\n(.*?)^```", re.MULTILINE | re.DOTALL)
VENV_BIN = str(Path(sys.executable).parent)


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(README.read_text())]


def is_setup(code: str) -> bool:
    return "make test" in code


def test_the_readme_has_a_python_and_a_shell_quick_start() -> None:
    found = blocks()
    assert [lang for lang, code in found if is_setup(code)] == ["sh"]
    runnable = [lang for lang, code in found if not is_setup(code)]
    assert "python" in runnable
    assert "sh" in runnable


def test_the_readme_quick_start_runs_as_pasted(tmp_path: Path) -> None:
    outputs = []
    for lang, code in blocks():
        if is_setup(code):
            continue
        pasted = code.replace(".venv/bin/", f"{VENV_BIN}/")
        command = [sys.executable, "-c", pasted] if lang == "python" else ["sh", "-eu", "-c", pasted]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"README {lang} block failed:\n{code}\n--- stderr ---\n{done.stderr}"
        assert "Traceback" not in done.stderr
        outputs.append(done.stdout)
    text = "\n".join(outputs)
    assert "stored at version 0 position 1" in text
    assert "bank.account.opened.v1" in text
    assert '"stream":"account-7"' in text
