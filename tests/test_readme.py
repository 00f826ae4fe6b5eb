"""The README's example runs and prints exactly what the README shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_ten_line_example_prints_what_the_readme_shows(tmp_path):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A ten-line example"):]
    code, shown = re.findall(r"```(?:python)?\n(.*?)```", section, flags=re.DOTALL)[:2]
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script)], check=False, cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == shown
    assert (tmp_path / "chain.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
