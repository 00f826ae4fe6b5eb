"""Writing a picture to disk: `save_svg` runs Graphviz's `dot` with a timeout and writes atomically.

Without `dot` on PATH you get `GraphvizNotFound` saying how to install it; the Digraph's
`.source` (DOT text) works without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import graphviz

INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; "
    "others: https://graphviz.org/download/); meanwhile the picture's DOT text is in `.source`"
)


class GraphvizNotFound(RuntimeError):
    """Graphviz's `dot` program is not installed (or not on PATH)."""


class GraphvizTimeout(RuntimeError):
    """`dot` did not finish laying out the picture within the timeout."""


class GraphvizFailed(RuntimeError):
    """`dot` exited with an error."""


def save_svg(digraph: graphviz.Digraph, path: str | os.PathLike, timeout: float = 30.0) -> Path:
    """Lay out `digraph` with `dot -Tsvg` and write the SVG to `path`; returns the path.

    The file appears whole or not at all (written to a temporary file beside it, then
    renamed). Raises `GraphvizNotFound` without `dot`, `GraphvizTimeout` after `timeout`
    seconds, `GraphvizFailed` if `dot` reports an error.
    """
    return save(digraph, path, "svg", timeout)


def save(
    digraph: graphviz.Digraph, path: str | os.PathLike, format: str = "svg", timeout: float = 30.0
) -> Path:
    """Like `save_svg` for any `dot -T` output format (png, pdf, …)."""
    output = run_dot(digraph.source, format, timeout)
    target = Path(path)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".partial", dir=target.parent or "."
    )
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(output)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it 0600; a picture is for sharing
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return target


def run_dot(source: str, format: str = "svg", timeout: float = 30.0) -> bytes:
    """What `dot -T<format>` makes of the DOT text `source`."""
    executable = shutil.which("dot")
    if executable is None:
        raise GraphvizNotFound(f"Graphviz's `dot` program was not found on PATH: {INSTALL_HINT}")
    try:
        result = subprocess.run(
            [executable, f"-T{format}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        nodes, edge_count = count_statements(source)
        raise GraphvizTimeout(
            f"dot did not lay out the picture within {timeout:g} s "
            f"({nodes:,} nodes, {edge_count:,} edges); "
            "draw fewer nodes: lower max_nodes= so the graph is collapsed into groups (or pick "
            "group_by='layer'), or raise timeout="
        ) from None
    except FileNotFoundError:
        raise GraphvizNotFound(
            f"Graphviz's `dot` program could not be run: {INSTALL_HINT}"
        ) from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise GraphvizFailed(f"dot -T{format} failed (exit code {result.returncode}): {message}")
    return result.stdout


def count_statements(source: str) -> tuple[int, int]:
    """(nodes, edges) declared in DOT text, one statement per line as Digraph writes them."""
    nodes = edge_count = 0
    for line in source.splitlines():
        statement = line.strip()
        if "->" in statement.split("[", 1)[0]:
            edge_count += 1
        elif statement and statement[0] not in "}{/#" and "[" in statement:
            head = statement.split("[", 1)[0].strip()
            if head and head not in ("graph", "node", "edge") and not head.startswith("subgraph"):
                nodes += 1
    return nodes, edge_count


def _umask() -> int:
    """The process's umask (reading it means setting it, so put it straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
