"""What `microgradvg residual` and `microgradvg recurrent` do, given their parsed options.

Each runs its experiment from `microgradvg.deep`, prints a table of gradient norms and a
few sentences that read it, and writes its SVGs through a `StagedOutput`.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from ..deep import (
    ResidualExperiment,
    clipping_experiment,
    recurrent_experiment,
    residual_experiment,
)
from ..formatting import aligned_table, count, significant
from .options import (
    BLOCK_SPEEDS_SVG,
    BY_LENGTH_SVG,
    PLAIN_FLOW_SVG,
    RESIDUAL_FLOW_SVG,
    THROUGH_TIME_SVG,
    CommandError,
)
from .report import say
from .staging import staged_output

DOT_TIMEOUT = 60.0
TABLE_ROWS = 11  # rows of the per-block and per-step tables


def run_residual(options: argparse.Namespace) -> int:
    """Residual against plain: speeds per block, the gradient by path length, four SVGs."""
    from ..render import draw_flow, save_svg
    from ..render.curves import plot_by_length, plot_flows

    if options.norm == "batch" and options.examples < 2:  # batch statistics need two rows
        raise CommandError(
            f"--norm batch: batch norm needs at least 2 examples, got --examples {options.examples}"
        )
    with staged_output(options.out) as output:
        result = residual_experiment(
            options.blocks, options.width, options.examples, options.activation, options.norm, options.seed
        )
        network = (
            f"{options.blocks} blocks of Linear({options.width}, {options.width})"
            + ("" if options.norm == "none" else f", {options.norm} norm")
            + f", {options.activation}; {options.examples} digits, seed {options.seed}"
        )
        say(f"Speed of learning ‖∂C/∂b‖ of each block's Linear at initialisation: {network}")
        say(block_table(result))
        say()
        say(by_length_summary(result))
        for flow, name, file_name in ((result.residual.flow, "with skips", RESIDUAL_FLOW_SVG),
                                      (result.plain.flow, "without skips", PLAIN_FLOW_SVG)):
            save_svg(draw_flow(flow, title=f"‖∂C/∂(block output)‖ {name}: {network}"),
                     output.path(file_name), timeout=DOT_TIMEOUT)
        plot_flows(
            [result.residual.flow, result.plain.flow], ["with skips (x + block(x))", "without skips"],
            output.path(BLOCK_SPEEDS_SVG), title=f"‖∂C/∂(block output)‖\n{network}", xlabel="block",
        )
        plot_by_length(result.by_length, output.path(BY_LENGTH_SVG),
                       title=f"∂C/∂b of the first layer by path length, with skips\n{network}")
        written = output.commit()
    say()
    for path in written:
        say(f"wrote {path}")
    return 0


def block_table(result: ResidualExperiment) -> str:
    """Every k-th block's speed with and without skips, and their ratio."""
    blocks = result.blocks
    shown = sorted({round(k * (blocks - 1) / (TABLE_ROWS - 1)) for k in range(TABLE_ROWS)}) if blocks > TABLE_ROWS \
        else list(range(blocks))
    rows = []
    for i in shown:
        with_skips, without = result.residual.speeds[i], result.plain.speeds[i]
        ratio = with_skips / without if without > 0 else math.inf
        rows.append([str(i + 1), significant(with_skips), significant(without), significant(ratio)])
    lines = aligned_table(["block", "with skips", "without skips", "ratio"], rows)
    lines.append(
        f"block 1 against block {blocks}: {compared(result.plain.speeds)} without skips, "
        f"{compared(result.residual.speeds)} with them"
    )
    return "\n".join(lines)


def compared(speeds: np.ndarray) -> str:
    """'4.5e+12× slower' or '39× faster': block 1's speed against the last block's."""
    first, last = float(speeds[0]), float(speeds[-1])
    if first == 0 or last == 0:
        return "one of them does not learn at all"
    return f"{significant(last / first)}× slower" if last >= first else f"{significant(first / last)}× faster"


