"""Per-SGD-step time of the Tensor engine against hand-written numpy backprop, PyTorch and autograd.

    .venv/bin/python benchmarks/bench_tensor.py             # the table for benchmarks/README.md
    .venv/bin/python benchmarks/bench_tensor.py --quick     # fewer repetitions, for a smoke test

One process, one BLAS thread for everyone, the same initial weights and mini-batches of the
embedded MNIST sample for every implementation, steps timed round-robin; ratios are against
the hand-derived numpy backprop measured in the same run (the floor for any numpy engine).
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread for every library: set before numpy or torch loads its BLAS.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
for _name in THREAD_VARIABLES:
    os.environ[_name] = "1"

import argparse
import contextlib
import datetime
import gc
import importlib.metadata
import platform
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import microgradvg
from microgradvg import nn, optim
from microgradvg.data import load_embedded
from microgradvg.nn.init import initialiser, rng_from

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None  # type: ignore[assignment]
try:
    import autograd
    import autograd.numpy as anp
except ImportError:
    autograd = anp = None
try:
    import threadpoolctl
except ImportError:
    threadpoolctl = None

Gradients = list[np.ndarray]  # [∂C/∂W¹, ∂C/∂b¹, ∂C/∂W², …] as ndarrays


@dataclass(frozen=True)
class Workload:
    """A network, its mini-batch and dtype: hidden layers use `activation`, the output is logits."""

    name: str
    sizes: tuple[int, ...]
    activation: str  # "sigmoid" or "relu"
    batch: int
    dtype: Any
    init: str
    reps: int  # timed steps per implementation
    lr: float = 0.1

    @property
    def tolerance(self) -> float:
        """Largest accepted ‖g − g_numpy‖∞ / ‖g_numpy‖∞ on the first step."""
        return 1e-9 if self.dtype == np.float64 else 2e-4


WORKLOADS = (
    Workload(
        "Nielsen [784,30,30,30,10] sigmoid, batch 10, float64",
        (784, 30, 30, 30, 10),
        "sigmoid",
        10,
        np.float64,
        "nielsen",
        reps=3000,
    ),
    Workload(
        "Nielsen [784,30,30,30,10] sigmoid, batch 10, float32",
        (784, 30, 30, 30, 10),
        "sigmoid",
        10,
        np.float32,
        "nielsen",
        reps=3000,
    ),
    Workload(
        "wide [784,512,512,10] ReLU, batch 256, float32",
        (784, 512, 512, 10),
        "relu",
        256,
        np.float32,
        "he",
        reps=300,
    ),
)


def initial_parameters(workload: Workload, seed: int = 0) -> Gradients:
    """[W¹, b¹, W², b², …] in float64, W of shape (n_out, n_in) as in Nielsen's book."""
    rng = rng_from(seed)
    parameters: Gradients = []
    for n_in, n_out in zip(workload.sizes, workload.sizes[1:]):
        weight, bias = initialiser(workload.init)(n_in, n_out, rng)
        parameters += [weight, bias]
    return parameters


def mini_batches(workload: Workload) -> list[tuple[np.ndarray, np.ndarray]]:
    """Consecutive (images, labels) batches of the embedded MNIST sample, in the workload's dtype."""
    images, labels = load_embedded()
    images = images.astype(workload.dtype)
    b = workload.batch
    return [(images[i : i + b], labels[i : i + b]) for i in range(0, len(images) - b + 1, b)]


# ---- the floor: hand-derived, vectorised numpy backprop ------------------------------------------


def sigmoid_and_slope(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """σ(z) and σ'(z) = σ(z)·σ(−z), without overflow: e = e^(−|z|), σ(|z|) = 1/(1+e), σ(−|z|) = e·σ(|z|)."""
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)  # e^(−|z|) ≤ 1
    near = e + 1.0
    np.reciprocal(near, out=near)  # σ(|z|)
    e *= near  # σ(−|z|)
    a = np.where(z >= 0, near, e)
    e *= near  # σ(z)·σ(−z), whatever the sign of z
    return a, e


