"""Data for the demos: a 1,000-digit MNIST sample that ships with the package, loaders for
the usual MNIST downloads (.npz, Nielsen's mnist.pkl.gz, IDX files), and toy 2-D sets.

Every loader returns images as float64 (N, 784) in [0, 1] and labels as int64 (N,) in 0..9; every
bad file raises `DataError` with one line naming the file and what is wrong with it.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "DataError",
    "load_embedded",
    "load_idx",
    "load_mnist",
    "load_nielsen_pickle",
    "make_moons",
    "make_spirals",
    "one_hot",
]

EMBEDDED_PATH = Path(__file__).with_name("datasets") / "mnist_1k.npz"
EMBEDDED_SIZE = 1000
SIDE = 28  # MNIST digits are 28 × 28 pixels
PIXELS = SIDE * SIDE

IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (N, rows, columns)
IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (N,)
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK"

NIELSEN_PARTS = ("train", "validation", "test")
# What a pickle of numpy arrays refers to, from Python 2 and numpy 1 (Nielsen's file) to
# numpy 2 with protocol 5; refusing everything else stops a pickle from running code.
PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}
# A damaged archive or member surfaces as any of these, depending on where the damage is.
_NPZ_ERRORS = (OSError, EOFError, ValueError, zlib.error, zipfile.BadZipFile)
# Damaged pickle data fails with whichever error the opcode it lands on raises.
_UNPICKLING_ERRORS = (
    pickle.UnpicklingError,
    AttributeError,
    ImportError,
    IndexError,
    KeyError,
    OverflowError,
    TypeError,
    ValueError,
)


class DataError(ValueError):
    """A data file is missing, corrupt or not in the expected format."""


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in PICKLE_ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def load_embedded(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first `n` (default all 1,000) digits of the MNIST sample shipped with the package.

    Returns images float64 (n, 784) with pixel/255 ∈ [0, 1] and labels int64 (n,) ∈ 0..9.
    """
    if n is not None and not 1 <= n <= EMBEDDED_SIZE:
        raise DataError(f"load_embedded: n must be between 1 and {EMBEDDED_SIZE}, got {n}")
    images, labels = _load_npz(EMBEDDED_PATH)
    return images[:n], labels[:n]


