"""What `microgradvg vanishing`, `exploding` and `diagnose` do, given their parsed options.

Each computes with `microgradvg.experiments`, prints its report, and writes its SVGs
through a `StagedOutput`, so `--out` receives every file or none.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from ..data import EMBEDDED_SIZE, load_embedded, load_mnist, one_hot
from ..experiments import (
    Setup,
    TrainingDiverged,
    exploding_network,
    first_layer_chain,
    speeds_at_initialisation,
    superscript,
    train,
    train_monitored,
)
from ..nn.activations import slope_symbol
from .deep_commands import run_recurrent, run_residual
from .options import (
    CHAIN_SVG,
    DASHBOARD_SVG,
    DEFAULT_EXAMPLES,
    DIAGNOSIS_AFTER_SVG,
    DIAGNOSIS_SVG,
    EXPLODING_SVG,
    LAYER_FLOW_SVG,
    TRAINING_SVG,
    CommandError,
)
from .report import describe, say, sizes_text, speed_report, training_report
from .staging import staged_output

DIGITS = 10  # the output layer has one neuron per digit
DOT_TIMEOUT = 60.0  # seconds; our pictures are small, so this only catches a hung `dot`
CHAIN_PATHS = 5  # paths highlighted in the chain pictures


def run_vanishing(options: argparse.Namespace) -> int:
    """The main job: speeds at initialisation, pictures, and optionally training."""
    from ..render import draw_chain, draw_layers, save_svg

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
        # One image, not the whole batch: its Jacobians are 30 × 30, cheap to show and draw.
        chain = first_layer_chain(model, setup, images[0], targets[0])
        say()
        say(f"Where it fades: the factors of ∂Cₓ/∂b¹ for the first image (seed {options.seed});\n"
            f"each layer back is a {slope_symbol([setup.activation])}(zˡ) and a W factor, "
            "and their gains multiply.")
        say(chain)

        network = f"{sizes_text(setup.sizes)}, {describe(setup)}, seed {options.seed}"
        layers = draw_layers(speeds.flow, input_size=setup.sizes[0], title=network)
        save_svg(layers, output.path(LAYER_FLOW_SVG), timeout=DOT_TIMEOUT)
        title = f"∂Cₓ/∂b¹ for the first image as a chain of factors: {network}"
        picture = draw_chain(chain, k=CHAIN_PATHS, title=title)
        save_svg(picture, output.path(CHAIN_SVG), timeout=DOT_TIMEOUT)

        if options.epochs:
            from ..render.plots import plot_speeds_during_training

            try:
                record = train(
                    model, setup, images, targets, options.epochs, options.lr,
                    progress=progress_bar(options.epochs, options.quiet),
                )
            except TrainingDiverged as error:
                raise CommandError(f"--lr {options.lr:g}: {error}; try a smaller --lr") from None
            history = np.asarray(record["speed_bias"])[:, : setup.hidden_layers]  # (epochs + 1, hidden)
            say()
            say(training_report(history, options.epochs, options.lr))
            plot_speeds_during_training(
                record["epochs"], history, output.path(TRAINING_SVG),
                title=f"Speed of learning during training\n{sizes_text(setup.sizes)}: {describe(setup)},"
                f"\nfull-batch gradient descent on {len(images)} images, η = {options.lr:g}",
            )
        written = output.commit()
    say()
    for path in written:
        say(f"wrote {path}")
    return 0


def run_exploding(options: argparse.Namespace) -> int:
    """The book's exploding-gradient network: its chain table and picture."""
    from ..inspection.chain import chain
    from ..render import draw_chain, save_svg

    with staged_output(options.out) as output:
        cost, bias = exploding_network(options.layers, options.weight)
        cost.backward()
        factors = chain(cost, bias)
        each = options.weight / 4
        say(f"Nielsen's exploding gradient: {options.layers} sigmoid neurons in a row, every "
            f"w = {options.weight:g},\nbiases chosen so every z = 0 and σ'(z) = 1/4.")
        say(f"So each layer the gradient goes back through multiplies it by w·σ'(z) = {each:g}.")
        say()
        say(factors)
        say()
        # Every z is 0, so σ'(z¹) = 1/4 and ∂C/∂aᴸ = aᴸ − y = σ(0) − 0 = 1/2.
        last, steps = superscript(options.layers), superscript(options.layers - 1)
        say(f"∂C/∂b¹ = {bias.grad:.6g} = σ'(z¹)·(w·σ'(z)){steps}·∂C/∂a{last} "
            f"= (1/4)·{each:g}{steps}·(1/2)")
        title = f"Nielsen's exploding gradient: every w·σ'(z) = {options.weight:g} · 1/4 = {each:g}"
        picture = draw_chain(factors, k=CHAIN_PATHS, title=title)
        save_svg(picture, output.path(EXPLODING_SVG), timeout=DOT_TIMEOUT)
        written = output.commit()
    say()
    for path in written:
        say(f"wrote {path}")
    return 0


