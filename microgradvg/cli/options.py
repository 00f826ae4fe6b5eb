"""The command line of `microgradvg`: its commands, options, help text and examples.

`build_parser()` returns the argparse parser; its errors raise `CommandError` (one line,
exit status 2) instead of printing usage and exiting, so `main` decides how to report them.
"""

from __future__ import annotations

import argparse
import itertools
import math
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from ..data import EMBEDDED_SIZE
from ..experiments import ACTIVATIONS, COSTS, INITIALISATIONS
from ..nn.activations import ACTIVATIONS as NETWORK_ACTIVATIONS
from ..nn.costs import COSTS as NETWORK_COSTS

PROG = "microgradvg"
COMMANDS = ("vanishing", "exploding", "diagnose", "residual", "recurrent")  # the first is the default
DEFAULT_SIZES = "784,30,30,30,30,10"
DEFAULT_EXAMPLES = 1000  # images averaged over when --examples is not given (all, if fewer)
MAX_WEIGHTS = 20_000_000  # ~160 MB of float64: beyond this a laptop starts to swap
MAX_EPOCHS = 10_000  # full-batch epochs: 50 take ~2 s, so this bounds a run to minutes

# File names inside --out.
LAYER_FLOW_SVG = "layer_flow.svg"
CHAIN_SVG = "chain_b1.svg"
TRAINING_SVG = "speed_during_training.svg"
EXPLODING_SVG = "exploding_chain.svg"
DIAGNOSIS_SVG = "diagnosis.svg"
DIAGNOSIS_AFTER_SVG = "diagnosis_after_training.svg"
DASHBOARD_SVG = "training.svg"
RESIDUAL_FLOW_SVG = "residual_flow.svg"
PLAIN_FLOW_SVG = "plain_flow.svg"
BLOCK_SPEEDS_SVG = "speed_per_block.svg"
BY_LENGTH_SVG = "paths_by_length.svg"
THROUGH_TIME_SVG = "through_time.svg"
# The largest runs each command accepts: at these bounds each takes well under 30 s of CPU.
MAX_BLOCKS, MAX_WIDTH, MAX_RESIDUAL_EXAMPLES = 60, 64, 500
MAX_STEPS, MAX_HIDDEN, MAX_RADII = 200, 64, 4
MAX_SEEDS = 100  # a median over 100 seeds is settled; each seed is a full gradient
MAX_LAYERS = 100_000  # the chain's graph takes ~4 KB a layer: 100,000 layers is ~0.4 GB, 8 s


class CommandError(Exception):
    """Bad input: `main` prints `microgradvg: error: <message>` and returns 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become one-line `CommandError`s instead of exits."""

    def error(self, message: str) -> NoReturn:
        raise CommandError(message)


VANISHING_EXAMPLES = """\
examples:
  # Nielsen's [784, 30, 30, 30, 30, 10] on the embedded digits; SVGs in out/
  microgradvg
  # two hidden layers, the first network of the book's table
  microgradvg vanishing --sizes 784,30,30,10
  # the remedy: ReLU with He's initialisation, to compare with the default
  microgradvg vanishing --activation relu --init he --out out/relu
  # train 30 epochs and plot each layer's speed of learning per epoch
  microgradvg vanishing --sizes 784,30,30,10 --epochs 30 --out out/training
  # Nielsen's own data file, averaging over 5,000 of its images
  microgradvg vanishing --data mnist.pkl.gz --examples 5000 --seeds 3
"""

EXPLODING_EXAMPLES = """\
examples:
  # the book's four neurons with w = 100: every factor w·σ'(z) is 25
  microgradvg exploding
  # six neurons: ∂C/∂b¹ = (1/4)·25⁵·∂C/∂a⁶
  microgradvg exploding --layers 6 --out out/exploding
  # small weights instead: every factor is 1/4 and the gradient vanishes
  microgradvg exploding --weight 1
"""