def load_mnist(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST from `path`, choosing the format from the file name.

    - `*.npz` with arrays `images` and `labels` (like the project's `mnist_5k.npz`);
    - `*.pkl.gz`: Nielsen's `mnist.pkl.gz`, of which the training part is returned;
    - `*-images-idx3-ubyte[.gz]`: LeCun's IDX images, with the labels file found next to it.
    """
    path = Path(path)
    name = path.name
    if name.endswith(".npz"):
        return _load_npz(path)
    if name.endswith(".pkl.gz"):
        return load_nielsen_pickle(path)
    if name.removesuffix(".gz").endswith("idx3-ubyte"):
        return load_idx(path)
    if name.removesuffix(".gz").endswith("idx1-ubyte"):
        raise DataError(f"{path}: this is an IDX labels file; pass the images file instead")
    raise DataError(
        f"{path}: unrecognised file name; expected *.npz, mnist.pkl.gz or *-images-idx3-ubyte[.gz]"
    )


def load_nielsen_pickle(
    path: str | os.PathLike[str], part: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """One part ("train", "validation" or "test") of Nielsen's `mnist.pkl.gz`.

    The file is a gzipped pickle of three (images float32 (N, 784), labels (N,)) pairs.
    Only numpy arrays are unpickled: a pickle that names any other callable is refused.
    """
    path = Path(path)
    if part not in NIELSEN_PARTS:
        raise DataError(f"{path}: part must be one of {', '.join(NIELSEN_PARTS)}; got {part!r}")
    _check_exists(path)
    with open(path, "rb") as file:
        if file.read(2) != GZIP_MAGIC:
            raise DataError(f"{path}: not a gzip file")
    try:
        # Streamed rather than decompressed up front: the real file unpacks to ~220 MB.
        with gzip.open(path, "rb") as file:
            # The pickle was written by Python 2; latin1 maps its byte strings
            # (numpy's array buffers) one-to-one onto str.
            content = _ArrayUnpickler(file, encoding="latin1").load()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: truncated or corrupt file ({error})") from None
    except _UNPICKLING_ERRORS as error:
        raise DataError(
            f"{path}: not a readable pickle ({type(error).__name__}: {error})"
        ) from None
    if not (isinstance(content, (tuple, list)) and len(content) == 3):
        raise DataError(
            f"{path}: expected a pickled (train, validation, test) triple, "
            f"found {_describe(content)}"
        )
    pair = content[NIELSEN_PARTS.index(part)]
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise DataError(
            f"{path}: {part} part should be an (images, labels) pair, found {_describe(pair)}"
        )
    images, labels = pair
    if not (isinstance(images, np.ndarray) and isinstance(labels, np.ndarray)):
        raise DataError(
            f"{path}: {part} part should hold two numpy arrays, "
            f"found {_describe(images)} and {_describe(labels)}"
        )
    return _normalise(images, labels, f"{path} ({part})")


def load_idx(
    images_path: str | os.PathLike[str], labels_path: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Read an IDX images file and its labels file (LeCun's original MNIST format).

    Without `labels_path`, the labels are looked for next to the images under the standard
    name: `train-images-idx3-ubyte.gz` → `train-labels-idx1-ubyte.gz`. Files ending in `.gz`
    are decompressed.
    """
    images_path = Path(images_path)
    _check_exists(images_path)  # a missing images file matters more than its labels
    if labels_path is None:
        labels_path = _labels_path_for(images_path)
    labels_path = Path(labels_path)
    images = _read_idx(images_path, IDX_IMAGES_MAGIC)  # (N, rows, columns)
    labels = _read_idx(labels_path, IDX_LABELS_MAGIC)  # (N,)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path}: {len(images)} images but {len(labels)} labels in {labels_path}"
        )
    return _normalise(images, labels, str(images_path))


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """Rows of the identity: one_hot(y)[i, k] = 1 if y[i] = k else 0, float64 (N, classes)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"one_hot: labels must be a 1-D integer array, got {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise DataError(
            f"one_hot: labels must lie in 0..{classes - 1}, found {labels.min()}..{labels.max()}"
        )
    encoded = np.zeros((len(labels), classes))  # (N, classes)
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded


def make_moons(
    n: int = 100, noise: float = 0.1, seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles in the plane, a set no straight line separates.

    Class 0 (n//2 points): (cos t, sin t); class 1 (the rest): (1 − cos t, 0.5 − sin t),
    t evenly spaced in [0, π], plus Gaussian noise of standard deviation `noise` on each
    coordinate. Rows come shuffled; the same `seed` gives the same set.
    """
    _check_generator_arguments(n, noise, "make_moons")
    rng = np.random.default_rng(seed)
    outer = n // 2
    inner = n - outer
    t_outer = np.linspace(0.0, np.pi, outer)
    t_inner = np.linspace(0.0, np.pi, inner)
    points = np.concatenate(
        [
            np.column_stack([np.cos(t_outer), np.sin(t_outer)]),
            np.column_stack([1.0 - np.cos(t_inner), 0.5 - np.sin(t_inner)]),
        ]
    )  # (n, 2)
    labels = np.concatenate([np.zeros(outer, dtype=np.int64), np.ones(inner, dtype=np.int64)])
    return _shuffle_with_noise(points, labels, noise, rng)


def make_spirals(
    n: int = 100, classes: int = 2, noise: float = 0.1, seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray]:
    """`classes` spiral arms winding out from the centre, one class per arm.

    Arm k is the arm 0 rotated by 2πk/classes: radius r from 0.1 to 1, angle 3πr + 2πk/classes
    (1.5 turns). Points are shared out as evenly as possible (the first arms get one more),
    noise and shuffling as in `make_moons`.
    """
    _check_generator_arguments(n, noise, "make_spirals")
    if not 1 <= classes <= n:
        raise DataError(f"make_spirals: classes must be between 1 and n={n}, got {classes}")
    rng = np.random.default_rng(seed)
    arm_sizes = [n // classes + (k < n % classes) for k in range(classes)]
    arms = []
    for k, size in enumerate(arm_sizes):
        radius = np.linspace(0.1, 1.0, size)
        angle = 3.0 * np.pi * radius + 2.0 * np.pi * k / classes
        arms.append(np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]))
    labels = np.repeat(np.arange(classes, dtype=np.int64), arm_sizes)
    return _shuffle_with_noise(np.concatenate(arms), labels, noise, rng)


