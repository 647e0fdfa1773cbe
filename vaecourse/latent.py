"""Where do the z-points lie?  Measurements of a latent space for the latent-space chapters.

    mu, log_var = latent.encode_stats(model, images)     # log_var is None for a plain AE
    latent.radii(mu).mean(), latent.chi_mean(z_dim)      # shell radius vs N(0, I)'s
    p = latent.pca(mu)                                   # axes of the (tilted) ellipsoid
    latent.active_units(mu), latent.kl_per_dim(mu, log_var)
    v = latent.attribute_vector(mu, faces.attr("Smiling"))

Everything here is plain NumPy/SciPy on arrays of shape (n, z_dim), so it can be tested on
synthetic Gaussians whose answers are known.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# --------------------------------------------------------------------------------------
# Getting the codes
# --------------------------------------------------------------------------------------
def encode_stats(model, images, batch_size: int = 256):
    """``(mu, log_var)`` of a VAE's encoder for ``images``; ``(z, None)`` for a plain AE.

    The VAE encoder outputs ``[z, mu, log_var]``; the AE encoder outputs ``z`` only.
    """
    from .models import get_encoder

    enc, images = get_encoder(model), np.asarray(images)
    parts = []
    for i in range(0, len(images), batch_size):  # direct calls: no predict() retracing per model
        out = enc(np.asarray(images[i:i + batch_size], np.float32), training=False)
        out = [out[1], out[2]] if isinstance(out, (list, tuple)) else [out]
        parts.append([np.asarray(o, np.float64) for o in out])
    cols = [np.concatenate(c) for c in zip(*parts)]
    return (cols[0], cols[1]) if len(cols) == 2 else (cols[0], None)


# --------------------------------------------------------------------------------------
# Radii: the shell of a Gaussian and of a uniform cube
# --------------------------------------------------------------------------------------
def radii(z, center=None) -> np.ndarray:
    """Euclidean length of every row of ``z`` (measured from ``center`` if given)."""
    z = np.asarray(z, np.float64)
    if center is not None:
        z = z - np.asarray(center, np.float64)
    return np.linalg.norm(z, axis=1)


def chi_mean(n: int) -> float:
    """E|z| for z ~ N(0, I_n): sqrt(2)·Γ((n+1)/2)/Γ(n/2), close to sqrt(n - 1/2)."""
    from scipy.special import gammaln

    return float(np.sqrt(2.0) * np.exp(gammaln((n + 1) / 2) - gammaln(n / 2)))


def chi_std(n: int) -> float:
    """Standard deviation of |z| for z ~ N(0, I_n): about 1/sqrt(2), whatever n."""
    return float(np.sqrt(max(n - chi_mean(n) ** 2, 0.0)))


def uniform_radius(b: float, n: int) -> float:
    """Typical length of a point drawn uniformly from the cube [-b, b]^n: b·sqrt(n/3)."""
    return float(b * np.sqrt(n / 3.0))


def cube_within_radius(r: float, b: float, n: int) -> float:
    """Probability that a uniform point of the cube [-b, b]^n lies within distance ``r`` of
    the origin.  The squared length is a sum of n independent terms u_i² with mean b²/3 and
    variance 4b⁴/45, so for the large n of a latent space a normal approximation is accurate
    near the typical radius (far in its tails it is only a rough guide).  For r <= b the ball lies
    inside the cube and the answer is the exact volume ratio."""
    from scipy.stats import norm

    if r <= b:
        return float(10.0 ** log10_ball_over_cube(r, b, n))

    mean, var = n * b * b / 3.0, n * 4.0 * b ** 4 / 45.0
    return float(norm.cdf((r * r - mean) / np.sqrt(var)))


def log10_ball_over_cube(r: float, b: float, n: int) -> float:
    """log10 of vol(ball of radius r in n dims) / vol(cube [-b, b]^n).

    For r <= b the ball lies inside the cube and this is the fraction of the cube it fills."""
    from scipy.special import gammaln

    log_ball = (n / 2) * np.log(np.pi) - gammaln(n / 2 + 1) + n * np.log(r)
    log_cube = n * np.log(2.0 * b)
    return float((log_ball - log_cube) / np.log(10.0))


def uniform_draws(n_points: int, n: int, b: float, seed: int = 0) -> np.ndarray:
    """``n_points`` latent points uniform in [-b, b]^n (the series' "boundary" draws)."""
    from .sampling import uniform_cube

    return uniform_cube(n_points, n, b, seed=seed)


# --------------------------------------------------------------------------------------
# Shape of the cloud: PCA, correlations
# --------------------------------------------------------------------------------------
@dataclass
class PCA:
    """Principal axes of a point cloud: ``components`` rows are unit directions, sorted by
    ``variances`` (largest first); ``mean`` is the centre of the cloud."""

    mean: np.ndarray
    components: np.ndarray   # (k, d)
    variances: np.ndarray    # (k,)

    @property
    def explained(self) -> np.ndarray:
        """Share of the total variance along each axis."""
        return self.variances / self.variances.sum()

    @property
    def stds(self) -> np.ndarray:
        return np.sqrt(self.variances)

    def project(self, z, k: int = 2) -> np.ndarray:
        """Coordinates of ``z`` along the first ``k`` axes."""
        return (np.asarray(z, np.float64) - self.mean) @ self.components[:k].T

    def covariance(self) -> np.ndarray:
        """The covariance matrix the axes describe."""
        return (self.components.T * self.variances) @ self.components

    def elongation(self) -> float:
        """Ratio of the standard deviations along the longest and the shortest axis."""
        v = self.variances[self.variances > 0]
        return float(np.sqrt(v[0] / v[-1]))


def pca(z) -> PCA:
    """PCA of the rows of ``z`` from the eigen-decomposition of their covariance."""
    z = np.asarray(z, np.float64)
    mean = z.mean(axis=0)
    cov = np.cov(z - mean, rowvar=False)
    w, v = np.linalg.eigh(np.atleast_2d(cov))
    order = np.argsort(w)[::-1]
    return PCA(mean=mean, components=v[:, order].T, variances=np.clip(w[order], 0.0, None))


def correlation_summary(z) -> dict:
    """How much the components move together: mean and max |correlation| off the diagonal."""
    z = np.asarray(z, np.float64)
    z = z[:, z.std(axis=0) > 0]  # a constant component has no correlation to speak of
    c = np.corrcoef(z, rowvar=False)
    off = np.abs(c[~np.eye(len(c), dtype=bool)])
    off = off[np.isfinite(off)]
    return {"mean_abs_corr": float(off.mean()), "max_abs_corr": float(off.max()),
            "share_above_0.3": float(np.mean(off > 0.3))}


def cloud_summary(z) -> dict:
    """The numbers the chapters quote about a cloud of codes."""
    z = np.asarray(z, np.float64)
    r = radii(z)
    centre = z.mean(axis=0)
    p = pca(z)
    return {"z_dim": z.shape[1], "radius_mean": float(r.mean()), "radius_std": float(r.std()),
            "centre_offset": float(np.linalg.norm(centre)),
            "radius_about_centre": float(radii(z, centre).mean()),
            "mean_std_per_dim": float(z.std(axis=0).mean()),
            "top1_explained": float(p.explained[0]),
            "dims_for_90pct": int(np.searchsorted(np.cumsum(p.explained), 0.9) + 1)}


# --------------------------------------------------------------------------------------
# The VAE's own view: KL per dimension and active units
# --------------------------------------------------------------------------------------
def kl_per_dim(mu, log_var) -> np.ndarray:
    """KL(N(mu, exp(log_var)) || N(0, 1)) per latent dimension, averaged over the samples."""
    mu, log_var = np.asarray(mu, np.float64), np.asarray(log_var, np.float64)
    return np.mean(0.5 * (mu * mu + np.exp(log_var) - 1.0 - log_var), axis=0)


def active_units(mu, threshold: float = 0.01):
    """``(count, mask)``: dimensions whose mean code varies across inputs, Var_x[mu_j] > threshold
    (Burda et al.'s activity measure).  An inactive dimension ignores its input."""
    mask = np.var(np.asarray(mu, np.float64), axis=0) > threshold
    return int(mask.sum()), mask


# --------------------------------------------------------------------------------------
# Moving through the space
# --------------------------------------------------------------------------------------
def attribute_vector(z, labels) -> np.ndarray:
    """Mean code of the images with an attribute minus that of the images without it
    (labels ±1 or bool)."""
    z = np.asarray(z, np.float64)
    has = np.asarray(labels) > 0
    if has.all() or not has.any():
        raise ValueError("attribute_vector needs images with and without the attribute")
    return z[has].mean(axis=0) - z[~has].mean(axis=0)


def interpolate(z1, z2, n: int = 8) -> np.ndarray:
    """``n`` points on the straight line from ``z1`` to ``z2`` (both ends included)."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1.0 - t) * np.asarray(z1, np.float64) + t * np.asarray(z2, np.float64)


def along_axes(centre, directions, scales, values) -> np.ndarray:
    """Codes ``centre + v·scale_i·direction_i``: one row per direction, one column per value.

    Returns shape (len(directions) * len(values), d), row-major."""
    centre = np.asarray(centre, np.float64)
    out = [centre + v * s * np.asarray(d, np.float64)
           for d, s in zip(directions, scales) for v in values]
    return np.asarray(out)
