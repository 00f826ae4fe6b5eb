"""The `microgradvg` command (placeholder until the CLI issue lands)."""

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `microgradvg` console script."""
    print("microgradvg: the command is not implemented yet", file=sys.stderr)
    return 2
