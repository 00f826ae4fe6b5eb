"""The tutorials and the README, typed line by line into a real console, print what they show.

doctest compiles each example on its own, so an unclosed `def` or `for` passes there and
fails in a REPL. Here the `>>>` and `...` lines are typed, exactly as shown, into
`code.InteractiveConsole` (docs/make_pictures.py does the typing), once per document; the
same run checks that docs/pictures/ holds exactly the pictures the code draws now.
"""

from __future__ import annotations

import doctest
import functools
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_pictures", ROOT / "docs" / "make_pictures.py")
assert _spec is not None and _spec.loader is not None
make_pictures = importlib.util.module_from_spec(_spec)
sys.modules["make_pictures"] = make_pictures  # dataclasses look their module up there
_spec.loader.exec_module(make_pictures)

DOCUMENTS = make_pictures.DOCUMENTS
# The project's doctest flags (pyproject.toml), and the same without NORMALIZE_WHITESPACE.
FLAGS = make_pictures.project_flags()
STRICT = FLAGS & ~doctest.NORMALIZE_WHITESPACE


@functools.cache
def typed(document: Path):
    """Each document is typed once; the three checks below share the session."""
    return make_pictures.type_into_console(document)


def test_every_tutorial_is_typed_under_the_projects_flags():
    names = [document.name for document in DOCUMENTS]
    assert names[0] == "README.md" and len(names) >= 9, names
    assert FLAGS & doctest.NORMALIZE_WHITESPACE and FLAGS & doctest.ELLIPSIS
    assert FLAGS != STRICT


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda document: document.name)
def test_typed_into_a_console_it_prints_what_it_shows(document):
    failures = make_pictures.report(typed(document), FLAGS)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda document: document.name)
def test_no_output_relies_on_normalised_whitespace(document):
    """A line the REPL prints unwrapped is shown unwrapped (NORMALIZE_WHITESPACE off)."""
    failures = make_pictures.report(typed(document), STRICT)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda document: document.name)
def test_the_committed_pictures_are_what_the_code_draws(document):
    drawn = typed(document).pictures
    stale = [
        name for name, svg in drawn.items()
        if not (make_pictures.PICTURES / name).is_file()
        or (make_pictures.PICTURES / name).read_bytes() != svg
    ]
    assert not stale, (
        f"docs/pictures/ is out of date for {', '.join(sorted(stale))} ({document.name}): "
        f"run `{make_pictures.COMMAND}` and commit docs/pictures/"
    )


def test_every_committed_picture_is_drawn_by_some_document():
    committed = {path.name for path in make_pictures.PICTURES.glob("*.svg")}
    drawn = {name for document in DOCUMENTS for name in typed(document).pictures}
    assert committed == drawn, f"run `{make_pictures.COMMAND}` and commit docs/pictures/"


def test_a_block_left_open_is_caught(tmp_path):
    """The console is strict where doctest is not: the next prompt inside an open `for`."""
    document = tmp_path / "open.md"
    document.write_text(
        "```python\n>>> total = 0\n>>> for i in range(3):\n...     total += i\n"
        ">>> total\n3\n\n```\n",
        encoding="utf-8",
    )
    assert doctest.testfile(str(document), module_relative=False, verbose=False).failed == 0
    failures = make_pictures.report(make_pictures.type_into_console(document), FLAGS)
    assert failures and "SyntaxError" in failures[0]
    document.write_text(document.read_text().replace("total += i\n", "total += i\n...\n"))
    assert not make_pictures.report(make_pictures.type_into_console(document), FLAGS)


def test_a_wrapped_line_passes_only_with_normalised_whitespace(tmp_path):
    document = tmp_path / "wrapped.md"
    document.write_text(">>> list(range(12))\n[0, 1, 2, 3, 4, 5,\n 6, 7, 8, 9, 10, 11]\n")
    session = make_pictures.type_into_console(document)
    assert not make_pictures.report(session, FLAGS)
    assert make_pictures.report(session, STRICT)


def test_an_exception_is_compared_on_its_message_as_doctest_does(tmp_path):
    document = tmp_path / "raises.md"
    shown = ">>> 1 / 0\nTraceback (most recent call last):\n    ...\nZeroDivisionError: {}\n"
    document.write_text(shown.format("division by zero"))
    assert not make_pictures.report(make_pictures.type_into_console(document), FLAGS)
    document.write_text(shown.format("something else"))
    assert make_pictures.report(make_pictures.type_into_console(document), FLAGS)
