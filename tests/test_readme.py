"""The README's example runs and prints exactly what the README shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_ten_line_example_prints_what_the_readme_shows(tmp_path, monkeypatch):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A ten-line example"):]
    code, shown = re.findall(r"```(?:python)?\n(.*?)```", section, flags=re.DOTALL)[:2]
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README example", "exec"), {})
    assert printed.getvalue() == shown
    assert (tmp_path / "chain.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
