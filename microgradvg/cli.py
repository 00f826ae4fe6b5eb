"""The `microgradvg` command: Nielsen's chapter 5 on real digits, offline, with SVGs.

`microgradvg vanishing` (the default) prints each hidden layer's speed of learning next to
the book's values and draws where the gradient fades; `microgradvg exploding` shows the
book's chain of factors of 25. Run `microgradvg --help` for the options and examples.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import os
import shutil
import sys
import tempfile
import textwrap
import traceback
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np

from .data import EMBEDDED_SIZE, DataError, load_embedded, load_mnist, one_hot
from .experiments import (
    ACTIVATIONS,
    COSTS,
    INITIALISATIONS,
    InitialSpeeds,
    Setup,
    exploding_network,
    first_layer_chain,
    speeds_at_initialisation,
    superscript,
    train,
)

PROG = "microgradvg"
COMMANDS = ("vanishing", "exploding")
DEFAULT_SIZES = "784,30,30,30,30,10"
DIGITS = 10  # the output layer has one neuron per digit
MAX_WEIGHTS = 20_000_000  # ~160 MB of float64: beyond this a laptop starts to swap
DOT_TIMEOUT = 60.0  # seconds; our pictures are small, so this only catches a hung `dot`
CHAIN_PATHS = 5  # paths drawn in the chain pictures

# File names inside --out.
LAYER_FLOW_SVG = "layer_flow.svg"
CHAIN_SVG = "chain_b1.svg"
TRAINING_SVG = "speed_during_training.svg"
EXPLODING_SVG = "exploding_chain.svg"

SLOPE_BOUNDS = {
    "sigmoid": "σ'(z) ≤ 1/4",
    "tanh": "tanh'(z) ≤ 1",
    "relu": "relu'(z) is 0 or 1",
}


class CommandError(Exception):
    """Bad input: `main` prints `microgradvg: error: <message>` and returns 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become one-line `CommandError`s instead of exits."""

    def error(self, message: str) -> NoReturn:
        raise CommandError(message)


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
        return options.run(options)
    except (CommandError, DataError) as error:
        return fail(str(error), 2)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except MemoryError:
        return fail("out of memory: try fewer --examples or smaller --sizes", 1)
    except Exception as error:  # noqa: BLE001 - one line, not a traceback, for the user
        if os.environ.get("MICROGRADVG_TRACEBACK"):
            traceback.print_exc()
        kind = getattr(type(error), "__name__", "error")
        if kind == "GraphvizNotFound" or isinstance(error, OSError):
            return fail(f"{error}", 1)
        return fail(f"{kind}: {error} (set MICROGRADVG_TRACEBACK=1 to see where)", 1)


def fail(message: str, status: int) -> int:
    """Print one `microgradvg: error:` line on stderr and return `status`."""
    first_line = " ".join(str(message).split())
    print(f"{PROG}: error: {first_line}", file=sys.stderr)
    return status


def say(text: object = "") -> None:
    """Print a line of the report; if stdout's reader has gone (`| head`), carry on silently.

    The run still finishes and writes its files; only the rest of the report is dropped.
    """
    try:
        print(text, flush=True)
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail again
        except (OSError, ValueError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process exits


def with_default_command(arguments: list[str]) -> list[str]:
    """`arguments` with `vanishing` in front when they name no command."""
    if not arguments:
        return ["vanishing"]
    first = arguments[0]
    if first in COMMANDS or first in ("-h", "--help", "--version"):
        return arguments
    if not first.startswith("-"):
        raise CommandError(f"unknown command {first!r} (choose from {', '.join(COMMANDS)})")
    return ["vanishing", *arguments]


# ---- argument parsing -------------------------------------------------------------------

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

MAIN_EXAMPLES = f"""\
Without a command, microgradvg runs `vanishing`. `microgradvg COMMAND --help` lists
each command's options.

