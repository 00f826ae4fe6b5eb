"""Every `>>>` line of the tutorials and the README sits in a fenced ```python block.

Outside a fence, CommonMark (as GitHub renders it) reads `>>>` as three nested
blockquotes, and the session becomes unreadable prose.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "tutorials").glob("*.md"))]
# A CommonMark fence: up to three spaces, then three or more ` or ~, then an info string.
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)")


def prompts_outside_python_fences(text: str) -> list[int]:
    """The line numbers (from 1) of `>>>` lines that are not inside a ```python fence."""
    outside, opened, info = [], "", ""
    for number, line in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(line)
        if fence and not opened:
            opened, info = fence[1], fence[2]
        elif fence and fence[1][0] == opened[0] and len(fence[1]) >= len(opened) \
                and not line.strip().strip(opened[0]):
            opened, info = "", ""
        elif line.lstrip().startswith(">>>") and not (opened and info == "python"):
            outside.append(number)
    if opened:
        outside.append(len(text.splitlines()) + 1)  # a fence never closed
    return outside


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda document: document.name)
def test_every_prompt_is_in_a_python_fence(document):
    outside = prompts_outside_python_fences(document.read_text(encoding="utf-8"))
    assert not outside, f"{document.name}: `>>>` outside a ```python fence on lines {outside}"


def test_the_check_finds_bare_prompts_and_other_fences():
    assert prompts_outside_python_fences(">>> 1\n1\n") == [1]
    assert prompts_outside_python_fences("```python\n>>> 1\n1\n```\n>>> 2\n") == [5]
    assert prompts_outside_python_fences("```\n>>> 1\n```\n") == [2]
    assert prompts_outside_python_fences("````python\n```\n>>> 1\n````\n") == []
    assert prompts_outside_python_fences("```python\n>>> 1\n") == [3]


# A Markdown link or picture outside code: ![alt](target) or [text](target).
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def local_targets_missing(document: Path) -> list[str]:
    """The relative link and picture targets of `document`, outside fences, with no file."""
    missing, opened = [], ""
    for line in document.read_text(encoding="utf-8").splitlines():
        fence = FENCE.match(line)
        if fence:
            opened = "" if opened else fence[1]
            continue
        if opened:
            continue
        for target in LINK.findall(line):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            if not (document.parent / target.split("#")[0]).exists():
                missing.append(target)
    return missing


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda document: document.name)
def test_every_local_link_and_picture_exists_in_the_repository(document):
    """On GitHub a picture must be committed (docs/pictures/), not one the session writes."""
    missing = local_targets_missing(document)
    assert not missing, f"{document.name}: links to files that are not in the repository: {missing}"
