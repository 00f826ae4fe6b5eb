"""`--out DIR` written all at once: files go to a hidden staging directory beside DIR and
are moved in only when every one of them was written, so a failed run leaves DIR as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .options import PROG, CommandError


class StagedOutput:
    """Files for `--out DIR`, written to a hidden directory beside it and moved in on `commit()`.

    If anything fails before `commit()`, the staging directory is deleted and DIR is left
    as it was (not even created), so a failed run never leaves half-written files.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        try:  # a name too long for the file system fails even `exists()`
            anchor = self._stage()
        except OSError as error:
            raise CommandError(f"--out {out}: {error.strerror}") from None
        try:
            self._check_target(anchor)
        except OSError as error:
            self.discard()
            raise CommandError(f"--out {out}: cannot write there ({error.strerror})") from None

    def _stage(self) -> Path:
        """Make the staging directory; return DIR's nearest existing ancestor."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out}: exists and is not a directory")
        anchor = out.absolute().parent
        while not anchor.exists():  # the nearest existing ancestor: same file system as DIR
            anchor = anchor.parent
        if not anchor.is_dir():
            raise CommandError(f"--out {out}: {anchor} is not a directory")
        # Beside DIR, so nothing shows up inside it until commit; inside DIR (hidden) when
        # only DIR itself is writable.
        places = [anchor, out] if out.is_dir() else [anchor]
        for place in places:
            try:
                self.staging = Path(tempfile.mkdtemp(prefix=f".{PROG}-", dir=place))
                return anchor
            except OSError as error:
                problem = error.strerror
        raise CommandError(f"--out {out}: cannot write in {places[-1]} ({problem})")

    def _check_target(self, anchor: Path) -> None:
        """Fail now, not after all the work, where `commit()` would: DIR unwritable, or a
        name in the part of DIR still to be created too long for the file system."""
        out = self.out
        if out.is_dir():
            if self.staging.parent != out:
                os.rmdir(tempfile.mkdtemp(prefix=f".{PROG}-", dir=out))
        else:  # the same names, made inside the staging directory on the same file system
            probe = Path(tempfile.mkdtemp(dir=self.staging))
            (probe / out.absolute().relative_to(anchor)).mkdir(parents=True)
            shutil.rmtree(probe)

    def path(self, name: str) -> Path:
        """Where to write the file that will become DIR/`name`."""
        return self.staging / name

    def commit(self) -> list[Path]:
        """Move every staged file into DIR (creating it) and return their final paths."""
        staged_files = sorted(self.staging.iterdir())
        for staged in staged_files:  # check first: a clash half-way would leave half the files
            if (self.out / staged.name).is_dir():
                raise CommandError(f"--out {self.out}: {self.out / staged.name} is a directory")
        self.out.mkdir(parents=True, exist_ok=True)
        written = []
        for staged in staged_files:
            target = self.out / staged.name
            os.replace(staged, target)  # atomic per file: a reader never sees half an SVG
            written.append(target)
        return written

    def discard(self) -> None:
        """Delete the staging directory and whatever is still in it."""
        shutil.rmtree(self.staging, ignore_errors=True)


@contextlib.contextmanager
def staged_output(out: Path) -> Iterator[StagedOutput]:
    """A `StagedOutput` for `out`, discarded on leaving the block (committed or not)."""
    output = StagedOutput(out)
    try:
        yield output
    finally:
        output.discard()

