"""Regenerate docs/pictures/: type every tutorial into a Python console, keep its pictures.

    .venv/bin/python docs/make_pictures.py

Each tutorial's `>>>` and `...` lines are typed, exactly as shown, into
`code.InteractiveConsole` in a fresh folder; the SVGs written to its `pictures/` are copied
to docs/pictures/. tests/test_tutorials_repl.py types them the same way and checks both
what they print and that the committed pictures are byte-identical to the new ones.
"""

from __future__ import annotations

import code
import contextlib
import doctest
import io
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# One BLAS thread, as the tests have (see conftest.py), set before the tutorials load numpy:
# tutorial 11's printed numbers hold for one thread's sum order only.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parent.parent
PICTURES = ROOT / "docs" / "pictures"
COMMAND = ".venv/bin/python docs/make_pictures.py"
# The documents typed: the README's tour and every tutorial, in reading order.
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.md"))]
# A prompt as a learner sees it: ">>> code", "... code", or a bare ">>>" / "..." (Enter).
PROMPT = re.compile(r"^(>>>|\.\.\.)( |$)")
TRACEBACK = "Traceback (most recent call last):"


@dataclass
class Typed:
    """One example as typed: its lines, what the tutorial shows and what the console printed."""

    example: doctest.Example
    lines: list[str]
    got: str


@dataclass
class Session:
    """A whole document typed into one console: every example, and the pictures it drew."""

    document: Path
    typed: list[Typed]
    pictures: dict[str, bytes] = field(default_factory=dict)


@contextlib.contextmanager
def reproducible() -> Iterator[None]:
    """Make matplotlib's SVGs byte-stable (fixed ids, fixed date) for the session's length."""
    import matplotlib

    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        with matplotlib.rc_context({"svg.hashsalt": "microgradvg"}):
            yield
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def examples(document: Path) -> list[tuple[doctest.Example, list[str]]]:
    """The document's examples, each with its prompt lines exactly as shown (prompts removed).

    doctest's own parser finds the examples and their expected output; the lines are taken
    from the text itself so that a bare `...` (the Enter that closes a block) is kept.
    """
    text = document.read_text(encoding="utf-8")
    rows = text.splitlines()
    found: list[tuple[doctest.Example, list[str]]] = []
    for part in doctest.DocTestParser().parse(text, str(document)):
        if not isinstance(part, doctest.Example):
            continue
        lines: list[str] = []
        for row in rows[part.lineno:]:
            if not PROMPT.match(row) or (lines and row.startswith(">>>")):
                break
            lines.append(row[4:])
        found.append((part, lines))
    return found


def type_into_console(document: Path) -> Session:
    """Type the document's prompt lines into a fresh console in a fresh folder.

    Nothing else is typed: no blank line after a block unless the document shows a `...`
    line. What the console prints (stdout, and the tracebacks and warnings a learner sees
    on stderr) is collected per example.
    """
    console = code.InteractiveConsole({"__name__": "__console__"})
    printed = io.StringIO()
    session = Session(document, [])
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as folder, reproducible():
        os.chdir(folder)
        try:
            # stderr too: the console writes its tracebacks there, and a learner sees them.
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                waiting = False
                for example, lines in examples(document):
                    for line in lines:
                        waiting = console.push(line)
                    session.typed.append(Typed(example, lines, printed.getvalue()))
                    printed.seek(0)
                    printed.truncate()
                if waiting:
                    session.typed[-1].got += "(the console still waits: a block is not closed)\n"
        finally:
            os.chdir(here)
        for picture in sorted(Path(folder, "pictures").glob("*.svg")):
            session.pictures[picture.name] = picture.read_bytes()
    return session


def project_flags() -> int:
    """The doctest flags in pyproject.toml (NORMALIZE_WHITESPACE ELLIPSIS NUMBER), as pytest reads them."""
    from _pytest.doctest import _get_flag_lookup

    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    names = re.search(r'^doctest_optionflags = "(.*)"$', pyproject, flags=re.MULTILINE)
    assert names is not None, "pyproject.toml has no doctest_optionflags"
    lookup = _get_flag_lookup()
    return sum({lookup[name] for name in names[1].split()})


def matches(typed: Typed, flags: int) -> bool:
    """Whether the console printed what the document shows, as doctest would compare them.

    The checker is pytest's own (it adds NUMBER), so a flag means here what it means in
    the doctest run. For an exception, as in doctest, only the exception's own lines are
    compared, not the stack above them.
    """
    from _pytest.doctest import _get_checker

    checker = _get_checker()
    want, got = typed.example.want, typed.got
    if typed.example.exc_msg is not None and got.startswith(TRACEBACK):
        lines = got.splitlines(keepends=True)[1:]
        while lines and lines[0].startswith(" "):
            lines.pop(0)
        want, got = typed.example.exc_msg, "".join(lines)
    return checker.check_output(want, got, flags)


def report(session: Session, flags: int) -> list[str]:
    """One message per example whose output differs, saying where and how."""
    failures = []
    for typed in session.typed:
        if not matches(typed, flags):
            where = f"{session.document.name}, line {typed.example.lineno + 1}"
            typed_lines = "\n".join(f"    {line}" for line in typed.lines)
            failures.append(
                f"{where}:\n{typed_lines}\n  expected:\n{typed.example.want}"
                f"  the console printed:\n{typed.got}"
            )
    return failures


def main() -> int:
    """Type every document, and if all print what they show, replace docs/pictures/."""
    flags = project_flags()
    drawn: dict[str, bytes] = {}
    for document in DOCUMENTS:
        session = type_into_console(document)
        failures = report(session, flags)
        if failures:
            print("\n\n".join(failures), file=sys.stderr)
            print(f"{document.name} does not type cleanly; docs/pictures/ left as it was.",
                  file=sys.stderr)
            return 1
        clashes = drawn.keys() & session.pictures.keys()
        if clashes:
            print(f"{document.name} draws {sorted(clashes)} again; give it its own name.",
                  file=sys.stderr)
            return 1
        drawn.update(session.pictures)
        print(f"{document.name}: {len(session.pictures)} pictures")
    shutil.rmtree(PICTURES, ignore_errors=True)
    PICTURES.mkdir(parents=True)
    for name, svg in drawn.items():
        (PICTURES / name).write_bytes(svg)
    print(f"{len(drawn)} pictures in {PICTURES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