DIAGNOSE_EXAMPLES = """\
examples:
  # Nielsen's [784, 30, 30, 30, 30, 10] at initialisation on the embedded digits
  microgradvg diagnose
  # your own network: L1.W, L1.b, … or a PyTorch nn.Sequential state_dict saved with numpy
  microgradvg diagnose --weights mlp.npz --activation relu --output-activation linear
  # train 20 epochs, then diagnose again; the dashboard goes to out/training.svg
  microgradvg diagnose --epochs 20 --out out/diagnosis
"""

RESIDUAL_EXAMPLES = """\
examples:
  # 50 tanh blocks with skips against the same 50 without, on 200 embedded digits
  microgradvg residual
  # LayerNorm inside every block, SVGs in out/layernorm
  microgradvg residual --norm layer --out out/layernorm
  # a shallower, wider network of ReLU blocks
  microgradvg residual --blocks 20 --width 64 --activation relu
"""

RECURRENT_EXAMPLES = """\
examples:
  # tanh RNNs with ρ(W_hh) = 0.9 and 2 over 100 steps, two LSTMs, gradient clipping
  microgradvg recurrent
  # three radii, 200 steps
  microgradvg recurrent --radius 0.5,1,1.5 --steps 200 --out out/rnn
"""

MAIN_EXAMPLES = f"""\
Without a command, microgradvg runs `vanishing`. `microgradvg COMMAND --help` lists
each command's options.

{VANISHING_EXAMPLES}  # the exploding-gradient chain
  microgradvg exploding --out out/
  # converged, or just vanishing? each layer of your own network, with a verdict
  microgradvg diagnose --weights mlp.npz --out out/
  # skip connections: 50 residual blocks against 50 plain ones, the gradient by path length
  microgradvg residual --out out/
  # vanishing and exploding through time: tanh RNNs, an LSTM, gradient clipping
  microgradvg recurrent --out out/
"""


def _paragraph(text: str) -> str:
    """`text` wrapped to 79 columns (raw-description help keeps our line breaks elsewhere)."""
    return textwrap.fill(" ".join(text.split()), 79)


