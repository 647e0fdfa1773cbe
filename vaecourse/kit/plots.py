"""Figures the chapters share: image grids, loss curves and histograms.

Every function returns the matplotlib Figure and leaves showing it to the notebook.
"""

from __future__ import annotations

import numpy as np

from ..models import to_unit


def image_grid(
    images,
    ncols: int = 8,
    titles=None,
    title: str | None = None,
    size: float = 1.2,
    row_labels=None,
):
    """Show ``images`` (n, h, w, c) in a grid of ``ncols`` columns."""
    import matplotlib.pyplot as plt

    x = to_unit(images)
    n = len(x)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for s in ax.spines.values():
            s.set_visible(False)
        if i < n:
            img = x[i]
            ax.imshow(
                img[..., 0] if img.shape[-1] == 1 else img,
                cmap="gray" if img.shape[-1] == 1 else None,
                vmin=0,
                vmax=1,
            )
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    if row_labels is not None:
        for r, label in enumerate(row_labels):
            axes[r, 0].set_ylabel(str(label), fontsize=8, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def image_rows(rows, labels=None, title: str | None = None, size: float = 1.2):
    """Several equally long rows of images (e.g. originals over reconstructions)."""
    rows = [to_unit(r) for r in rows]
    ncols = max(len(r) for r in rows)
    stacked = np.concatenate(
        [np.pad(r, ((0, ncols - len(r)),) + ((0, 0),) * (r.ndim - 1)) for r in rows]
    )
    return image_grid(stacked, ncols=ncols, title=title, size=size, row_labels=labels)


def loss_curves(history: dict, keys=None, title: str | None = None, logy: bool = False):
    """Plot per-epoch values of a Keras ``History.history`` dict, one panel per key."""
    import matplotlib.pyplot as plt

    keys = list(keys or [k for k in history if not k.startswith("val_")])
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 2.8), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        epochs = np.arange(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], "o-", label="train")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s--", label="validation")
            ax.legend(fontsize=8)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("epoch")
        if logy:
            ax.set_yscale("log")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