{VANISHING_EXAMPLES}  # the exploding-gradient chain
  microgradvg exploding --out out/
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
        "--activation", choices=ACTIVATIONS, default="sigmoid",
        help="hidden-layer activation; the output layer stays sigmoid (default %(default)s)",
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
        "--seeds", type=positive_int, default=5, metavar="N",
        help="also report the median over seeds SEED … SEED+N-1 (default %(default)s)",
    )
    vanishing.add_argument(
        "--examples", type=positive_int, default=1000, metavar="N",
        help="average the gradient over the first N images (default %(default)s; the embedded "
        f"sample has {EMBEDDED_SIZE})",
    )
    vanishing.add_argument(
        "--data", type=Path, default=None, metavar="PATH",
        help="MNIST file instead of the embedded sample: *.npz with images and labels, "
        "Nielsen's mnist.pkl.gz, or train-images-idx3-ubyte[.gz] with its labels file next to it",
    )
    vanishing.add_argument(
        "--epochs", type=positive_int, default=None, metavar="N",
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
    vanishing.set_defaults(run=run_vanishing)

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
        "--layers", type=positive_int, default=4, metavar="N",
        help="number of neurons, one per layer (default %(default)s, as in the book)",
    )
    exploding.add_argument(
        "--weight", type=finite_float, default=100.0, metavar="W",
        help="every weight (default %(default)s; try 1 to see the gradient vanish)",
    )
    _add_out(exploding)
    exploding.set_defaults(run=run_exploding)
    return parser


def _add_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("out"), metavar="DIR",
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


# ---- output that appears all at once ------------------------------------------------------


class StagedOutput:
    """Files for `--out DIR`, written to a hidden directory beside it and moved in on `commit()`.

    If anything fails before `commit()`, the staging directory is deleted and DIR is left
    as it was (not even created), so a failed run never leaves half-written files.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out}: exists and is not a directory")
        anchor = out.absolute().parent
        while not anchor.exists():  # the nearest existing ancestor: same file system as DIR
            anchor = anchor.parent
        if not anchor.is_dir():
            raise CommandError(f"--out {out}: {anchor} is not a directory")
        try:
            self.staging = Path(tempfile.mkdtemp(prefix=f".{PROG}-", dir=anchor))
        except OSError as error:
            raise CommandError(f"--out {out}: cannot write in {anchor} ({error.strerror})") from None

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


# ---- microgradvg vanishing ---------------------------------------------------------------


def run_vanishing(options: argparse.Namespace) -> int:
    """The main job: speeds at initialisation, pictures, and optionally training."""
    from .render import draw_chain, draw_layers, save_svg

    setup = Setup(
        sizes=options.sizes, activation=options.activation, init=options.init, cost=options.cost
    )
    seeds = list(range(options.seed, options.seed + options.seeds))
    with staged_output(options.out) as output:
        images, labels, source = load_examples(options.data, options.examples)
        check_sizes(setup.sizes, images)
        targets = one_hot(labels, DIGITS)  # (N, 10)

        speeds = speeds_at_initialisation(setup, images, targets, seeds)
        say(speed_report(speeds, source, len(images)))

        model = setup.build(options.seed)  # the same weights as the flow of the first seed
        chain = first_layer_chain(model, setup, images[0], targets[0])
        say()
        say(f"Where it fades: the factors of ∂Cₓ/∂b¹ for the first image (seed {options.seed}); "
              "each layer back is a σ'(zˡ) and a W factor, and their gains multiply.")
        say(chain)

        network = f"{list(setup.sizes)}, {_describe(setup)}, seed {options.seed}"
        layers = draw_layers(speeds.flow, input_size=setup.sizes[0], title=network)
        save_svg(layers, output.path(LAYER_FLOW_SVG), timeout=DOT_TIMEOUT)
        title = f"∂Cₓ/∂b¹ for the first image as a chain of factors: {network}"
        save_svg(draw_chain(chain, k=CHAIN_PATHS, title=title), output.path(CHAIN_SVG), timeout=DOT_TIMEOUT)

        if options.epochs:
            from .plots import plot_speeds_during_training

            record = train(
                model, setup, images, targets, options.epochs, options.lr,
                progress=lambda epochs: _progress(epochs, options.epochs, options.quiet),
            )
            hidden = setup.hidden_layers
            history = np.asarray(record["speed_bias"])[:, :hidden]  # (epochs + 1, hidden)
            say()
            say(training_report(history, options.epochs, options.lr))
            plot_speeds_during_training(
                record["epochs"], history, output.path(TRAINING_SVG),
                title=f"Speed of learning during training\n{list(setup.sizes)}: {_describe(setup)},"
                f"\nfull-batch gradient descent on {len(images)} images, η = {options.lr:g}",
            )
        written = output.commit()
    say()
    for path in written:
        say(f"wrote {path}")
    return 0


def load_examples(path: Path | None, count: int) -> tuple[np.ndarray, np.ndarray, str]:
    """The first `count` images (N, 784) and labels (N,) and a phrase naming their source."""
    if path is None:
        if count > EMBEDDED_SIZE:
            raise CommandError(
                f"--examples {count}: the embedded sample has {EMBEDDED_SIZE} images; "
                "use --data PATH for more"
            )
        images, labels = load_embedded(count)
        return images, labels, "the embedded MNIST sample"
    images, labels = load_mnist(path)
    if count > len(images):
        raise CommandError(f"--examples {count}: {path} has only {len(images)} images")
    return images[:count], labels[:count], str(path)


def check_sizes(sizes: Sequence[int], images: np.ndarray) -> None:
    """A CommandError unless the network's input fits the images and its output the digits."""
    shown = ",".join(map(str, sizes))
    if sizes[0] != images.shape[1]:
        raise CommandError(
            f"--sizes {shown}: the input layer has {sizes[0]} neurons but the images have "
            f"{images.shape[1]} pixels; start the sizes with {images.shape[1]}"
        )
    if sizes[-1] != DIGITS:
        raise CommandError(
            f"--sizes {shown}: the output layer has {sizes[-1]} neurons but there are "
            f"{DIGITS} digits; end the sizes with {DIGITS}"
        )


