"""Walking through a latent space: a live ipywidgets explorer and its static stand-ins.

    ex = explorer.LatentExplorer(model, codes, attributes={"Smiling": v}, faces=(i, j))
    ex.widget                      # display it in Jupyter/Colab: sliders and the decoded face
    ex.set(axis0=2.0)              # or move a control from code; the image updates

A static page (the HTML book) has no kernel behind the sliders, so each control also has a
figure that shows what moving it does: :func:`axis_grid`, :func:`attribute_grid`,
:func:`interpolation_strip`, :func:`radius_strip` and an animated :func:`morph_gif`.
"""

from __future__ import annotations

import io

import numpy as np

from .. import latent
from ..models import decode
from . import plots


def png_bytes(image, scale: int = 3) -> bytes:
    """One (h, w, c) image in [0, 1] as PNG bytes, enlarged ``scale`` times."""
    from PIL import Image

    x = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    if x.shape[-1] == 1:
        x = x[..., 0]
    im = Image.fromarray(x)
    return _save(im.resize((im.width * scale, im.height * scale), Image.NEAREST), "PNG")


def _save(im, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


class LatentExplorer:
    """Sliders that move a latent point; the decoded image follows.

    The point is built from the controls in this order: interpolate between faces A and B
    (``t``), add ``axis_i`` standard deviations along principal direction i, add each attribute
    vector times its strength, then scale its offset from the cloud's centre by ``radius``.
    """

    def __init__(
        self,
        model,
        codes,
        attributes: dict | None = None,
        n_axes: int = 3,
        faces=(0, 1),
        scale: int = 3,
        axis_range: float = 4.0,
    ):
        import ipywidgets as w

        self.model, self.codes = model, np.asarray(codes, np.float64)
        self.pca = latent.pca(self.codes)
        self.attributes = dict(attributes or {})
        self.scale = scale
        n_axes = min(n_axes, self.codes.shape[1])
        slider = dict(
            continuous_update=False, readout_format=".2f", style={"description_width": "initial"}
        )
        self.controls = {
            "a": w.BoundedIntText(
                value=faces[0], min=0, max=len(self.codes) - 1, description="face A"
            ),
            "b": w.BoundedIntText(
                value=faces[1], min=0, max=len(self.codes) - 1, description="face B"
            ),
            "t": w.FloatSlider(
                value=0.0, min=0.0, max=1.0, step=0.05, description="A → B", **slider
            ),
            "radius": w.FloatSlider(
                value=1.0,
                min=0.0,
                max=4.0,
                step=0.1,
                description="radius × (about the centre)",
                **slider,
            ),
        }
        for i in range(n_axes):
            self.controls[f"axis{i}"] = w.FloatSlider(
                value=0.0,
                min=-axis_range,
                max=axis_range,
                step=0.25,
                description=f"PC {i + 1} (σ)",
                **slider,
            )
        for name in self.attributes:
            self.controls[f"attr:{name}"] = w.FloatSlider(
                value=0.0, min=-3.0, max=3.0, step=0.25, description=f"{name} ×", **slider
            )
        self.image = w.Image(format="png")
        self.readout = w.HTML()
        self.play = w.Play(min=0, max=20, step=1, interval=150, description="morph A → B")
        self.play.observe(lambda ch: self.set(t=ch["new"] / 20.0), names="value")
        for c in self.controls.values():
            c.observe(self.update, names="value")
        left = w.VBox(
            [
                w.HBox([self.controls["a"], self.controls["b"]]),
                w.HBox([self.controls["t"], self.play]),
            ]
            + [c for k, c in self.controls.items() if k not in ("a", "b", "t")]
        )
        self.widget = w.HBox([left, w.VBox([self.image, self.readout])])
        self.update()

    def z(self) -> np.ndarray:
        """The latent point the controls describe now."""
        v = {k: c.value for k, c in self.controls.items()}
        t = float(v["t"])
        z = (1.0 - t) * self.codes[int(v["a"])] + t * self.codes[int(v["b"])]
        stds = self.pca.stds
        for k, val in v.items():
            if k.startswith("axis"):
                i = int(k[4:])
                z = z + float(val) * stds[i] * self.pca.components[i]
            elif k.startswith("attr:"):
                z = z + float(val) * self.attributes[k[5:]]
        return self.pca.mean + float(v["radius"]) * (z - self.pca.mean)

    def update(self, change=None) -> None:
        """Decode the current point into the image (called by every control)."""
        z = self.z()
        self.image.value = png_bytes(decode(self.model, z)[0], self.scale)
        self.readout.value = (
            f"|z| = {np.linalg.norm(z):.1f} &nbsp; distance from centre = "
            f"{np.linalg.norm(z - self.pca.mean):.1f} &nbsp; "
            f"(codes: mean |z − centre| = {latent.radii(self.codes, self.pca.mean).mean():.1f})"
        )

    def set(self, **values) -> None:
        """Move controls from code, e.g. ``set(axis0=2, t=0.5)`` or ``set(**{"attr:Smiling": 1})``."""
        for k, val in values.items():
            self.controls[k].value = val


def along_axes(centre, directions, scales, values) -> np.ndarray:
    """Codes ``centre + v·scale_i·direction_i``: one row per direction, one column per value.

    Returns shape (len(directions) * len(values), d), row-major."""
    centre = np.asarray(centre, np.float64)
    out = [
        centre + v * s * np.asarray(d, np.float64)
        for d, s in zip(directions, scales)
        for v in values
    ]
    return np.asarray(out)


# --------------------------------------------------------------------------------------
# Static fallbacks: one figure per control
# --------------------------------------------------------------------------------------
def axis_grid(model, codes, n_axes: int = 4, values=(-3, -2, -1, 0, 1, 2, 3), size: float = 1.0):
    """Rows: principal directions of ``codes``; columns: centre + v·σ_i along that direction."""
    p = latent.pca(codes)
    z = along_axes(p.mean, p.components[:n_axes], p.stds[:n_axes], values)
    fig = plots.image_grid(
        decode(model, z),
        ncols=len(values),
        size=size,
        row_labels=[f"PC {i + 1}" for i in range(n_axes)],
        title="moving along principal directions: columns " + ", ".join(f"{v:+g}σ" for v in values),
    )
    return fig


def attribute_grid(
    model, base_codes, vectors: dict, strengths=(-2, -1, 0, 1, 2, 3), size: float = 1.0
):
    """For each base code and attribute a row: base + s·vector for each strength s."""
    base_codes = np.atleast_2d(np.asarray(base_codes, np.float64))
    names = list(vectors)
    z = np.asarray(
        [b + s * np.asarray(vectors[n]) for b in base_codes for n in names for s in strengths]
    )
    labels = [f"{n}" for _ in base_codes for n in names]
    return plots.image_grid(
        decode(model, z),
        ncols=len(strengths),
        size=size,
        row_labels=labels,
        title="adding attribute vectors, strengths " + ", ".join(f"{s:+g}" for s in strengths),
    )


def interpolation_strip(model, pairs, n: int = 8, size: float = 1.0):
    """One row per pair (z1, z2): decoded points on the straight line between them."""
    z = np.concatenate([latent.interpolate(a, b, n) for a, b in pairs])
    return plots.image_grid(
        decode(model, z), ncols=n, size=size, title="interpolating between two encoded faces"
    )


def radius_strip(model, codes, centre, factors=(0, 0.5, 1, 1.5, 2, 3, 4), size: float = 1.0):
    """One row per code: centre + f·(code − centre) for each factor f."""
    codes = np.atleast_2d(np.asarray(codes, np.float64))
    z = np.asarray([centre + f * (c - centre) for c in codes for f in factors])
    return plots.image_grid(
        decode(model, z),
        ncols=len(factors),
        size=size,
        title="radius × " + ", ".join(f"{f:g}" for f in factors),
    )


def morph_gif(model, z1, z2, n: int = 16, scale: int = 2, duration_ms: int = 120) -> bytes:
    """An animated GIF that morphs from ``z1`` to ``z2`` and back (bytes for
    ``IPython.display.Image(data=..., format="gif")``)."""
    from PIL import Image

    imgs = decode(model, latent.interpolate(z1, z2, n))
    frames = []
    for x in list(imgs) + list(imgs[::-1][1:-1]):
        im = Image.fromarray((np.clip(x, 0, 1) * 255).round().astype(np.uint8).squeeze())
        frames.append(im.resize((im.width * scale, im.height * scale), Image.NEAREST))
    return _save(
        frames[0], "GIF", save_all=True, append_images=frames[1:], duration=duration_ms, loop=0
    )