def _shuffle_with_noise(
    points: np.ndarray, labels: np.ndarray, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    # Shuffled so that any minibatch of consecutive rows mixes the classes.
    order = rng.permutation(len(points))
    noisy = points + noise * rng.standard_normal(points.shape)
    return noisy[order], labels[order]


def _check_generator_arguments(n: int, noise: float, caller: str) -> None:
    if n < 1:
        raise DataError(f"{caller}: n must be at least 1, got {n}")
    if not noise >= 0:
        raise DataError(f"{caller}: noise must be a standard deviation ≥ 0, got {noise}")


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    _check_exists(path)
    with open(path, "rb") as file:
        if file.read(2) != ZIP_MAGIC:
            raise DataError(f"{path}: not an .npz archive (an .npz file is a zip file)")
    try:
        archive = np.load(path, allow_pickle=False)
    except _NPZ_ERRORS as error:
        raise DataError(f"{path}: corrupt .npz archive ({error})") from None
    with archive:
        missing = {"images", "labels"} - set(archive.files)
        if missing:
            raise DataError(
                f"{path}: missing array(s) {', '.join(sorted(missing))}; "
                f"found {', '.join(archive.files) or 'none'}"
            )
        try:
            images, labels = archive["images"], archive["labels"]
        except _NPZ_ERRORS as error:
            raise DataError(f"{path}: unreadable array in .npz archive ({error})") from None
    return _normalise(images, labels, str(path))


def _read_idx(path: Path, expected_magic: int) -> np.ndarray:
    kind = "images" if expected_magic == IDX_IMAGES_MAGIC else "labels"
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        hint = "; the file looks gzip-compressed, name it *.gz" if data[:2] == GZIP_MAGIC else ""
        raise DataError(
            f"{path}: wrong magic number 0x{magic:08X}, expected 0x{expected_magic:08X} "
            f"(IDX {kind}){hint}"
        )
    dimensions = expected_magic & 0xFF  # the magic's last byte counts the dimensions
    header_size = 4 + 4 * dimensions
    if len(data) < header_size:
        raise DataError(f"{path}: truncated IDX header ({len(data)} of {header_size} bytes)")
    shape = tuple(int(size) for size in np.frombuffer(data, ">u4", dimensions, offset=4))
    expected_size = header_size + math.prod(shape)
    if len(data) < expected_size:
        raise DataError(
            f"{path}: truncated data, header promises shape {shape} "
            f"({expected_size} bytes) but the file has {len(data)} bytes"
        )
    if len(data) > expected_size:
        raise DataError(
            f"{path}: {len(data) - expected_size} unexpected bytes after the {shape} {kind}"
        )
    return np.frombuffer(data, np.uint8, offset=header_size).reshape(shape)


def _read_bytes(path: Path) -> bytes:
    _check_exists(path)
    data = path.read_bytes()
    if not path.name.endswith(".gz"):
        return data
    if data[:2] != GZIP_MAGIC:
        raise DataError(f"{path}: not a gzip file")
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: truncated or corrupt gzip data ({error})") from None


def _labels_path_for(images_path: Path) -> Path:
    name = images_path.name
    if "images" not in name or "idx3" not in name:
        raise DataError(
            f"{images_path}: cannot guess the labels file name from a name without "
            "'images' and 'idx3'; pass labels_path"
        )
    # Replace the rightmost occurrences, where the standard suffix puts them, so any
    # earlier use of the words in a renamed file stays as it is.
    labels_name = "labels".join(name.rsplit("images", 1))
    labels_name = "idx1".join(labels_name.rsplit("idx3", 1))
    labels_path = images_path.with_name(labels_name)
    if not labels_path.is_file():
        raise DataError(f"{images_path}: labels file {labels_path} not found; pass labels_path")
    return labels_path


def _normalise(
    images: np.ndarray, labels: np.ndarray, source: str
) -> tuple[np.ndarray, np.ndarray]:
    # One place turns every format into the same (N, 784) float64, (N,) int64 pair.
    if images.ndim == 3 and images.shape[1:] == (SIDE, SIDE):
        images = images.reshape(len(images), PIXELS)
    if images.ndim != 2 or images.shape[1] != PIXELS:
        raise DataError(
            f"{source}: images have shape {images.shape}, expected (N, {SIDE}, {SIDE}) "
            f"or (N, {PIXELS})"
        )
    if labels.ndim != 1:
        raise DataError(f"{source}: labels have shape {labels.shape}, expected (N,)")
    if len(images) != len(labels):
        raise DataError(f"{source}: {len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        raise DataError(f"{source}: contains no images")
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{source}: labels must be integers, found {labels.dtype}")
    outside = np.flatnonzero((labels < 0) | (labels > 9))
    if outside.size:
        # int() of the label itself: a uint64 ≥ 2⁶³ cast to int64 first would print negative.
        raise DataError(
            f"{source}: labels must be digits 0..9, found {int(labels[outside[0]])} at index "
            f"{outside[0]} ({outside.size:,} label{'s' if outside.size != 1 else ''} outside 0..9)"
        )
    if images.dtype == np.uint8:
        scaled = images / 255.0
    elif np.issubdtype(images.dtype, np.floating):
        scaled = images.astype(np.float64)
        if not np.all((scaled >= 0.0) & (scaled <= 1.0)):
            raise DataError(f"{source}: float images must lie in [0, 1]")
    else:
        raise DataError(f"{source}: images must be uint8 or float, found {images.dtype}")
    return scaled, labels.astype(np.int64)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a file")


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"array {value.dtype} {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__