def speed_report(speeds: InitialSpeeds, source: str, count: int) -> str:
    """The table of speeds per hidden layer, the book's values, and one line explaining them.

    Columns: ‖∂C/∂bˡ‖ for the first seed and the median over all seeds, the book's value,
    and for the first seed the mean slope f'(zˡ) and the gain ‖∂C/∂bˡ‖/‖∂C/∂bˡ⁺¹‖.
    """
    setup = speeds.setup
    first, last = speeds.seeds[0], speeds.seeds[-1]
    seed_range = f"seed {first}" if first == last else f"seeds {first}–{last}"
    slope = "σ'" if setup.activation == "sigmoid" else f"{setup.activation}'"
    book = speeds.book
    header = [
        "hidden layer", "neurons", f"‖∂C/∂bˡ‖ seed {first}", f"median, {seed_range}", "book",
        f"mean {slope}(zˡ)", "gain l+1→l",
    ]
    rows = [
        [
            str(index + 1), str(stats.size), f"{mine:.4g}", f"{median:.4g}",
            book[index] if book else "–", f"{stats.slope_mean:.3f}",
            "–" if stats.gain is None else f"{stats.gain:.3f}",
        ]
        for index, (stats, mine, median) in enumerate(
            zip(speeds.hidden_stats, speeds.first_seed, speeds.median)
        )
    ]
    lines = [
        f"Speed of learning at initialisation: ‖∂C/∂bˡ‖, C averaged over {count} images of {source}",
        f"network {list(setup.sizes)}: {_describe(setup)}",
        "",
        *_table(header, rows),
        "",
        explanation(speeds.median, setup.activation),
    ]
    if book is None:
        lines.append("(The book gives values only for 784,30,30,10, 784,30,30,30,10 and "
                     "784,30,30,30,30,10.)")
    elif setup != Setup(sizes=setup.sizes):
        lines.append(f"(The book's values are for {_describe(Setup(sizes=setup.sizes))}.)")
    return "\n".join(lines)