def run_diagnose(options: argparse.Namespace) -> int:
    """Diagnose a network (from --weights, else Nielsen's at initialisation); optionally train."""
    from ..flow.diagnose import diagnose
    from ..nn.tensor import TensorMLP
    from ..nn.weights import load_weights
    from ..render import draw_diagnosis, save_svg

    with staged_output(options.out) as output:
        images, labels, source = load_examples(options.data, options.examples)
        if options.weights is None:
            model = TensorMLP(  # Nielsen's network, in the activations the user asked for
                Setup().sizes, activation=options.activation or "sigmoid",
                output_activation=options.output_activation or "sigmoid", seed=options.seed,
            )
            name = f"Nielsen's {sizes_text(model.sizes)} at initialisation (seed {options.seed})"
        else:
            model = load_weights(options.weights, options.activation, options.output_activation)
            name = f"{options.weights} {sizes_text(model.sizes)}"
        check_network(model.sizes, images, "--weights" if options.weights else "the network")
        cost = options.cost
        if cost == "auto":
            output_activation = model.activation_of(len(model.layers))
            cost = {"sigmoid": "cross_entropy", "linear": "softmax_cross_entropy"}.get(
                output_activation, "quadratic"
            )
        described = f"{name}: {model.activation} hidden layers, {model.output_activation} output"
        say(f"Diagnosis of {name}")
        say(f"{model.activation} hidden layers, {model.output_activation} output; "
            f"{len(images)} images of {source}")
        say()
        try:
            found = diagnose(model, images, labels, cost=cost, lr=options.lr)
        except ValueError as error:  # a cost that does not fit the output layer
            raise CommandError(f"--cost {cost}: {error}") from None
        say(found)
        save_svg(draw_diagnosis(found, title=described), output.path(DIAGNOSIS_SVG),
                 timeout=DOT_TIMEOUT)
        if options.epochs:
            from ..render.plots import plot_training

            try:
                monitor = train_monitored(
                    model, images, labels, options.epochs, options.lr, cost,
                    progress=progress_bar(options.epochs, options.quiet),
                )
            except TrainingDiverged as error:
                raise CommandError(f"--lr {options.lr:g}: {error}; try a smaller --lr") from None
            arrays = monitor.as_arrays()
            plot_training(
                arrays, output.path(DASHBOARD_SVG),
                title=f"{name}\n{model.activation} hidden layers, {model.output_activation} "
                f"output, full-batch gradient descent on {len(images)} images, η = {options.lr:g}",
            )
            after = diagnose(model, images, labels, cost=cost, lr=options.lr)
            say()
            say(f"After {options.epochs} epochs of full-batch gradient descent, η = {options.lr:g}:")
            say()
            say(after)
            title = f"{described}, after {options.epochs} epochs"
            save_svg(draw_diagnosis(after, title=title), output.path(DIAGNOSIS_AFTER_SVG),
                     timeout=DOT_TIMEOUT)
        written = output.commit()
    say()
    for path in written:
        say(f"wrote {path}")
    return 0


RUNNERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "vanishing": run_vanishing,
    "exploding": run_exploding,
    "diagnose": run_diagnose,
    "residual": run_residual,
    "recurrent": run_recurrent,
}


def load_examples(path: Path | None, count: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The first `count` images (N, 784) and labels (N,) and a phrase naming their source;
    `count` None: all of them, up to DEFAULT_EXAMPLES."""
    if path is None:
        count = DEFAULT_EXAMPLES if count is None else count
        if count > EMBEDDED_SIZE:
            raise CommandError(
                f"--examples {count}: the embedded sample has {EMBEDDED_SIZE} images; "
                "use --data PATH for more"
            )
        images, labels = load_embedded(count)
        return images, labels, "the embedded MNIST sample"
    images, labels = load_mnist(path)
    if count is None:
        count = min(len(images), DEFAULT_EXAMPLES)
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


def check_network(sizes: Sequence[int], images: np.ndarray, what: str) -> None:
    """A CommandError unless the network takes the images' pixels and answers the 10 digits."""
    if sizes[0] != images.shape[1]:
        raise CommandError(
            f"{what}: the network takes {sizes[0]} inputs but the images have "
            f"{images.shape[1]} pixels"
        )
    if sizes[-1] != DIGITS:
        raise CommandError(
            f"{what}: the network has {sizes[-1]} outputs but there are {DIGITS} digits"
        )


def progress_bar(total: int, quiet: bool) -> Callable[[Iterable[int]], Iterable[int]]:
    """Wraps the epoch loop in a tqdm bar on stderr, drawn only on a terminal and not `quiet`."""
    from tqdm import tqdm

    def wrap(epochs: Iterable[int]) -> Iterable[int]:
        return tqdm(epochs, total=total, desc="training", unit="epoch", file=sys.stderr,
                    disable=quiet or not sys.stderr.isatty(), leave=False)

    return wrap
