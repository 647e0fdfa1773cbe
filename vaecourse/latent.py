"""Where do the z-points lie?  Measurements of a latent space for the latent-space chapters.

    z = latent.normal_points(n, z_dim, seed=1)           # n draws from the prior N(0, I)
    z = latent.uniform_cube(n, z_dim, b, seed=1)         # the series' r_limit draws, U[-b, b]
    latent.radii(z).mean(), latent.chi_mean(z_dim)       # shell radius vs N(0, I)'s
    latent.cube_radius(b, z_dim)                         # where the cube's draws concentrate
    p = latent.pca(mu)                                   # axes of the (tilted) ellipsoid
    latent.active_units(mu), latent.kl_per_dim(mu, log_var)
    v = latent.attribute_vector(mu, faces.attr("Smiling"))

Everything here is plain NumPy/SciPy on arrays of shape (n, z_dim) -- ``n`` counts points,
``z_dim`` is the dimension -- so it can be tested on synthetic Gaussians whose answers are
known.  The codes come from :func:`vaecourse.models.encode`.

A point drawn uniformly from the cube [-b, b]^z_dim has coordinates of variance b^2/3, so its
length concentrates at b * sqrt(z_dim/3); a point from N(0, I) has length close to sqrt(z_dim).
Comparing these radii with the radii of encoded training images tells where in the latent
space a decoder has actually been trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# --------------------------------------------------------------------------------------
# Drawing points
# --------------------------------------------------------------------------------------
def normal_points(n: int, z_dim: int, seed=None) -> np.ndarray:
    """(chapter X) ``n`` points from the standard normal N(0, I) of the VAE's prior (float32)."""
    return np.random.default_rng(seed).standard_normal((int(n), int(z_dim))).astype("float32")


def uniform_cube(n: int, z_dim: int, b: float, seed=None, low: float | None = None) -> np.ndarray:
    """(chapter XI) ``n`` points drawn uniformly from the cube [-b, b]^z_dim (float32).

    ``low`` replaces the lower edge: ``uniform_cube(n, d, 1.0, low=0.0)`` is U[0, 1)^d, the
    sampling of seed 002.
    """
    rng = np.random.default_rng(seed)
    lo = -float(b) if low is None else float(low)
    return rng.uniform(lo, float(b), size=(int(n), int(z_dim))).astype("float32")


# --------------------------------------------------------------------------------------
# Radii: the shell of a Gaussian and of a uniform cube
# --------------------------------------------------------------------------------------
def radii(z, center=None) -> np.ndarray:
    """(chapter XI) Euclidean length of every row of ``z`` (measured from ``center`` if given)."""
    z = np.asarray(z, np.float64)
    if center is not None:
        z = z - np.asarray(center, np.float64)
    return np.linalg.norm(z, axis=1)


def chi_mean(z_dim: int) -> float:
    """(chapter Curse I) E|z| for z ~ N(0, I) in z_dim dimensions: sqrt(2)·Γ((d+1)/2)/Γ(d/2), close to
    sqrt(d - 1/2)."""
    from scipy.special import gammaln

    d = z_dim
    return float(np.sqrt(2.0) * np.exp(gammaln((d + 1) / 2) - gammaln(d / 2)))


def chi_std(z_dim: int) -> float:
    """(chapter Curse II) Standard deviation of |z| for z ~ N(0, I): about 1/sqrt(2), whatever z_dim."""
    return float(np.sqrt(max(z_dim - chi_mean(z_dim) ** 2, 0.0)))


def cube_radius(b: float, z_dim: int) -> float:
    """(chapter XI) Typical length of a point drawn uniformly from the cube [-b, b]^z_dim: b·sqrt(z_dim/3)."""
    return float(b * np.sqrt(z_dim / 3.0))


