"""The `microgradvg` command: Nielsen's chapter 5 on real digits, offline, with SVGs.

`microgradvg vanishing` (the default) prints each hidden layer's speed of learning next to
the book's values and draws where the gradient fades; `microgradvg exploding` shows the
book's chain of factors of 25. `main(["--sizes", "784,30,30,10"])` runs it in-process.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from ..data import DataError
from .commands import RUNNERS
from .options import COMMANDS, PROG, CommandError, build_parser

__all__ = ["CommandError", "build_parser", "main", "with_default_command"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with `argv` (default `sys.argv[1:]`) and return the exit status.

    0 on success, 2 for bad input (one `microgradvg: error:` line on stderr), 1 when the
    environment fails (Graphviz missing, disk full), 130 on Ctrl-C.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            options = build_parser().parse_args(with_default_command(arguments))
        except SystemExit as done:  # --help and --version print, then exit 0
            return done.code if isinstance(done.code, int) else 0
        return RUNNERS[options.command](options)
    except (CommandError, DataError) as error:
        return fail(str(error), 2)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except MemoryError:
        return fail("out of memory: try fewer --examples or smaller --sizes", 1)
    except Exception as error:  # noqa: BLE001 - one line, not a traceback, for the user
        if os.environ.get("MICROGRADVG_TRACEBACK"):
            traceback.print_exc()
        kind = type(error).__name__
        if kind == "GraphvizNotFound" or isinstance(error, OSError):
            return fail(str(error), 1)  # these messages already say what to do
        return fail(f"{kind}: {error} (set MICROGRADVG_TRACEBACK=1 to see where)", 1)


def fail(message: str, status: int) -> int:
    """Print one `microgradvg: error:` line on stderr and return `status`."""
    one_line = " ".join(str(message).split())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return status


def with_default_command(arguments: list[str]) -> list[str]:
    """`arguments` with `vanishing` in front when they name no command."""
    if not arguments:
        return [COMMANDS[0]]
    first = arguments[0]
    if first in COMMANDS or first in ("-h", "--help", "--version"):
        return arguments
    if not first.startswith("-"):
        raise CommandError(f"unknown command {first!r} (choose from {', '.join(COMMANDS)})")
    return [COMMANDS[0], *arguments]