def classic_sigmoid_and_slope(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nielsen's σ(z) = 1/(1+e^(−z)) and σ' = σ(1−σ) (e^(−z) overflows, harmlessly, for z < −709)."""
    a = np.exp(-z)
    a += 1.0
    np.reciprocal(a, out=a)
    return a, a * (1.0 - a)


def relu_and_slope(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max(0, z) and its slope, the mask z > 0."""
    return np.maximum(z, 0.0), z > 0


class NumpyBackprop:
    """Nielsen's backprop, vectorised over the batch: z = aWᵀ + b, δᴸ = (softmax(zᴸ) − y)/B,
    δˡ = (δˡ⁺¹Wˡ⁺¹) ⊙ σ'(zˡ), ∂C/∂Wˡ = δˡᵀaˡ⁻¹, ∂C/∂bˡ = Σ_batch δˡ; then w ← w − η∂C/∂w."""

    def __init__(self, workload: Workload, parameters: Gradients, classic: bool = False) -> None:
        self.name = "numpy, classic σ" if classic else "numpy (hand-derived)"
        self.lr = workload.lr
        self.params = [p.astype(workload.dtype) for p in parameters]
        if workload.activation == "relu":
            self.activate = relu_and_slope
        else:
            self.activate = classic_sigmoid_and_slope if classic else sigmoid_and_slope

    def prepare(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        return x, y

    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Activations a⁰ … aᴸ⁻¹, slopes σ'(z¹) … σ'(zᴸ⁻¹), and the logits zᴸ."""
        params = self.params
        activations, slopes = [x], []
        last = len(params) - 2
        for i in range(0, last, 2):
            z = activations[-1] @ params[i].T  # (B, n_out)
            z += params[i + 1]
            a, slope = self.activate(z)
            activations.append(a)
            slopes.append(slope)
        z = activations[-1] @ params[last].T
        z += params[last + 1]
        return activations, slopes, z

    @staticmethod
    def loss_and_delta(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean softmax cross-entropy and δᴸ = ∂C/∂zᴸ = (softmax(zᴸ) − onehot(y)) / B."""
        batch = len(y)
        rows = np.arange(batch)
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)  # (B, 1)
        loss = float((np.log(total[:, 0]) - shifted[rows, y]).sum()) / batch
        total *= batch
        e /= total  # softmax / B
        e[rows, y] -= 1.0 / batch
        return loss, e

    def backward(
        self, activations: list[np.ndarray], slopes: list[np.ndarray], delta: np.ndarray
    ) -> Gradients:
        params = self.params
        layers = len(params) // 2
        grads: Gradients = [delta] * (2 * layers)
        for layer in range(layers - 1, -1, -1):
            grads[2 * layer] = delta.T @ activations[layer]  # (n_out, n_in)
            grads[2 * layer + 1] = delta.sum(axis=0)
            if layer:  # no δ for the input layer: nobody needs ∂C/∂x
                delta = delta @ params[2 * layer]
                delta *= slopes[layer - 1]
        return grads

    def update(self, grads: Gradients) -> None:
        for p, g in zip(self.params, grads):
            g *= self.lr
            p -= g

    def gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[float, Gradients]:
        activations, slopes, z = self.forward(x)
        loss, delta = self.loss_and_delta(z, y)
        return loss, self.backward(activations, slopes, delta)

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        self.update(self.gradients(x, y)[1])

    def parameters(self) -> Gradients:
        return self.params


# ---- microgradvg -------------------------------------------------------------------------------


class Microgradvg:
    """`TensorMLP` + `nn.softmax_cross_entropy` + `optim.SGD`, used as a user would."""

    name = "microgradvg"

    def __init__(self, workload: Workload, parameters: Gradients) -> None:
        self.model = nn.TensorMLP(
            workload.sizes,
            activation=workload.activation,
            output_activation="linear",
            dtype=workload.dtype,
        )
        for p, value in zip(self.model.parameters(), parameters):
            p.data = value.astype(workload.dtype)
        self.optimizer = optim.SGD(self.model.parameters(), lr=workload.lr)

    def prepare(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        return x, y

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        loss = nn.softmax_cross_entropy(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()

    def gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[float, Gradients]:
        loss = nn.softmax_cross_entropy(self.model(x), y)
        loss.backward()
        grads = [np.array(p.grad) for p in self.model.parameters()]
        self.optimizer.zero_grad()
        return loss.item(), grads

    def parameters(self) -> Gradients:
        return [p.data for p in self.model.parameters()]


# ---- PyTorch CPU eager -------------------------------------------------------------------------


class Torch:
    """`nn.Sequential` of `nn.Linear` and activations, `F.cross_entropy`, `torch.optim.SGD`."""

    name = "PyTorch eager"

    def __init__(self, workload: Workload, parameters: Gradients) -> None:
        layers: list[Any] = []
        for n_in, n_out in zip(workload.sizes, workload.sizes[1:]):
            layers += [
                torch.nn.Linear(n_in, n_out),
                torch.nn.Sigmoid() if workload.activation == "sigmoid" else torch.nn.ReLU(),
            ]
        self.model = torch.nn.Sequential(*layers[:-1]).to(
            torch.float64 if workload.dtype == np.float64 else torch.float32
        )
        with torch.no_grad():
            for p, value in zip(self.model.parameters(), parameters):
                p.copy_(torch.from_numpy(value))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=workload.lr)

    def prepare(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        return torch.from_numpy(x), torch.from_numpy(y)

    def step(self, x: Any, y: Any) -> None:
        loss = torch.nn.functional.cross_entropy(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def gradients(self, x: Any, y: Any) -> tuple[float, Gradients]:
        loss = torch.nn.functional.cross_entropy(self.model(x), y)
        loss.backward()
        grads = [p.grad.numpy().copy() for p in self.model.parameters()]
        self.optimizer.zero_grad(set_to_none=True)
        return loss.item(), grads

    def parameters(self) -> Gradients:
        return [p.detach().numpy() for p in self.model.parameters()]


# ---- HIPS autograd -----------------------------------------------------------------------------


class HipsAutograd:
    """`autograd.value_and_grad` of the same loss written in autograd.numpy; SGD as a list update."""

    name = "HIPS autograd"

    def __init__(self, workload: Workload, parameters: Gradients) -> None:
        self.lr = workload.lr
        self.params = [p.astype(workload.dtype) for p in parameters]
        relu = workload.activation == "relu"

        def activate(z: Any) -> Any:
            if relu:
                return anp.maximum(z, 0.0)
            e = anp.exp(-anp.abs(z))  # the same overflow-free σ as the others
            near = 1.0 / (1.0 + e)
            return anp.where(z >= 0, near, e * near)

        def loss(params: list, x: np.ndarray, y: np.ndarray) -> Any:
            a = x
            for i in range(0, len(params), 2):
                z = anp.dot(a, params[i].T) + params[i + 1]
                a = activate(z) if i + 2 < len(params) else z
            shifted = a - anp.max(a, axis=1, keepdims=True)
            rows = np.arange(len(y))
            return anp.mean(anp.log(anp.sum(anp.exp(shifted), axis=1)) - shifted[rows, y])

        self.value_and_grad = autograd.value_and_grad(loss)

    def prepare(self, x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        return x, y

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        _, grads = self.value_and_grad(self.params, x, y)
        self.params = [p - self.lr * g for p, g in zip(self.params, grads)]

    def gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[float, Gradients]:
        loss, grads = self.value_and_grad(self.params, x, y)
        return float(loss), list(grads)

    def parameters(self) -> Gradients:
        return self.params


# ---- measuring -----------------------------------------------------------------------------------


def implementations(workload: Workload, parameters: Gradients) -> list[Any]:
    """Every implementation that can run here, the floor first."""
    found: list[Any] = [NumpyBackprop(workload, parameters)]
    if workload.activation == "sigmoid":
        found.append(NumpyBackprop(workload, parameters, classic=True))
    found.append(Microgradvg(workload, parameters))
    if torch is not None:
        found.append(Torch(workload, parameters))
    if autograd is not None:
        found.append(HipsAutograd(workload, parameters))
    return found


def check_first_step(
    workload: Workload, impls: Sequence[Any], x: np.ndarray, y: np.ndarray
) -> float:
    """Assert every implementation gives the floor's loss and gradients; return the worst relative gap."""
    reference_loss, reference = impls[0].gradients(x, y)
    worst = 0.0
    for impl in impls[1:]:
        loss, grads = impl.gradients(*impl.prepare(x, y))
        assert len(grads) == len(reference), (
            f"{impl.name}: {len(grads)} gradients, expected {len(reference)}"
        )
        loss_gap = abs(loss - reference_loss) / max(1.0, abs(reference_loss))
        assert loss_gap <= workload.tolerance, f"{impl.name}: loss {loss!r} ≠ {reference_loss!r}"
        worst = max(worst, loss_gap)
        for i, (g, r) in enumerate(zip(grads, reference)):
            g = np.asarray(g)
            assert g.shape == r.shape and g.dtype == r.dtype, (
                f"{impl.name}: gradient {i} is {g.dtype}{g.shape}, expected {r.dtype}{r.shape}"
            )
            gap = float(np.max(np.abs(g - r)) / max(np.max(np.abs(r)), np.finfo(r.dtype).tiny))
            assert gap <= workload.tolerance, (
                f"{impl.name}: gradient {i} differs by {gap:.2e} (relative)"
            )
            worst = max(worst, gap)
    return worst


def time_steps(
    impls: Sequence[Any], batches: list, reps: int, warmup: int
) -> dict[str, np.ndarray]:
    """Step times in µs: repetition r runs every implementation once on batch r, in a rotating order."""
    prepared = {impl.name: [impl.prepare(x, y) for x, y in batches] for impl in impls}
    times: dict[str, list[float]] = {impl.name: [] for impl in impls}
    clock = time.perf_counter_ns
    for r in range(warmup + reps):
        start = r % len(impls)
        for impl in (*impls[start:], *impls[:start]):
            x, y = prepared[impl.name][r % len(batches)]
            t0 = clock()
            impl.step(x, y)
            t1 = clock()
            if r >= warmup:
                times[impl.name].append((t1 - t0) / 1000)
    return {name: np.array(t) for name, t in times.items()}


def peak_memory(impl: Any, x: np.ndarray, y: np.ndarray, steps: int = 3) -> tuple[int | None, str]:
    """Peak bytes allocated during one step above what was live before it, and how it was measured."""
    x, y = impl.prepare(x, y)
    impl.step(x, y)
    if isinstance(impl, Torch):
        return torch_peak_memory(impl, x, y), "torch.profiler"
    peak = 0
    tracemalloc.start()
    try:
        for _ in range(steps):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            impl.step(x, y)
            peak = max(peak, tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    return peak, "tracemalloc"


def torch_peak_memory(impl: Torch, x: Any, y: Any) -> int | None:
    """torch's CPU allocator is invisible to tracemalloc: replay the profiler's allocation events."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        impl.step(x, y)
    try:  # every allocation and free, in order (the public event list folds many into their ops)
        events = [
            (e.start_ns(), e.nbytes())
            for e in prof.profiler.kineto_results.events()
            if e.name() == "[memory]"
        ]
    except AttributeError:
        return None
    live = peak = 0
    for _, size in sorted(events):
        live += size
        peak = max(peak, live)
    return peak


def environment() -> list[str]:
    """What the numbers depend on: machine, versions, threads, BLAS settings."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    if torch is not None:
        versions.append(f"torch {torch.__version__}")
    if autograd is not None:
        versions.append(f"autograd {importlib.metadata.version('autograd')}")
    blas = ", ".join(
        f"{name}={os.environ.get(name, '(unset)')}"
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    )
    threads = ", ".join(f"{name}=1" for name in THREAD_VARIABLES)
    threads += (
        "; threadpoolctl limit 1" if threadpoolctl is not None else "; threadpoolctl not installed"
    )
    if torch is not None:
        threads += f"; torch.set_num_threads(1) → {torch.get_num_threads()} intra-op thread"
    return [
        f"date: {datetime.date.today().isoformat()}; machine: {cpu}, {os.cpu_count()} cores, {platform.system()}",
        "versions: " + ", ".join(versions),
        f"threads: {threads}",
        f"BLAS environment (as found): {blas}",
        f"gc: {'enabled' if gc.isenabled() else 'disabled'} during timing (as in real use)",
        f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"microgradvg from {os.path.dirname(microgradvg.__file__)}",
    ]


def run(workloads: Sequence[Workload], scale: float) -> None:
    for line in environment():
        print(line)
    for workload in workloads:
        parameters = initial_parameters(workload)
        batches = mini_batches(workload)
        impls = implementations(workload, parameters)
        gap = check_first_step(workload, impls, *batches[0])
        reps = max(10, int(workload.reps * scale))
        times = time_steps(impls, batches, reps, warmup=max(5, reps // 10))
        floor = float(np.median(times[impls[0].name]))
        mine = float(np.median(times[Microgradvg.name]))
        print(f"\n### {workload.name}\n")
        print(
            f"{reps} steps each, interleaved; first-step loss and gradients agree to {gap:.1e} (relative)\n"
        )
        print(
            "| implementation | median µs/step | p10–p90 µs | × numpy | microgradvg ÷ this | peak step memory |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for impl in impls:
            t = times[impl.name]
            median = float(np.median(t))
            memory, method = peak_memory(impl, *batches[0])
            size = "n/a" if memory is None else f"{memory / 1024:,.0f} KiB ({method})"
            vs = "—" if impl.name == Microgradvg.name else f"{mine / median:.2f}"
            p10, p90 = np.percentile(t, [10, 90])
            print(
                f"| {impl.name} | {median:,.1f} | {p10:,.0f}–{p90:,.0f} | {median / floor:.2f} | {vs} | {size} |"
            )
        # The target's measure: the anchor and microgradvg alone, step for step. In the
        # round-robin above, torch's and autograd's code also runs between every two steps
        # and evicts the others' from the CPU caches, which costs the Python-heavy engine most.
        engine = next(impl for impl in impls if impl.name == Microgradvg.name)
        pair = time_steps([impls[0], engine], batches, reps, warmup=max(5, reps // 10))
        pair_floor = float(np.median(pair[impls[0].name]))
        pair_mine = float(np.median(pair[Microgradvg.name]))
        print(
            f"\nanchor pair, interleaved alone: numpy {pair_floor:,.1f} µs, microgradvg {pair_mine:,.1f} µs "
            f"→ **{pair_mine / pair_floor:.2f}× numpy** (the issue's target measure)"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the repetitions")
    parser.add_argument(
        "--only", default="", help="run the workloads whose name contains this (e.g. float32)"
    )
    args = parser.parse_args(argv)
    workloads = [w for w in WORKLOADS if args.only in w.name] or list(WORKLOADS)
    with one_blas_thread():
        run(workloads, 0.1 if args.quick else 1.0)


def one_blas_thread() -> contextlib.AbstractContextManager:
    """One BLAS thread for numpy (threadpoolctl, when installed) and one for PyTorch."""
    if torch is not None:
        torch.set_num_threads(1)
    return threadpoolctl.threadpool_limits(1) if threadpoolctl else contextlib.nullcontext()


if __name__ == "__main__":
    main()
