"""Run each tutorial as a doctest in its own temporary folder.

The tutorials write their pictures to `pictures/` in the current folder; under
pytest that folder is a fresh temporary one, so nothing lands in the repo.
"""

import pytest


@pytest.fixture(autouse=True)
def _in_a_temporary_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