def build_parser() -> argparse.ArgumentParser:
    """The parser for `microgradvg [vanishing|exploding] [options]`."""
    parser = _Parser(
        prog=PROG,
        description=_paragraph(
            "Make the vanishing gradient problem of Nielsen's 'Neural Networks and Deep "
            "Learning', chapter 5, visible: speeds of learning per layer, the chain-rule "
            "factors behind them, and SVG pictures. Runs offline on 1,000 embedded MNIST digits."
        ),
        epilog=MAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")

    vanishing = commands.add_parser(
        "vanishing",
        help="speed of learning per hidden layer at initialisation (and during training)",
        description=_paragraph(
            "Build Nielsen's MNIST network, print each hidden layer's speed of learning "
            "‖∂C/∂bˡ‖ at initialisation (C averaged over the images) next to the book's "
            "values and the median over several seeds, and write SVGs to --out: the layer "
            f"flow ({LAYER_FLOW_SVG}), the chain of factors behind ∂Cₓ/∂b¹ for the first "
            f"image ({CHAIN_SVG}) and, with --epochs, the speeds during training "
            f"({TRAINING_SVG})."
        ),
        epilog=VANISHING_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    vanishing.add_argument(
        "--sizes", type=layer_sizes, default=layer_sizes(DEFAULT_SIZES), metavar="N,N,…",
        help=f"layer sizes from input to output, e.g. 784,30,30,10 (default {DEFAULT_SIZES}); "
        "the input must match the images' 784 pixels and the output the 10 digits",
    )
    vanishing.add_argument(
        "--activation", type=str.lower, choices=ACTIVATIONS, default="sigmoid",
        help="hidden-layer activation, in any case; the output layer stays sigmoid "
        "(default %(default)s)",
    )
    vanishing.add_argument(
        "--init", choices=INITIALISATIONS, default="nielsen",
        help="weight initialisation: nielsen = N(0, 1/n_in) weights and N(0, 1) biases, "
        "nielsen_large = N(0, 1) for both, xavier, he (default %(default)s)",
    )
    vanishing.add_argument(
        "--cost", choices=tuple(COSTS), default="cross_entropy",
        help="Nielsen's cross-entropy or quadratic cost (default %(default)s)",
    )
    vanishing.add_argument(
        "--seed", type=non_negative_int, default=0, metavar="N",
        help="seed of the network's weights, e.g. 3 (default %(default)s)",
    )
    vanishing.add_argument(
        "--seeds", type=bounded_int(MAX_SEEDS), default=5, metavar="N",
        help=f"also report the median over seeds SEED … SEED+N-1, at most {MAX_SEEDS} "
        "(default %(default)s)",
    )
    vanishing.add_argument(
        "--examples", type=positive_int, default=None, metavar="N",
        help=f"average the gradient over the first N images (default: all, up to "
        f"{DEFAULT_EXAMPLES}; the embedded sample has {EMBEDDED_SIZE})",
    )
    vanishing.add_argument(
        "--data", type=Path, default=None, metavar="PATH",
        help="MNIST file instead of the embedded sample: *.npz with images and labels, "
        "Nielsen's mnist.pkl.gz, or train-images-idx3-ubyte[.gz] with its labels file next to it",
    )
    vanishing.add_argument(
        "--epochs", type=bounded_int(MAX_EPOCHS), default=None, metavar="N",
        help="train N epochs of full-batch gradient descent on the images and plot each "
        "layer's speed per epoch, e.g. --epochs 30 (default: no training)",
    )
    vanishing.add_argument(
        "--lr", type=positive_float, default=0.1, metavar="η",
        help="learning rate η of the training (default %(default)s, as in the book)",
    )
    _add_out(vanishing)
    vanishing.add_argument(
        "--quiet", action="store_true", help="no progress bar while training",
    )

    exploding = commands.add_parser(
        "exploding",
        help="the book's exploding gradient: one neuron per layer, w = 100, factors of 25",
        description=_paragraph(
            "Build Nielsen's chain of single sigmoid neurons with every weight w and every "
            "bias chosen so that z = 0, hence σ'(z) = 1/4 and every factor w·σ'(z) = w/4; "
            f"print the chain of factors of ∂C/∂b¹ and write its picture ({EXPLODING_SVG})."
        ),
        epilog=EXPLODING_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    exploding.add_argument(
        "--layers", type=bounded_int(MAX_LAYERS), default=4, metavar="N",
        help=f"number of neurons, one per layer, at most {MAX_LAYERS:,} (default %(default)s, "
        "as in the book)",
    )
    exploding.add_argument(
        "--weight", type=finite_float, default=100.0, metavar="W",
        help="every weight (default %(default)s; try 1 to see the gradient vanish)",
    )
    _add_out(exploding)
    _add_diagnose(commands)
    _add_residual(commands)
    _add_recurrent(commands)
    return parser


def _add_diagnose(commands: argparse._SubParsersAction) -> None:
    """The `diagnose` command's options."""
    diagnose = commands.add_parser(
        "diagnose",
        help="converged, or just vanishing? each layer's measurements and verdict",
        description=_paragraph(
            "Diagnose a network on MNIST digits: for each layer its speed ‖∂C/∂bˡ‖, the "
            "update ratio η‖∂C/∂Wˡ‖/‖Wˡ‖, the share of saturated units, the curvature along "
            "its gradient and a line search, and a verdict (vanishing, exploding, saturated, "
            "near a minimum, healthy). Without --weights, Nielsen's network at initialisation. "
            f"Writes {DIAGNOSIS_SVG}; with --epochs, trains, writes the dashboard "
            f"({DASHBOARD_SVG}) and diagnoses again ({DIAGNOSIS_AFTER_SVG})."
        ),
        epilog=DIAGNOSE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    diagnose.add_argument(
        "--weights", type=Path, default=None, metavar="W.npz",
        help="the network's weights: L1.W, L1.b, … (save_weights) or a PyTorch nn.Sequential "
        "state_dict saved with numpy (0.weight, 0.bias, …); default: Nielsen's "
        f"{DEFAULT_SIZES} at initialisation",
    )
    diagnose.add_argument(
        "--activation", type=str.lower, choices=tuple(NETWORK_ACTIVATIONS), default=None,
        help="hidden-layer activation (default: as stored in the file, else sigmoid)",
    )
    diagnose.add_argument(
        "--output-activation", type=str.lower, choices=tuple(NETWORK_ACTIVATIONS), default=None,
        help="output-layer activation (default: as stored, else the hidden one; "
        "use linear for a PyTorch network that outputs logits)",
    )
    diagnose.add_argument(
        "--cost", choices=(*NETWORK_COSTS, "auto"), default="auto",
        help="the cost C; auto: cross_entropy for a sigmoid output, softmax_cross_entropy for "
        "a linear one, else quadratic (default %(default)s)",
    )
    diagnose.add_argument(
        "--data", type=Path, default=None, metavar="PATH",
        help="MNIST file instead of the embedded sample (as for vanishing)",
    )
    diagnose.add_argument(
        "--examples", type=positive_int, default=None, metavar="N",
        help=f"diagnose on the first N images (default: all, up to {DEFAULT_EXAMPLES}; the "
        f"embedded sample has {EMBEDDED_SIZE})",
    )
    diagnose.add_argument(
        "--lr", type=positive_float, default=0.1, metavar="η",
        help="learning rate η of the update ratios and of the training (default %(default)s)",
    )
    diagnose.add_argument(
        "--seed", type=non_negative_int, default=0, metavar="N",
        help="seed of Nielsen's network when there is no --weights (default %(default)s)",
    )
    diagnose.add_argument(
        "--epochs", type=bounded_int(MAX_EPOCHS), default=None, metavar="N",
        help="train N epochs of full-batch gradient descent, draw the dashboard, diagnose "
        "again (default: no training)",
    )
    _add_out(diagnose)
    diagnose.add_argument("--quiet", action="store_true", help="no progress bar while training")


def _add_residual(commands: argparse._SubParsersAction) -> None:
    """The `residual` command's options."""
    residual = commands.add_parser(
        "residual",
        help="skip connections: a deep residual MLP against a plain one, gradient by path length",
        description=_paragraph(
            "Build a deep MLP of tanh blocks (Linear, optional norm, activation) on the embedded "
            "digits, once with a skip around every block (x + block(x)) and once without; print "
            "each block's speed of learning ‖∂C/∂b‖ at initialisation in both, and the gradient "
            "of the first layer's bias split by path length, computed exactly (Veit et al. 2016). "
            f"Writes {RESIDUAL_FLOW_SVG}, {PLAIN_FLOW_SVG}, {BLOCK_SPEEDS_SVG} and {BY_LENGTH_SVG}."
        ),
        epilog=RESIDUAL_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    residual.add_argument(
        "--blocks", type=bounded_int(MAX_BLOCKS), default=50, metavar="N",
        help=f"number of blocks, at most {MAX_BLOCKS} (default %(default)s)",
    )
    residual.add_argument(
        "--width", type=bounded_int(MAX_WIDTH), default=30, metavar="N",
        help=f"neurons per block, at most {MAX_WIDTH} (default %(default)s)",
    )
    residual.add_argument(
        "--activation", choices=ACTIVATIONS, default="tanh", help="the blocks' activation (default %(default)s)",
    )
    residual.add_argument(
        "--norm", choices=("none", "layer", "batch"), default="none",
        help="LayerNorm or BatchNorm1d after each block's Linear (default %(default)s)",
    )
    residual.add_argument(
        "--examples", type=bounded_int(MAX_RESIDUAL_EXAMPLES), default=200, metavar="N",
        help=f"the first N embedded digits, at most {MAX_RESIDUAL_EXAMPLES} (default %(default)s)",
    )
    residual.add_argument(
        "--seed", type=non_negative_int, default=0, metavar="N", help="seed of the weights (default %(default)s)",
    )
    _add_out(residual)


def _add_recurrent(commands: argparse._SubParsersAction) -> None:
    """The `recurrent` command's options."""
    recurrent = commands.add_parser(
        "recurrent",
        help="vanishing and exploding through time: tanh RNNs, LSTMs and gradient clipping",
        description=_paragraph(
            "On a synthetic sequence x ~ N(0, 1) with the loss on the last hidden state, follow "
            "‖∂L/∂hₜ‖ back through time for tanh RNNs whose W_hh is scaled to each spectral "
            "radius (below 1 it vanishes, above 1 it explodes; Pascanu et al. 2013) and "
            "‖∂L/∂cₜ‖ for two LSTMs (forget-gate bias 0 and --forget-bias); then one SGD step "
            "of the exploding RNN with and without clipping the gradient's norm. Writes "
            f"{THROUGH_TIME_SVG} and one flow picture per network."
        ),
        epilog=RECURRENT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    recurrent.add_argument(
        "--steps", type=bounded_int(MAX_STEPS), default=100, metavar="T",
        help=f"sequence length, at most {MAX_STEPS} (default %(default)s)",
    )
    recurrent.add_argument(
        "--hidden", type=bounded_int(MAX_HIDDEN), default=32, metavar="H",
        help=f"hidden size, at most {MAX_HIDDEN} (default %(default)s)",
    )
    recurrent.add_argument(
        "--radius", type=radii, default=(0.9, 2.0), metavar="ρ,ρ,…",
        help=f"spectral radii of W_hh, comma-separated, at most {MAX_RADII}, each in (0, 10] "
        "(default 0.9,2)",
    )
    recurrent.add_argument(
        "--forget-bias", type=finite_float, default=3.0, metavar="B",
        help="added to the second LSTM's forget-gate bias (default %(default)s)",
    )
    recurrent.add_argument(
        "--clip", type=positive_float, default=1.0, metavar="N",
        help="max norm of the clipped gradient (default %(default)s)",
    )
    recurrent.add_argument(
        "--lr", type=positive_float, default=0.1, metavar="η", help="learning rate of the step (default %(default)s)",
    )
    recurrent.add_argument(
        "--seed", type=non_negative_int, default=0, metavar="N", help="seed of weights and data (default %(default)s)",
    )
    _add_out(recurrent)


def bounded_int(most: int) -> Callable[[str], int]:
    """A whole number in 1..most (argparse type)."""

    def parse(text: str) -> int:
        value = positive_int(text)
        if value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most}, got {value}")
        return value

    return parse


def radii(text: str) -> tuple[float, ...]:
    """'0.9,2' → (0.9, 2.0): one to MAX_RADII spectral radii in (0, 10] (argparse type)."""
    values = tuple(finite_float(part.strip()) for part in text.split(","))
    if not 1 <= len(values) <= MAX_RADII or not all(0 < v <= 10 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected one to {MAX_RADII} numbers in (0, 10] like 0.9,2, got {text!r}"
        )
    return values


def _add_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=directory, default=Path("out"), metavar="DIR",
        help="directory for the SVGs, created if needed; files appear only when all are "
        "written (default %(default)s), e.g. --out runs/relu",
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("microgradvg")
    except PackageNotFoundError:
        return "(not installed)"


def positive_int(text: str) -> int:
    """A whole number ≥ 1 (argparse type)."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """A whole number ≥ 0 (argparse type)."""
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def finite_float(text: str) -> float:
    """A finite real number (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (argparse type)."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def directory(text: str) -> Path:
    """A directory name, not empty (argparse type): "" would silently mean the current one."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"expected a directory name, got {text!r}; write . for the current directory"
        )
    return Path(text)


def layer_sizes(text: str) -> tuple[int, ...]:
    """'784,30,10' → (784, 30, 10): at least one hidden layer, every size ≥ 1 (argparse type)."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers like {DEFAULT_SIZES}, got {text!r}"
        )
    sizes = tuple(int(part) for part in parts)
    if len(sizes) < 3:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no hidden layer; give input, hidden and output sizes like 784,30,10"
        )
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"every layer needs at least 1 neuron, got {text!r}")
    weights = sum(a * b for a, b in itertools.pairwise(sizes))
    if weights > MAX_WEIGHTS:
        raise argparse.ArgumentTypeError(
            f"{text!r} has {weights:,} weights; at most {MAX_WEIGHTS:,} are supported"
        )
    return sizes