def explanation(speeds: np.ndarray, activation: str) -> str:
    """One sentence comparing the first and the last hidden layer's speeds."""
    if len(speeds) < 2:
        return "One hidden layer: nothing to compare it with; try --sizes 784,30,30,30,30,10."
    first, last = float(speeds[0]), float(speeds[-1])
    if not (first > 0 and last > 0 and math.isfinite(first) and math.isfinite(last)):
        return f"The first hidden layer's speed is {first:.3g}, the last's {last:.3g}."
    ratio = last / first
    both = f"({first:.3g} vs {last:.3g}, medians)"
    why = f"each layer back multiplies the gradient by {SLOPE_BOUNDS[activation]} and by a weight matrix"
    if ratio >= 2:
        return (f"The first hidden layer learns {_times(ratio)} more slowly than the last {both}: "
                f"{why}, so the gradient vanishes on its way back.")
    if ratio <= 0.5:
        return (f"The first hidden layer learns {_times(1 / ratio)} faster than the last {both}: "
                f"{why}, and here the gradient grows on its way back.")
    return (f"The first and last hidden layers learn at similar speeds {both}, within a factor "
            f"{_times(max(ratio, 1 / ratio))}: the gradient neither vanishes nor explodes.")


def _times(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.2g}×"


def training_report(history: np.ndarray, epochs: int, lr: float) -> str:
    """Speeds per hidden layer before and after training."""
    header = ["hidden layer", "epoch 0", f"epoch {epochs}"]
    rows = [[str(layer + 1), f"{history[0, layer]:.4g}", f"{history[-1, layer]:.4g}"]
            for layer in range(history.shape[1])]
    title = f"Speed of learning during {epochs} epochs of full-batch gradient descent, η = {lr:g}:"
    return "\n".join([title, "", *_table(header, rows)])


def _describe(setup: Setup) -> str:
    return f"{setup.activation} hidden layers, {setup.init} init, {setup.cost} cost"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.rjust(width) for cell, width in zip(row, widths)).rstrip()
            for row in [header, *rows]]


def _progress(epochs: Iterable[int], total: int, quiet: bool) -> Iterable[int]:
    from tqdm import tqdm

    return tqdm(epochs, total=total, desc="training", unit="epoch", file=sys.stderr,
                disable=quiet or not sys.stderr.isatty(), leave=False)


# ---- microgradvg exploding ---------------------------------------------------------------


def run_exploding(options: argparse.Namespace) -> int:
    """The book's exploding-gradient network: its chain table and picture."""
    from .chain import chain
    from .render import draw_chain, save_svg

    with staged_output(options.out) as output:
        cost, bias = exploding_network(options.layers, options.weight)
        cost.backward()
        factors = chain(cost, bias)
        each = options.weight / 4
        say(
            f"Nielsen's exploding gradient: {options.layers} sigmoid neurons in a row, every "
            f"w = {options.weight:g}, biases chosen so every z = 0 and σ'(z) = 1/4."
        )
        say(f"So each layer the gradient goes back through multiplies it by w·σ'(z) = {each:g}.")
        say()
        say(factors)
        say()
        # Every z is 0, so σ'(z¹) = 1/4 and ∂C/∂aᴸ = aᴸ − y = σ(0) − 0 = 1/2.
        last, steps = superscript(options.layers), superscript(options.layers - 1)
        say(f"∂C/∂b¹ = {bias.grad:.6g} = σ'(z¹)·(w·σ'(z)){steps}·∂C/∂a{last} = (1/4)·{each:g}{steps}·(1/2)")
        title = f"Nielsen's exploding gradient: every w·σ'(z) = {options.weight:g} · 1/4 = {each:g}"
        save_svg(draw_chain(factors, k=CHAIN_PATHS, title=title), output.path(EXPLODING_SVG), timeout=DOT_TIMEOUT)
        written = output.commit()
    say()
    for path in written:
        say(f"wrote {path}")
    return 0