def by_length_summary(result: ResidualExperiment) -> str:
    """Where the paths are, and where the gradient is (Veit et al.'s ensemble of short paths)."""
    shares = result.by_length
    lengths, sizes = shares.lengths, shares.sizes
    counts = np.array([float(n) for n in shares.counts])
    shortest = int(lengths[0])
    per_block = (int(lengths[1]) - shortest) if len(lengths) > 1 else 2

    def taken(length: int) -> str:
        n = (length - shortest) // per_block
        return f"{n} block{'' if n == 1 else 's'}"

    most_paths, most_gradient = int(lengths[np.argmax(counts)]), int(lengths[np.argmax(sizes)])
    cumulative = np.cumsum(sizes) / sizes.sum()
    half = int(lengths[np.searchsorted(cumulative, 0.5)])
    return "\n".join([
        (f"∂C/∂b of the first layer, by path length (exact, {count(sum(shares.counts))} paths, "
         f"{len(shares)} lengths from {shortest} to {int(lengths[-1])} factors):"),
        f"  the most paths have length {most_paths} (through {taken(most_paths)} of {result.blocks});",
        f"  the most gradient comes from length {most_gradient} (through {taken(most_gradient)});",
        f"  half the sum over lengths of ‖Σ products‖ comes from paths through at most {taken(half)}.",
    ])


def run_recurrent(options: argparse.Namespace) -> int:
    """‖∂L/∂hₜ‖ through time for each network, the clipping step, and the SVGs."""
    from ..render import draw_flow, save_svg
    from ..render.curves import plot_flows

    with staged_output(options.out) as output:
        runs = recurrent_experiment(
            options.steps, options.hidden, options.radius, options.forget_bias, seed=options.seed
        )
        say(f"‖∂L/∂hₜ‖ (RNN) and ‖∂L/∂cₜ‖ (LSTM) back through time: T = {options.steps}, hidden "
            f"{options.hidden}, L = mean(h_T²), x ~ N(0, 1)")
        steps = options.steps
        shown = sorted({round(k * (steps - 1) / (TABLE_ROWS - 1)) for k in range(TABLE_ROWS)}) if steps > TABLE_ROWS \
            else list(range(steps))
        header = ["t"] + [short_name(run.name) for run in runs]
        rows = [[str(t + 1)] + [significant(float(run.flow.norms[t])) for run in runs] for t in shown]
        say("\n".join(aligned_table(header, rows)))
        say("ρ: spectral radius of the RNN's W_hh; f+B: the LSTM with B added to its forget-gate bias")
        say()
        exploding = max(options.radius)
        clipped = clipping_experiment(steps, options.hidden, exploding, options.lr, options.clip, seed=options.seed)
        say(f"One SGD step (η = {options.lr:g}) of the RNN with ρ = {exploding:g} on y = x₁ read from h_T:")
        rows = [
            ["none" if step.max_norm is None else f"‖g‖ ≤ {step.max_norm:g}", significant(step.gradient_norm),
             significant(step.step_norm), significant(step.loss_before), significant(step.loss_after)]
            for step in clipped
        ]
        say("\n".join(aligned_table(["clipping", "‖g‖", "‖Δθ‖", "L before", "L after"], rows, left={0})))
        for index, run in enumerate(runs, start=1):
            save_svg(draw_flow(run.flow, title=run.name), output.path(f"flow_{index}.svg"), timeout=DOT_TIMEOUT)
        plot_flows([run.flow for run in runs], [run.name for run in runs], output.path(THROUGH_TIME_SVG),
                   title=f"The gradient back through time, T = {steps}", xlabel="step t")
        written = output.commit()
    say()
    for path in written:
        say(f"wrote {path}")
    return 0


def short_name(name: str) -> str:
    """A column header: 'ρ=0.9' or 'LSTM f+3'."""
    if name.startswith("tanh RNN"):
        return "ρ=" + name.rsplit("= ", 1)[1]
    return "LSTM f+" + name.rsplit("+", 1)[1]
