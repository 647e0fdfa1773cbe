"""The numbers the Curse chapters quote about a cloud of latent codes, gathered in one dict each.

The measures themselves -- radii, PCA, the chi distribution -- are taught (:mod:`vaecourse.latent`);
these two only collect them for a table and for ``chapter.quote``.
"""

from __future__ import annotations

import numpy as np

from ..latent import pca, radii


def correlation_summary(z) -> dict:
    """How much the components move together: mean and max |correlation| off the diagonal."""
    z = np.asarray(z, np.float64)
    z = z[:, z.std(axis=0) > 0]  # a constant component has no correlation to speak of
    c = np.corrcoef(z, rowvar=False)
    off = np.abs(c[~np.eye(len(c), dtype=bool)])
    off = off[np.isfinite(off)]
    return {
        "mean_abs_corr": float(off.mean()),
        "max_abs_corr": float(off.max()),
        "share_above_0.3": float(np.mean(off > 0.3)),
    }


def cloud_summary(z) -> dict:
    """The numbers the chapters quote about a cloud of codes."""
    z = np.asarray(z, np.float64)
    r = radii(z)
    centre = z.mean(axis=0)
    p = pca(z)
    return {
        "z_dim": z.shape[1],
        "radius_mean": float(r.mean()),
        "radius_std": float(r.std()),
        "centre_offset": float(np.linalg.norm(centre)),
        "radius_about_centre": float(radii(z, centre).mean()),
        "mean_std_per_dim": float(z.std(axis=0).mean()),
        "top1_explained": float(p.explained[0]),
        "dims_for_90pct": int(np.searchsorted(np.cumsum(p.explained), 0.9) + 1),
    }
