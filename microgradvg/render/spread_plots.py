"""Charts of cancellation: a gradient's paths as signed bars with their running sum
(`plot_spread`), and a layer's gradient over its weights by sign (`plot_weight_share`).

Both return a matplotlib `Figure` (object API: no pyplot, no GUI backend); save it with
`figure.savefig("spread.svg")`. Red is a positive contribution, blue a negative one, as in
the graph pictures.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..inspection.spread import Spread, flat_gradients, spread, weight_share
from . import style

POSITIVE = style.POSITIVE_COLOURS[7]
NEGATIVE = style.NEGATIVE_COLOURS[7]
REST = "#9a9a9a"
MAX_BARS = 400  # weights drawn as bars; more are drawn as a filled curve
# Points of a curve: more than the figure has pixels across only make the SVG larger (100,000
# weights made 20 MB, past what librsvg reads), so a longer curve is drawn by its envelope.
MAX_POINTS = 2000


def plot_spread(chain_or_spread: Any, k: int = 30) -> Any:
    """A chart of ∂output/∂wrt = Σ over paths p of p: the pieces and how they add up.

    Left: the contribution p of each of the k paths with the largest |p| (all of them
    when there are at most k), largest first, red if p > 0 and blue if p < 0; one grey
    bar sums the other paths, Σp − Σ_top p. A line follows the running sum, which ends at
    the total. Right: Σp⁺, Σp⁻ and their sum Σp, with the share |Σp|/Σ|p| that survives
    the cancelling. `chain_or_spread` is a `Chain` or the `Spread` of one. For a Tensor
    wrt with several elements each path counts by its component along the total
    gradient t, ⟨p, t⟩/‖t‖, and these add up to ‖t‖.
    """
    from matplotlib.figure import Figure

    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"plot_spread: k is how many paths to draw one by one, at least 1; got {k!r}")
    if isinstance(chain_or_spread, Spread):
        if chain_or_spread.chain is None:
            raise ValueError("plot_spread: this Spread does not know its Chain; pass the Chain")
        owner, measured = chain_or_spread.chain, chain_or_spread
    elif hasattr(chain_or_spread, "paths") and hasattr(chain_or_spread, "num_paths"):
        owner, measured = chain_or_spread, spread(chain_or_spread)
    else:
        raise TypeError(
            f"plot_spread: pass a Chain (microgradvg.chain(output, wrt)) or its Spread, "
            f"got {type(chain_or_spread).__name__}"
        )
    paths = owner.paths(min(k, owner.num_paths))
    total, parts, positive, negative = _contributions(owner, paths, measured)
    rest = total - math.fsum(parts) if owner.num_paths > len(parts) else None
    name = measured.name

    figure = Figure(figsize=(10.0, 4.6), layout="constrained")
    bars, balance = figure.subplots(1, 2, width_ratios=[3.2, 1.0])
    heights = [*parts, *([rest] if rest is not None else [])]
    colours = [POSITIVE if p > 0 else NEGATIVE for p in parts] + ([REST] if rest is not None else [])
    positions = np.arange(1, len(heights) + 1)
    bars.bar(positions, heights, color=colours, width=0.8)
    running = np.cumsum(heights)
    bars.plot(positions, running, color=style.INK, marker="o", markersize=3, linewidth=1.4,
              label="running sum")
    bars.axhline(total, color=style.INK, linestyle="--", linewidth=1.0,
                 label=f"total {name} = {style.number(total, 3)}")
    bars.axhline(0.0, color="#777777", linewidth=0.6)
    ticks = [int(t) for t in positions[: len(parts)][:: max(1, len(parts) // 10)]]
    if rest is not None:  # room for the rest's label
        ticks = [t for t in ticks if t <= len(parts) - 2 or t == 1]
    labels = [str(t) for t in ticks]
    if rest is not None:
        # The rest cancel among themselves too: say how much they carry before they do.
        carried = positive - negative - math.fsum(abs(p) for p in parts)
        ticks.append(positions[-1])
        labels.append(
            f"other\n{style.count(owner.num_paths - len(parts))}\nΣ|p| {style.number(carried, 2)}"
        )
    bars.set_xticks(ticks, labels)
    bars.set_xlabel("path, by |product|, largest first")
    bars.set_ylabel("contribution p of the path")
    bars.legend(loc="best", fontsize="small")
    shown = "every path" if rest is None else f"the {len(parts)} largest paths, then the rest"
    bars.set_title(f"{name}: {shown} (red p > 0, blue p < 0)", fontsize=10)

    magnitude = positive - negative
    survives = abs(total) / magnitude if magnitude else 0.0
    balance.bar([0, 1, 2], [positive, negative, total], color=[POSITIVE, NEGATIVE, style.INK],
                width=0.7)
    balance.axhline(0.0, color="#777777", linewidth=0.6)
    balance.set_xticks([0, 1, 2], ["Σp⁺", "Σp⁻", "Σp"])
    balance.set_title(
        f"{style.count(owner.num_paths)} paths\n|Σp| / Σ|p| = {survives:.3g}", fontsize=10
    )
    for x, value in enumerate((positive, negative, total)):
        balance.annotate(style.number(value, 3), (x, value), ha="center",
                         va="bottom" if value >= 0 else "top", fontsize=8)
    return figure


def plot_weight_share(gradients: Any, top: float = 0.1, title: str = "") -> Any:
    """A chart of how a layer's gradient is shared among its weights, by sign.

    Left: every weight's gradient g, sorted by |g| (largest first), red if g > 0 and blue
    if g < 0, with the top fraction `top` shaded and the share of Σ|g| it holds. Right:
    the share of Σ|g| held by the largest weights against the fraction of weights
    (a straight line if every weight got the same |g|), with the Gini coefficient.
    `gradients` is what `weight_share` takes: a layer, a list of Values or Tensors, an array.
    """
    from matplotlib.figure import Figure

    share = weight_share(gradients, top)
    g = flat_gradients(gradients)
    order = np.argsort(-np.abs(g), kind="stable")
    g = g[order]
    n = g.size
    figure = Figure(figsize=(10.0, 4.2), layout="constrained")
    bars, curve = figure.subplots(1, 2, width_ratios=[2.2, 1.0])
    x = np.arange(1, n + 1)
    if n <= MAX_BARS:
        bars.bar(x, g, color=np.where(g > 0, POSITIVE, NEGATIVE), width=0.85)
    else:
        centres, upper, lower = _envelope(g)
        bars.fill_between(centres, upper, step="mid", color=POSITIVE, linewidth=0)
        bars.fill_between(centres, lower, step="mid", color=NEGATIVE, linewidth=0)
    bars.axvspan(0.5, share.top_count + 0.5, color="#ececec", zorder=0,
                 label=f"top {share.top:.0%} ({share.top_count:,} weights): "
                       f"{share.top_share:.0%} of Σ|g|")
    bars.axhline(0.0, color="#777777", linewidth=0.6)
    bars.set_xlabel("weight, by |g|, largest first")
    bars.set_ylabel("gradient g")
    bars.legend(loc="upper right", fontsize="small")
    heading = title or f"the gradient over {n:,} weights (red g > 0, blue g < 0)"
    bars.set_title(heading, fontsize=10)
    magnitudes = np.abs(g)
    cumulative = np.cumsum(magnitudes) / magnitudes.sum() if share.magnitude else np.zeros(n)
    kept = np.unique(np.linspace(0, n, min(n, MAX_POINTS) + 1).round().astype(int))  # ends kept
    curve.plot(np.concatenate([[0.0], x / n])[kept], np.concatenate([[0.0], cumulative])[kept],
               color=style.INK, linewidth=1.4, label="these weights")
    curve.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1.0,
               label="every |g| equal")
    curve.set_xlabel("fraction of the weights, largest |g| first")
    curve.set_ylabel("share of Σ|g|")
    curve.set_title(f"Gini {share.gini:.2f}, effective number {share.effective_number:.3g}",
                    fontsize=10)
    curve.legend(loc="lower right", fontsize="small")
    return figure


def _envelope(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres, upper, lower) of the gradients `g` in at most MAX_POINTS runs of equal
    length: each run's position, its largest g > 0 and its most negative g < 0 (0 if none)."""
    size = math.ceil(g.size / MAX_POINTS)
    padded = np.concatenate([g, np.zeros(-g.size % size)]).reshape(-1, size)  # (runs, size)
    centres = np.arange(padded.shape[0]) * size + (size + 1) / 2
    return centres, np.maximum(padded, 0.0).max(axis=1), np.minimum(padded, 0.0).min(axis=1)


def _contributions(owner: Any, paths: list, measured: Spread) -> tuple[float, list[float], float, float]:
    """(total, each path's contribution, Σp⁺, Σp⁻) as floats, for Value and Tensor chains."""
    if not owner.is_tensor:
        return float(owner.total), [float(p.product) for p in paths], measured.positive, measured.negative
    total = np.asarray(owner.total, dtype=float).reshape(-1)
    if total.size == 1:
        parts = [float(np.asarray(p.product).reshape(-1)[0]) for p in paths]
        return float(total[0]), parts, measured.positive, measured.negative
    size = float(np.linalg.norm(total))
    direction = total / size if size else total
    every = [float(np.dot(np.asarray(p.product).reshape(-1), direction)) for p in owner.paths()]
    parts = every[: len(paths)]
    positive = math.fsum(p for p in every if p > 0)
    negative = math.fsum(p for p in every if p < 0)
    return size, parts, positive, negative


__all__ = ["plot_spread", "plot_weight_share"]