def cube_within_radius(r: float, b: float, z_dim: int) -> float:
    """(chapter Curse I) Probability that a uniform point of the cube [-b, b]^z_dim lies within distance ``r``
    of the origin.  The squared length is a sum of z_dim terms u_i² with mean b²/3 and
    variance 4b⁴/45, so for the large z_dim of a latent space a normal approximation is accurate
    near the typical radius (far in its tails it is only a rough guide).  For r <= b the ball lies
    inside the cube and the answer is the exact volume ratio."""
    from scipy.stats import norm

    if r <= b:
        return float(10.0 ** log10_ball_over_cube(r, b, z_dim))

    mean, var = z_dim * b * b / 3.0, z_dim * 4.0 * b**4 / 45.0
    return float(norm.cdf((r * r - mean) / np.sqrt(var)))


def log10_ball_over_cube(r: float, b: float, z_dim: int) -> float:
    """(chapter Curse I) log10 of vol(ball of radius r in z_dim dimensions) / vol(cube [-b, b]^z_dim).

    For r <= b the ball lies inside the cube and this is the fraction of the cube it fills."""
    from scipy.special import gammaln

    d = z_dim
    log_ball = (d / 2) * np.log(np.pi) - gammaln(d / 2 + 1) + d * np.log(r)
    log_cube = d * np.log(2.0 * b)
    return float((log_ball - log_cube) / np.log(10.0))


# --------------------------------------------------------------------------------------
# Shape of the cloud: PCA (summaries of a cloud: kit.latent_summary)
# --------------------------------------------------------------------------------------
@dataclass
class PCA:
    """(chapter Curse I) Principal axes of a point cloud: ``components`` rows are unit directions, sorted by
    ``variances`` (largest first); ``mean`` is the centre of the cloud."""

    mean: np.ndarray
    components: np.ndarray  # (k, d)
    variances: np.ndarray  # (k,)

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
    """(chapter Curse II) PCA of the rows of ``z`` from the eigen-decomposition of their covariance."""
    z = np.asarray(z, np.float64)
    mean = z.mean(axis=0)
    cov = np.cov(z - mean, rowvar=False)
    w, v = np.linalg.eigh(np.atleast_2d(cov))
    order = np.argsort(w)[::-1]
    return PCA(mean=mean, components=v[:, order].T, variances=np.clip(w[order], 0.0, None))


# --------------------------------------------------------------------------------------
# The VAE's own view: KL per dimension and active units
# --------------------------------------------------------------------------------------
def kl_per_dim(mu, log_var) -> np.ndarray:
    """(chapter Curse II) KL(N(mu, exp(log_var)) || N(0, 1)) per latent dimension, averaged over the samples."""
    mu, log_var = np.asarray(mu, np.float64), np.asarray(log_var, np.float64)
    return np.mean(0.5 * (mu * mu + np.exp(log_var) - 1.0 - log_var), axis=0)


def active_units(mu, threshold: float = 0.01):
    """(chapter Curse II) ``(count, mask)``: dimensions whose mean code varies across inputs, Var_x[mu_j] > threshold
    (Burda et al.'s activity measure).  An inactive dimension ignores its input."""
    mask = np.var(np.asarray(mu, np.float64), axis=0) > threshold
    return int(mask.sum()), mask


# --------------------------------------------------------------------------------------
# Moving through the space
# --------------------------------------------------------------------------------------
def attribute_vector(z, labels) -> np.ndarray:
    """(chapter Latent explorer) Mean code of the images with an attribute minus that of the images without it
    (labels ±1 or bool)."""
    z = np.asarray(z, np.float64)
    has = np.asarray(labels) > 0
    if has.all() or not has.any():
        raise ValueError("attribute_vector needs images with and without the attribute")
    return z[has].mean(axis=0) - z[~has].mean(axis=0)


def interpolate(z1, z2, n: int = 8) -> np.ndarray:
    """(chapter Curse I) ``n`` points on the straight line from ``z1`` to ``z2`` (both ends included)."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1.0 - t) * np.asarray(z1, np.float64) + t * np.asarray(z2, np.float64)
