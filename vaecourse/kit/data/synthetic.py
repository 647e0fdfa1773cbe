"""A procedural set of RGB face images with CelebA-style attribute labels.

The course must run where CelebA cannot be downloaded (CI, a laptop offline), so it ships
a generator of cartoon-like faces with the kind of variety a VAE has to model: face shape,
position, size, pose (yaw and roll), skin tone, hair style and colour, eyes, brows, nose,
mouth, glasses, beards, hats, clothing, background gradients and clutter, lighting, blur
and noise.  Every image carries the 40 CelebA attributes (+1/-1), drawn so that each one
changes what the picture shows (``Smiling`` bends the mouth, ``Eyeglasses`` draws frames...).

How it renders: each shape is an approximate signed distance on a pixel grid, turned into
an anti-aliased coverage ``clip(0.5 - d / pixel, 0, 1)`` and blended back to front.  The
work is vectorised over a chunk of images at once, so numpy does the loops.  Chunk ``i``
draws from ``SeedSequence([seed, i, version])``: an image depends on (seed, index, size),
not on how many processes render it, nor (beyond float rounding) on how many are made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .attributes import ATTR_NAMES, N_ATTRS, attr_index

#: Bump when the pictures change: it is part of the cache key.
GENERATOR_VERSION = 3
#: Images rendered together; fixed, because the random stream is drawn per chunk.
CHUNK = 64

_A = {name: attr_index(name) for name in ATTR_NAMES}

# Colour palettes, RGB in 0..255.  Skin runs from pale to dark.
_SKIN = (
    np.array(
        [
            (252, 228, 214),
            (241, 204, 178),
            (226, 182, 148),
            (203, 152, 112),
            (164, 113, 78),
            (118, 78, 52),
            (82, 54, 38),
        ],
        np.float32,
    )
    / 255
)
# Hair families: (darkest, lightest) and the CelebA label each one sets (None: no label).
_HAIR = [
    ((18, 16, 16), (42, 34, 30), "Black_Hair"),
    ((78, 52, 34), (125, 84, 52), "Brown_Hair"),
    ((196, 160, 92), (240, 216, 152), "Blond_Hair"),
    ((150, 148, 146), (214, 212, 208), "Gray_Hair"),
    ((128, 52, 28), (172, 82, 42), None),  # auburn / red
    ((48, 34, 26), (70, 48, 34), None),
]  # dark brown, unlabelled as in CelebA
_HAIR_P_FEMALE = np.array([0.22, 0.22, 0.25, 0.02, 0.09, 0.20])
_HAIR_P_MALE = np.array([0.30, 0.22, 0.06, 0.08, 0.05, 0.29])
_IRIS = (
    np.array(
        [(92, 58, 32), (48, 32, 22), (72, 112, 162), (84, 122, 82), (124, 98, 52), (112, 122, 132)],
        np.float32,
    )
    / 255
)


@dataclass
class Faces:
    """Images and labels from :func:`render_faces`."""

    images: np.ndarray  # (n, h, w, 3) uint8
    attrs: np.ndarray  # (n, 40) int8, +1/-1, columns as ATTR_NAMES
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return len(self.images) / self.seconds if self.seconds > 0 else float("inf")


# ----------------------------------------------------------------------------- geometry
def _ellipse(x, y, a, b):
    """Approximate signed distance to an axis-aligned ellipse (negative inside).

    First-order estimate f/|grad f| of f = (x/a)^2 + (y/b)^2 - 1: exact enough near the
    outline, which is all anti-aliasing needs.
    """
    xa = x / a
    yb = y / b
    f = xa * xa + yb * yb - 1.0
    g = 2.0 * np.sqrt((xa / a) ** 2 + (yb / b) ** 2) + 1e-6
    return f / g


def _box(x, y, hw, hh):
    """Signed distance (Chebyshev-style, fine for AA) to a centred box of half sizes hw, hh."""
    return np.maximum(np.abs(x) - hw, np.abs(y) - hh)


def _cover(d, pw):
    """Anti-aliased coverage of the region ``d < 0`` with pixels ``pw`` wide."""
    return np.clip(0.5 - d / pw, 0.0, 1.0)


def _c(a):
    """Per-image parameter -> shape (b, 1, 1) to broadcast over pixels."""
    return np.asarray(a, np.float32)[:, None, None]


def _lerp_palette(palette, t):
    """Colour at position t in [0, 1] along a palette of k colours."""
    k = len(palette) - 1
    pos = np.clip(t, 0, 1) * k
    i = np.minimum(pos.astype(int), k - 1)
    f = (pos - i)[:, None]
    return (palette[i] * (1 - f) + palette[i + 1] * f).astype(np.float32)


# ----------------------------------------------------------------------------- the faces
def _samplers(rng, b):
    """``u(lo, hi)``: ``b`` uniform float32 draws; ``bern(p)``: ``b`` Bernoulli draws."""
    u = lambda lo, hi: rng.uniform(lo, hi, b).astype(np.float32)  # noqa: E731
    bern = lambda p: rng.random(b) < p  # noqa: E731
    return u, bern


def _draw_head(rng, b, p, f):
    """Sex and age, the face's shape, placement and pose, the skin."""
    u, bern = _samplers(rng, b)
    male = bern(0.42)
    young = bern(0.76)
    p["male"], p["young"] = male, young
    # face shape
    chubby = bern(0.07)
    oval = ~chubby & bern(0.30)
    p["A"] = (
        u(0.30, 0.35)
        * np.where(chubby, 1.13, 1.0)
        * np.where(oval, 0.93, 1.0)
        * np.where(male, 1.04, 1.0)
    )
    p["Bh"] = u(0.40, 0.45) * np.where(oval, 1.07, 1.0)
    p["taper"] = (
        u(0.12, 0.30)
        * np.where(male, 0.75, 1.0)
        * np.where(chubby, 0.5, 1.0)
        * np.where(oval, 1.3, 1.0)
    )
    double_chin = bern(0.04) | (chubby & bern(0.5))
    # placement and pose
    p["cx"], p["cy"] = u(-0.09, 0.09), u(-0.02, 0.10)
    p["scale"] = u(1.30, 1.60)
    p["roll"] = np.clip(rng.normal(0, 0.11, b), -0.3, 0.3).astype(np.float32)
    p["yaw"] = np.clip(rng.normal(0, 0.35, b), -0.7, 0.7).astype(np.float32)
    # skin
    skin_t = rng.random(b) ** 1.25
    pale = skin_t < 0.10
    p["skin"] = _lerp_palette(_SKIN, skin_t) * u(0.96, 1.04)[:, None]
    f.update(male=male, young=young, chubby=chubby, oval=oval, double_chin=double_chin, pale=pale)


def _draw_hair(rng, b, p, f):
    """Hair (colour family, baldness, length, bangs, waves) and facial hair."""
    u, bern = _samplers(rng, b)
    male, young = f["male"], f["young"]
    # hair
    probs = np.where(male[:, None], _HAIR_P_MALE, _HAIR_P_FEMALE)
    probs = np.where(~young[:, None], probs * np.array([1, 1, 1, 8, 1, 1]), probs)
    probs = probs / probs.sum(1, keepdims=True)
    fam = (rng.random(b)[:, None] > np.cumsum(probs, 1)).sum(1)
    fam = np.minimum(fam, len(_HAIR) - 1)
    lo = np.array([h[0] for h in _HAIR], np.float32)[fam] / 255
    hi = np.array([h[1] for h in _HAIR], np.float32)[fam] / 255
    t = rng.random(b)[:, None].astype(np.float32)
    p["hair"] = lo * (1 - t) + hi * t
    bald = male & bern(np.where(young, 0.04, 0.30))
    receding = male & ~bald & bern(np.where(young, 0.06, 0.35))
    long_hair = ~bald & bern(np.where(male, 0.06, 0.80))
    p["hair_len"] = u(0.35, 0.85)
    p["volume"] = u(1.00, 1.12) * np.where(male, 0.97, 1.04)
    bangs = ~bald & bern(np.where(male, 0.08, 0.22))
    p["bang_side"] = np.where(bern(0.4), u(-0.12, 0.12), 0).astype(np.float32)
    wavy = ~bald & bern(np.where(male, 0.18, 0.42))
    straight = ~bald & ~wavy & bern(0.35)
    p["phase"] = u(0, 2 * np.pi)
    # facial hair
    beard = male & bern(0.24)
    goatee = male & ~beard & bern(0.08)
    mustache = male & bern(np.where(beard, 0.75, 0.06))
    shadow5 = male & ~beard & ~goatee & bern(0.30)
    sideburns = male & ~bald & bern(np.where(beard, 0.7, 0.08))
    f.update(
        fam=fam,
        bald=bald,
        receding=receding,
        long_hair=long_hair,
        bangs=bangs,
        wavy=wavy,
        straight=straight,
        beard=beard,
        goatee=goatee,
        mustache=mustache,
        shadow5=shadow5,
        sideburns=sideburns,
    )


def _draw_features(rng, b, p, f):
    """Eyes, brows, nose and mouth."""
    u, bern = _samplers(rng, b)
    male, young = f["male"], f["young"]
    # eyes, brows, nose, mouth
    narrow = bern(0.12)
    p["eye_w"] = u(0.062, 0.080)
    p["eye_h"] = np.where(narrow, u(0.016, 0.022), u(0.032, 0.042))
    p["eye_x"] = u(0.38, 0.45)
    p["eye_y"] = u(-0.07, -0.03)
    p["iris"] = _IRIS[rng.integers(0, len(_IRIS), b)]
    bags = bern(np.where(young, 0.12, 0.50))
    arched = bern(np.where(male, 0.08, 0.42))
    bushy = bern(np.where(male, 0.28, 0.06))
    p["brow_lift"] = u(0.075, 0.10)
    p["brow_tilt"] = u(-0.015, 0.015)
    big_nose = bern(np.where(male, 0.35, 0.15))
    pointy = ~big_nose & bern(0.32)
    p["nose_len"] = u(0.13, 0.16) * np.where(big_nose, 1.12, 1.0)
    p["nose_w"] = u(0.030, 0.038) * np.where(big_nose, 1.4, 1.0) * np.where(pointy, 0.8, 1.0)
    smiling = bern(0.48)
    mouth_open = bern(np.where(smiling, 0.75, 0.2))
    big_lips = bern(0.24)
    p["mouth_y"] = p["nose_len"] + u(0.10, 0.13)
    p["mouth_w"] = u(0.095, 0.12) * np.where(smiling, 1.15, 1.0)
    p["lip_h"] = u(0.018, 0.026) * np.where(big_lips, 1.5, 1.0)
    p["smile"] = u(0.03, 0.05)
    high_cheek = bern(np.where(smiling, 0.75, 0.15))
    f.update(
        narrow=narrow,
        bags=bags,
        arched=arched,
        bushy=bushy,
        big_nose=big_nose,
        pointy=pointy,
        smiling=smiling,
        mouth_open=mouth_open,
        big_lips=big_lips,
        high_cheek=high_cheek,
    )


def _draw_makeup_and_accessories(rng, b, p, f):
    """Make-up, glasses, hats, jewellery, neckties, clothes."""
    u, bern = _samplers(rng, b)
    male = f["male"]
    # make-up (worn by women in this set, as mostly labelled in CelebA)
    makeup = ~male & bern(0.60)
    lipstick = ~male & (makeup | bern(0.15))
    rosy = bern(0.04) | (makeup & bern(0.12))
    p["lip_col"] = np.where(
        lipstick[:, None],
        np.array(
            [(0.72, 0.10, 0.18), (0.80, 0.25, 0.35), (0.55, 0.08, 0.20), (0.85, 0.35, 0.30)],
            np.float32,
        )[rng.integers(0, 4, b)],
        p["skin"] * np.array([0.82, 0.58, 0.58], np.float32),
    )
    p["shadow_col"] = np.array(
        [(0.45, 0.30, 0.50), (0.40, 0.28, 0.22), (0.30, 0.40, 0.60)], np.float32
    )[rng.integers(0, 3, b)]
    # accessories
    glasses = bern(0.12)
    p["sunglasses"] = glasses & bern(0.25)
    p["frame"] = np.array(
        [
            (0.08, 0.08, 0.08),
            (0.45, 0.30, 0.15),
            (0.70, 0.70, 0.72),
            (0.55, 0.10, 0.12),
            (0.12, 0.20, 0.45),
        ],
        np.float32,
    )[rng.integers(0, 5, b)]
    p["frame_t"] = u(0.010, 0.020)
    hat = bern(0.08)
    p["brim"] = bern(0.55)
    p["hat_col"] = rng.uniform(0.05, 0.9, (b, 3)).astype(np.float32)
    p["hat_y"] = u(-0.30, -0.22)
    earrings = ~male & bern(0.35)
    necklace = ~male & bern(0.18)
    necktie = male & bern(0.12)
    p["cloth"] = rng.uniform(0.05, 0.85, (b, 3)).astype(np.float32) ** 1.3
    p["metal"] = np.where(
        bern(0.5)[:, None],
        np.array([0.85, 0.70, 0.30], np.float32),
        np.array([0.82, 0.82, 0.86], np.float32),
    )
    f.update(
        makeup=makeup,
        lipstick=lipstick,
        rosy=rosy,
        glasses=glasses,
        hat=hat,
        earrings=earrings,
        necklace=necklace,
        necktie=necktie,
    )


def _draw_scene(rng, b, p, f):
    """Background gradient, clutter, light, blur, noise."""
    u, bern = _samplers(rng, b)
    # scene: background gradient, clutter, light, blur, noise
    # muted colours: a random colour pulled towards a random grey
    grey = rng.uniform(0.15, 0.85, (b, 1))
    p["bg1"] = (0.55 * rng.uniform(0, 1, (b, 3)) + 0.45 * grey).astype(np.float32)
    p["bg2"] = np.clip(p["bg1"] + rng.normal(0, 0.25, (b, 3)), 0, 1).astype(np.float32)
    p["bg_angle"] = u(0, 2 * np.pi)
    p["clutter"] = rng.random((b, 3)) < 0.45
    p["clutter_xy"] = rng.uniform(-1.1, 1.1, (b, 3, 2)).astype(np.float32)
    p["clutter_r"] = rng.uniform(0.08, 0.45, (b, 3, 2)).astype(np.float32)
    p["clutter_col"] = rng.uniform(0, 1, (b, 3, 3)).astype(np.float32)
    p["clutter_box"] = rng.random((b, 3)) < 0.5
    p["light"] = u(-1, 1)  # left/right light
    p["light_k"] = u(0.04, 0.16)
    p["bright"] = u(0.82, 1.12)
    p["cast"] = rng.normal(0, 0.035, (b, 3)).astype(np.float32)
    blurry = bern(0.06)
    p["blurry"] = blurry
    p["soft"] = u(0.0, 0.6)
    p["noise"] = u(0.0, 0.025)
    f.update(blurry=blurry)


def _labels_and_flags(p, f, b):
    """The CelebA attributes (+1/-1) of the drawn choices ``f``, and the renderer's flags:
    ``p`` with the choices it paints."""
    flags = dict(p)
    a = np.full((b, N_ATTRS), -1, np.int8)
    labels = {
        "5_o_Clock_Shadow": f["shadow5"],
        "Arched_Eyebrows": f["arched"],
        "Attractive": f["attractive"],
        "Bags_Under_Eyes": f["bags"],
        "Bald": f["bald"],
        "Bangs": f["bangs"],
        "Big_Lips": f["big_lips"],
        "Big_Nose": f["big_nose"],
        "Blurry": f["blurry"],
        "Bushy_Eyebrows": f["bushy"],
        "Chubby": f["chubby"],
        "Double_Chin": f["double_chin"],
        "Eyeglasses": f["glasses"],
        "Goatee": f["goatee"],
        "Heavy_Makeup": f["makeup"],
        "High_Cheekbones": f["high_cheek"],
        "Male": f["male"],
        "Mouth_Slightly_Open": f["mouth_open"],
        "Mustache": f["mustache"],
        "Narrow_Eyes": f["narrow"],
        "No_Beard": ~(f["beard"] | f["goatee"]),
        "Oval_Face": f["oval"],
        "Pale_Skin": f["pale"],
        "Pointy_Nose": f["pointy"],
        "Receding_Hairline": f["receding"],
        "Rosy_Cheeks": f["rosy"],
        "Sideburns": f["sideburns"],
        "Smiling": f["smiling"],
        "Straight_Hair": f["straight"],
        "Wavy_Hair": f["wavy"],
        "Wearing_Earrings": f["earrings"],
        "Wearing_Hat": f["hat"],
        "Wearing_Lipstick": f["lipstick"],
        "Wearing_Necklace": f["necklace"],
        "Wearing_Necktie": f["necktie"],
        "Young": f["young"],
    }
    for fam_i, (_, _, name) in enumerate(_HAIR):
        if name:
            labels[name] = (f["fam"] == fam_i) & ~f["bald"]
    for name, val in labels.items():
        a[:, _A[name]] = np.where(val, 1, -1)
    flags.update(
        beard=f["beard"],
        goatee=f["goatee"],
        mustache=f["mustache"],
        shadow5=f["shadow5"],
        sideburns=f["sideburns"],
        bald=f["bald"],
        receding=f["receding"],
        long_hair=f["long_hair"],
        bangs=f["bangs"],
        wavy=f["wavy"],
        narrow=f["narrow"],
        bags=f["bags"],
        arched=f["arched"],
        bushy=f["bushy"],
        pointy=f["pointy"],
        smiling=f["smiling"],
        mouth_open=f["mouth_open"],
        high_cheek=f["high_cheek"],
        makeup=f["makeup"],
        rosy=f["rosy"],
        glasses=f["glasses"],
        hat=f["hat"],
        earrings=f["earrings"],
        necklace=f["necklace"],
        necktie=f["necktie"],
        double_chin=f["double_chin"],
    )
    return flags, a


def _draw_params(rng, b):
    """Draw every random choice for ``b`` faces; returns (params dict, attrs (b, 40)).  The
    steps draw in this order from one generator: a set's faces depend on it."""
    p, f = {}, {}
    for draw in (_draw_head, _draw_hair, _draw_features, _draw_makeup_and_accessories, _draw_scene):
        draw(rng, b, p, f)
    # "Attractive" is as subjective here as in CelebA: a label made of other choices.
    f["attractive"] = f["young"] & ~f["blurry"] & ~f["bags"] & ~f["chubby"] & (rng.random(b) < 0.75)
    return _labels_and_flags(p, f, b)


class _Scene:
    """One chunk being rendered: the canvas (channels first, for fast blending), the pixel
    grid in design units, and windows that limit each shape to the pixels it can touch."""

    def __init__(self, p, height, width, frame):
        self.p = p
        self.b = len(p["A"])
        x0, y0, side = frame
        self.half = side / 2.0
        self.x0, self.y0 = x0, y0
        self.h, self.w = height, width
        self.u1 = (np.arange(width, dtype=np.float32) + 0.5 - x0) / self.half - 1.0
        self.v1 = (np.arange(height, dtype=np.float32) + 0.5 - y0) / self.half - 1.0
        self.pw_img = np.float32(1.0 / self.half)  # one pixel in design units
        self.img = np.empty((3, self.b, height, width), np.float32)
        self.margin = 3  # pixels around each window

    # -- windows
    def _slices(self, us, vs):
        """Pixel slices covering design points ``us``, ``vs`` (any shapes), plus a margin."""
        c0 = (np.min(us) + 1) * self.half + self.x0 - self.margin
        c1 = (np.max(us) + 1) * self.half + self.x0 + self.margin
        r0 = (np.min(vs) + 1) * self.half + self.y0 - self.margin
        r1 = (np.max(vs) + 1) * self.half + self.y0 + self.margin
        cs = slice(int(np.clip(np.floor(c0), 0, self.w)), int(np.clip(np.ceil(c1), 0, self.w)))
        rs = slice(int(np.clip(np.floor(r0), 0, self.h)), int(np.clip(np.ceil(r1), 0, self.h)))
        return rs, cs

    def face_window(self, idx, xlo, xhi, ylo, yhi):
        """Window of the face-frame box [xlo, xhi] x [ylo, yhi] over images ``idx``."""
        p = self.p
        s, r = p["scale"][idx], p["roll"][idx]
        cr, sr = np.cos(r), np.sin(r)
        us, vs = [], []
        for X in (xlo, xhi):
            for Y in (ylo, yhi):
                X_ = np.broadcast_to(X, s.shape) if np.ndim(X) else X
                Y_ = np.broadcast_to(Y, s.shape) if np.ndim(Y) else Y
                us.append(p["cx"][idx] + s * (X_ * cr - Y_ * sr))
                vs.append(p["cy"][idx] + s * (X_ * sr + Y_ * cr))
        return self._slices(np.stack(us), np.stack(vs))

    # -- coordinates
    def image_coords(self, rs, cs):
        return self.u1[cs][None, None, :], self.v1[rs][None, :, None]

    def face_coords(self, idx, rs, cs):
        """Face-frame coordinates (X right, Y down, face centre 0) over a window."""
        p = self.p
        u, v = self.image_coords(rs, cs)
        s, r = _c(p["scale"][idx]), _c(p["roll"][idx])
        du, dv = u - _c(p["cx"][idx]), v - _c(p["cy"][idx])
        cr, sr = np.cos(r), np.sin(r)
        return (du * cr + dv * sr) / s, (-du * sr + dv * cr) / s

    # -- painting
    def paint(self, idx, rs, cs, alpha, colour, shade=None):
        """Blend ``colour`` ((b, 3) per image) times ``shade`` over the window."""
        all_ = isinstance(idx, slice)
        sub = self.img[:, idx, rs, cs]
        for ch in range(3):
            col = colour[:, ch][:, None, None]
            if shade is not None:
                col = col * shade
            t = sub[ch]
            t += alpha * (col - t)
        if not all_:
            self.img[:, idx, rs, cs] = sub


class _Q:
    """Per-image parameters of a subset, shaped (b, 1, 1): ``q.A``; raw rows: ``q["skin"]``."""

    def __init__(self, p, idx):
        self._p, self._idx = p, idx

    def __getattr__(self, name):
        return _c(self._p[name][self._idx])

    def __getitem__(self, name):
        return self._p[name][self._idx]


def _blur(img, passes):
    """Separable [1, 2, 1] / 4 blur over the last two axes, ``passes`` times, edges kept."""
    for _ in range(passes):
        img = img.copy()
        img[..., 1:-1, :] = (
            0.25 * img[..., :-2, :] + 0.5 * img[..., 1:-1, :] + 0.25 * img[..., 2:, :]
        )
        img[..., 1:-1] = 0.25 * img[..., :-2] + 0.5 * img[..., 1:-1] + 0.25 * img[..., 2:]
    return img


def _subset(mask):
    """Indices where ``mask`` holds, or None when no image needs the shape."""
    idx = np.flatnonzero(mask)
    return idx if idx.size else None


def _wave(X, Y, qi):
    """Wavy hair: a ripple on the outline of hair shapes."""
    return 0.022 * np.sin(28 * X + qi.phase) * np.cos(18 * Y) * qi.wavy


def _head_hair(X, Y, qi):
    return _ellipse(X, Y + 0.10, qi.A * 1.12 * qi.volume, qi.Bh * 1.06 * qi.volume)


def _paint_background(S, p):
    """A two-colour gradient, then soft boxes and blobs (clutter)."""
    img = S.img
    u, v = S.image_coords(slice(None), slice(None))
    ang = _c(p["bg_angle"])
    t = np.clip(0.5 + 0.5 * (u * np.cos(ang) + v * np.sin(ang)), 0, 1)
    for ch in range(3):
        c1, c2 = _c(p["bg1"][:, ch]), _c(p["bg2"][:, ch])
        img[ch] = c1 + (c2 - c1) * t
    for k in range(p["clutter"].shape[1]):
        idx = _subset(p["clutter"][:, k])
        if idx is None:
            continue
        cx, cy = p["clutter_xy"][idx, k, 0], p["clutter_xy"][idx, k, 1]
        rx, ry = p["clutter_r"][idx, k, 0], p["clutter_r"][idx, k, 1]
        rs, cs = S._slices(np.concatenate([cx - rx, cx + rx]), np.concatenate([cy - ry, cy + ry]))
        if rs.start >= rs.stop or cs.start >= cs.stop:
            continue
        u, v = S.image_coords(rs, cs)
        du, dv = u - _c(cx), v - _c(cy)
        d = np.where(
            _c(p["clutter_box"][idx, k]) > 0,
            _box(du, dv, _c(rx), _c(ry)),
            _ellipse(du, dv, _c(rx), _c(ry)),
        )
        S.paint(idx, rs, cs, 0.7 * _cover(d, 3 * S.pw_img), p["clutter_col"][idx, k])


def _paint_body(S, p):
    """Shoulders (upright: the body does not roll with the head), neck and clothes, with a
    necktie or a necklace."""
    f32, ALL = np.float32, slice(None)
    q = _Q(p, ALL)
    Bh, s = p["Bh"], p["scale"]

    bx = p["cx"] - 0.1 * p["yaw"]
    by = p["cy"] + s * (Bh + 0.48)  # the body starts just below the chin
    rs, cs = S._slices(
        np.stack([bx - s * 0.85, bx + s * 0.85]),
        np.stack([p["cy"] + s * Bh * 0.2 - 0.15, by + s * 0.45]),
    )
    if rs.start < rs.stop:
        u, v = S.image_coords(rs, cs)
        X, Y = S.face_coords(ALL, rs, cs)
        pw = S.pw_img / q.scale
        body = _ellipse(u - _c(bx), v - _c(by), q.scale * 0.82, q.scale * 0.40)
        neck = np.maximum(np.abs(X + 0.05 * q.yaw) - q.A * 0.5, -(Y - q.Bh * 0.3))
        neck_line = _ellipse(X + 0.05 * q.yaw, Y - (q.Bh + 0.14), q.A * 0.6, f32(0.10))
        S.paint(
            ALL, rs, cs, _cover(np.minimum(body, np.minimum(neck, neck_line)), pw), p["skin"] * 0.80
        )
        shade = 1 + 0.25 * q.light_k * q.light * np.sign(u - _c(bx))
        S.paint(ALL, rs, cs, _cover(np.maximum(body, -neck_line), pw), p["cloth"], shade)
        idx = _subset(p["necktie"])
        if idx is not None:
            qi = _Q(p, idx)
            Xi, Yi = X[idx], Y[idx]
            collar = np.maximum(
                _ellipse(Xi, Yi - (qi.Bh + 0.24), qi.A * 0.62, f32(0.16)), -(Yi - (qi.Bh + 0.17))
            )
            pwi = pw[idx]
            S.paint(idx, rs, cs, _cover(collar, pwi), np.full((idx.size, 3), 0.93, f32))
            knot = _ellipse(Xi, Yi - (qi.Bh + 0.20), f32(0.035), f32(0.03))
            blade = (np.abs(Xi) / 0.05 + np.abs(Yi - (qi.Bh + 0.36)) / 0.15 - 1) * 0.045
            tie = np.minimum(knot, np.maximum(blade, -(Yi - (qi.Bh + 0.22))))
            S.paint(idx, rs, cs, _cover(tie, pwi), np.clip(qi["cloth"][:, ::-1] * 0.8, 0, 1))
        idx = _subset(p["necklace"])
        if idx is not None:
            qi = _Q(p, idx)
            Xi, Yi = X[idx], Y[idx]
            ring = np.abs(_ellipse(Xi, Yi - (qi.Bh + 0.04), qi.A * 0.5, f32(0.17))) - 0.008
            ring = np.maximum(ring, -(Yi - (qi.Bh + 0.10)))
            S.paint(idx, rs, cs, _cover(ring, pw[idx]), qi["metal"])


def _paint_long_hair(S, p, top):
    """Long hair behind the head (``top``: the highest hair point in the face frame)."""
    A, Bh = p["A"], p["Bh"]
    idx = _subset(p["long_hair"])
    if idx is not None:
        qi = _Q(p, idx)
        hw = A[idx] * 1.26 * p["volume"][idx] + 0.03
        rs, cs = S.face_window(idx, -hw, hw, top[idx], Bh[idx] + p["hair_len"][idx] + 0.03)
        X, Y = S.face_coords(idx, rs, cs)
        back = np.maximum(np.abs(X) - qi.A * 1.22 * qi.volume, Y - (qi.Bh + qi.hair_len))
        back = np.maximum(back, -(Y + 0.05))
        back = np.minimum(back, _head_hair(X, Y, qi) - 0.03) + _wave(X, Y, qi)
        shade = 0.82 + 0.03 * np.sin(70 * X + 3 * Y + qi.phase)
        S.paint(idx, rs, cs, _cover(back, S.pw_img / qi.scale), qi["hair"], shade)


def _paint_ears(S, p):
    """Ears, with earrings."""
    f32, ALL = np.float32, slice(None)
    q = _Q(p, ALL)
    A, Bh = p["A"], p["Bh"]
    # features move sideways with yaw by this much (design units of the face frame)
    shift_all = p["A"] * 0.22 * p["yaw"]

    for side in (-1, 1):
        ex = side * A * (0.97 - 0.25 * np.maximum(0, side * p["yaw"])) + 0.1 * shift_all
        rs, cs = S.face_window(ALL, ex - 0.08, ex + 0.08, -Bh * 0.25, Bh * 0.5)
        X, Y = S.face_coords(ALL, rs, cs)
        pw = S.pw_img / q.scale
        ear = _ellipse(X - _c(ex), Y - q.Bh * 0.02, f32(0.055), q.Bh * 0.2)
        S.paint(ALL, rs, cs, _cover(ear, pw), p["skin"] * 0.9)
        idx = _subset(p["earrings"])
        if idx is not None:
            ring = _ellipse(
                X[idx] - _c(ex[idx]), Y[idx] - _c(Bh[idx] * 0.24), f32(0.022), f32(0.022)
            )
            S.paint(idx, rs, cs, _cover(ring, pw[idx]), p["metal"][idx])


class _FaceWindow:
    """The window the face and everything on it share: face-frame coordinates ``X``, ``Y``,
    the pixel width ``pw`` and the sideways ``shift`` of features with yaw over it, the face's
    outline ``face``; :meth:`feature` cuts out the sub-window of one feature."""

    def __init__(self, S, p, rs, cs, X, Y, pw, shift, face):
        self.S, self.p, self.rs, self.cs = S, p, rs, cs
        self.X, self.Y, self.pw, self.shift, self.face = X, Y, pw, shift, face

    def part(self, mask, ylo, yhi, xlo=None, xhi=None):
        """Sub-window (and its images) for a feature: a box in the face frame."""
        A = self.p["A"]
        idx = slice(None) if mask is None else _subset(mask)
        if idx is None:
            return None
        ii = slice(None) if mask is None else idx
        sel = lambda a: a[ii] if np.ndim(a) else a  # noqa: E731
        xl = -A[ii] * 1.3 if xlo is None else sel(xlo)
        xh = A[ii] * 1.3 if xhi is None else sel(xhi)
        rs2, cs2 = self.S.face_window(ii, xl, xh, sel(ylo), sel(yhi))
        return idx, rs2, cs2

    def local(self, arr, idx, rs2, cs2):
        """Cut a window-wide array down to a feature's images and sub-window."""
        if arr.shape[1:] == (1, 1):  # a per-image parameter
            return arr[idx]
        r0, c0 = rs2.start - self.rs.start, cs2.start - self.cs.start
        r0, c0 = max(r0, 0), max(c0, 0)
        return arr[idx, r0 : r0 + (rs2.stop - rs2.start), c0 : c0 + (cs2.stop - cs2.start)]

    def clamp(self, rs2, cs2):
        """Keep a sub-window inside the face window (the arrays only cover that)."""
        rs, cs = self.rs, self.cs
        return (
            slice(max(rs2.start, rs.start), min(rs2.stop, rs.stop)),
            slice(max(cs2.start, cs.start), min(cs2.stop, cs.stop)),
        )

    def feature(self, mask, ylo, yhi, xlo=None, xhi=None):
        """``(idx, rows, cols, L, q)`` of the images ``mask`` selects (all for None) over the
        feature's box, ``L`` cutting window-wide arrays down to it; None when nothing shows."""
        got = self.part(mask, ylo, yhi, xlo, xhi)
        if got is None:
            return None
        idx, rs2, cs2 = got
        rs2, cs2 = self.clamp(rs2, cs2)
        if rs2.start >= rs2.stop or cs2.start >= cs2.stop:
            return None
        L = lambda arr: self.local(arr, idx, rs2, cs2)  # noqa: E731
        return idx, rs2, cs2, L, _Q(self.p, idx)


def _paint_face(S, p, top) -> _FaceWindow:
    """The face's skin, shaded; returns the window the features are painted in."""
    ALL = slice(None)
    q = _Q(p, ALL)
    A, Bh = p["A"], p["Bh"]
    rs, cs = S.face_window(ALL, -A * 1.3, A * 1.3, top, Bh + 0.05)
    X, Y = S.face_coords(ALL, rs, cs)
    pw = S.pw_img / q.scale
    shift = q.A * 0.22 * q.yaw
    light, lk = q.light, q.light_k
    skin = p["skin"]

    taper = 1 - q.taper * np.clip(Y / q.Bh, 0, 1) ** 2
    Xf = X - 0.04 * shift
    face = _ellipse(Xf, Y, q.A * taper, q.Bh)
    r2 = (Xf / q.A) ** 2 + (Y / q.Bh) ** 2
    shade = 1.04 - 0.10 * r2 + lk * light * X / q.A - 0.08 * q.yaw * X / q.A
    S.paint(ALL, rs, cs, _cover(face, pw), skin, shade)
    return _FaceWindow(S, p, rs, cs, X, Y, pw, shift, face)


def _paint_chin_and_cheeks(F):
    """A double chin's crease; a highlight for high cheekbones, pink for rosy cheeks."""
    f32 = np.float32
    p, S, Bh, X, Y, pw, shift = F.p, F.S, F.p["Bh"], F.X, F.Y, F.pw, F.shift
    feature = F.feature
    got = feature(p["double_chin"], Bh * 0.5, Bh * 1.2)
    if got:
        idx, r2_, c2_, L, qi = got
        Xi, Yi = L(X), L(Y)
        crease = np.abs(_ellipse(Xi, Yi - qi.Bh * 0.80, qi.A * 0.42, qi.Bh * 0.22)) - 0.006
        crease = np.maximum(crease, -(Yi - qi.Bh * 0.88))
        S.paint(idx, r2_, c2_, 0.5 * _cover(crease, L(pw)), qi["skin"] * 0.7)

    # cheeks: a highlight for high cheekbones, pink for rosy cheeks
    for key, col_f, alpha in (("high_cheek", None, 0.30), ("rosy", (0.95, 0.45, 0.48), 0.45)):
        got = feature(p[key], -0.05, 0.2)
        if not got:
            continue
        idx, r2_, c2_, L, qi = got
        Xi, Yi, pwi, shi = L(X), L(Y), L(pw), L(shift)
        col = (
            np.minimum(qi["skin"] * 1.12, 1)
            if col_f is None
            else np.broadcast_to(np.array(col_f, f32), (idx.size, 3))
        )
        for side in (-1, 1):
            d = _ellipse(Xi - side * qi.A * 0.55 - shi, Yi - 0.08, f32(0.085), f32(0.055))
            # soft edges are set in face units, so they look alike at every size
            S.paint(idx, r2_, c2_, alpha * _cover(d, np.maximum(pwi, f32(0.12))), col)


def _paint_facial_hair(F):
    """Stubble, full beard, goatee and sideburns."""
    f32 = np.float32
    p, S, Bh, X, Y, pw, shift = F.p, F.S, F.p["Bh"], F.X, F.Y, F.pw, F.shift
    face, feature = F.face, F.feature
    for key, alpha, grey in (("shadow5", 0.28, True), ("beard", 0.95, False)):
        got = feature(p[key], -0.3, Bh + 0.05)
        if not got:
            continue
        idx, r2_, c2_, L, qi = got
        Xi, Yi = L(X), L(Y)
        zone = np.maximum(L(face) - 0.004, -(Yi - (qi.mouth_y - 0.10 - 0.25 * (Xi / qi.A) ** 2)))
        col = np.full((idx.size, 3), 0.25, f32) if grey else qi["hair"] * 0.9
        S.paint(idx, r2_, c2_, alpha * _cover(zone + 0.6 * _wave(Xi, Yi, qi), 2 * L(pw)), col)
    got = feature(p["goatee"], 0.1, Bh + 0.05)
    if got:
        idx, r2_, c2_, L, qi = got
        d = _ellipse(L(X) - L(shift), L(Y) - (qi.mouth_y + 0.10), f32(0.075), f32(0.09))
        S.paint(idx, r2_, c2_, 0.95 * _cover(np.maximum(d, L(face)), 2 * L(pw)), qi["hair"] * 0.9)
    got = feature(p["sideburns"], -0.2, 0.15)
    if got:
        idx, r2_, c2_, L, qi = got
        Xi, Yi = L(X), L(Y)
        d = np.maximum(np.abs(np.abs(Xi) - qi.A * 0.9) - qi.A * 0.09, np.abs(Yi + 0.02) - 0.13)
        S.paint(idx, r2_, c2_, _cover(np.maximum(d, L(face) - 0.01), L(pw)), qi["hair"] * 0.9)


def _paint_eyes(F):
    """Eyes (make-up, bags, sclera, iris, pupil, lid line) and brows."""
    f32, ALL = np.float32, slice(None)
    p, S, X, Y, pw, shift = F.p, F.S, F.X, F.Y, F.pw, F.shift
    skin, feature = p["skin"], F.feature
    got = feature(None, -0.28, 0.1)
    idx, r2_, c2_, L, qe = got
    Xe, Ye, pwe, she = L(X), L(Y), L(pw), L(shift)
    ey, ew, eh, yaw = qe.eye_y, qe.eye_w, qe.eye_h, qe.yaw
    for side in (-1, 1):
        far = np.maximum(0, -side * yaw)  # the eye on the far side looks narrower
        ex = side * qe.A * qe.eye_x + she + side * 0.05 * far
        w = ew * (1 - 0.4 * far)
        ux, uy = Xe - ex, Ye - ey
        mk = _subset(p["makeup"])
        if mk is not None:
            d = _ellipse(ux[mk], uy[mk] + 0.022, w[mk] * 1.25, eh[mk] + 0.025)
            S.paint(
                mk, r2_, c2_, 0.5 * _cover(d, np.maximum(pwe[mk], f32(0.05))), p["shadow_col"][mk]
            )
        bg = _subset(p["bags"])
        if bg is not None:
            d = np.abs(_ellipse(ux[bg], uy[bg] - 0.012, w[bg] * 0.9, eh[bg] + 0.02)) - 0.006
            d = np.maximum(d, -(uy[bg] - 0.02))
            S.paint(bg, r2_, c2_, 0.45 * _cover(d, 2 * pwe[bg]), skin[bg] * 0.62)
        eye = _ellipse(ux, uy, w, eh)
        eye_a = _cover(eye, pwe)
        S.paint(ALL, r2_, c2_, eye_a, np.full_like(skin, 0.93))
        gx = ux - 0.35 * w * yaw  # irises follow the turn of the head
        iris = _ellipse(gx, uy, f32(0.028) * (1 - 0.3 * far), f32(0.028))
        S.paint(ALL, r2_, c2_, np.minimum(_cover(iris, pwe), eye_a), p["iris"])
        pupil = _ellipse(gx, uy, f32(0.012), f32(0.012))
        S.paint(ALL, r2_, c2_, np.minimum(_cover(pupil, pwe), eye_a), np.full_like(skin, 0.05))
        lid = np.maximum(np.abs(eye) - 0.005, uy + 0.3 * eh)
        S.paint(ALL, r2_, c2_, 0.9 * _cover(lid, pwe), skin * 0.35)
        # brow: an arc above the eye; thicker when bushy, rounder when arched
        bb = np.where(qe.arched > 0, f32(0.055), f32(0.10))
        bx_ = ux + side * 0.01
        by_ = uy + qe.brow_lift - bb * 0.8 + qe.brow_tilt * side * bx_ / 0.1
        brow = np.abs(_ellipse(bx_, by_, w * 1.35, bb))
        brow = brow - np.where(qe.bushy > 0, f32(0.017), f32(0.009))
        brow = np.maximum(brow, by_ + 0.55 * bb)
        brow_col = np.where(p["bald"][:, None], np.full_like(skin, 0.3), p["hair"] * 0.8)
        S.paint(ALL, r2_, c2_, 0.95 * _cover(brow, pwe), brow_col)


def _paint_nose(F):
    """A shadow along one side of the nose, the tip, nostrils."""
    f32, ALL = np.float32, slice(None)
    p, S, X, Y, pw, shift = F.p, F.S, F.X, F.Y, F.pw, F.shift
    skin, feature = p["skin"], F.feature
    idx, r2_, c2_, L, qn = feature(None, -0.05, 0.25)
    Xn, Yn, pwn, shn = L(X), L(Y), L(pw), L(shift)
    nl, nw = qn.nose_len, qn.nose_w
    nx = Xn - 1.6 * shn
    side_shadow = (
        np.abs(_ellipse(nx + 0.6 * nw * np.sign(qn.light + 1e-3), Yn - nl * 0.45, nw, nl * 0.6))
        - 0.006
    )
    side_shadow = np.maximum(side_shadow, -(Yn - nl * 0.2))
    S.paint(ALL, r2_, c2_, 0.35 * _cover(side_shadow, 2 * pwn), skin * 0.7)
    tip = _ellipse(nx, Yn - nl, nw * 1.1, nw * np.where(qn.pointy > 0, 0.55, 0.8))
    S.paint(ALL, r2_, c2_, 0.35 * _cover(np.abs(tip) - 0.004, pwn) * (Yn > nl), skin * 0.6)
    for side in (-1, 1):
        nostril = _ellipse(nx - side * nw * 0.7, Yn - nl - 0.006, nw * 0.42, f32(0.011))
        S.paint(ALL, r2_, c2_, 0.7 * _cover(nostril, pwn), skin * 0.45)


def _paint_mouth(F):
    """Lips bent into a smile, an opening with teeth, a seam, a moustache."""
    f32, ALL = np.float32, slice(None)
    p, S, X, Y, pw, shift = F.p, F.S, F.X, F.Y, F.pw, F.shift
    skin, feature = p["skin"], F.feature
    idx, r2_, c2_, L, qm = feature(None, 0.1, 0.45)
    mx = L(X) - L(shift)
    my = L(Y) - qm.mouth_y
    pwm = L(pw)
    mw, lh = qm.mouth_w, qm.lip_h
    smile = qm.smiling * qm.smile
    bend = my + smile * (mx / mw) ** 2 - smile * 0.5  # corners go up when smiling
    # the bent frame curves away beyond the corners: cut the shapes off there
    corners = np.abs(mx) - mw
    lips = np.maximum(_ellipse(mx, bend, mw, lh), corners)
    S.paint(ALL, r2_, c2_, _cover(lips, pwm), p["lip_col"])
    opening = qm.mouth_open * (0.55 + 0.6 * qm.smiling)
    inner = _ellipse(mx, bend - 0.15 * lh, mw * 0.86, lh * np.maximum(opening, 0.12))
    inner = np.maximum(inner, corners)
    S.paint(ALL, r2_, c2_, _cover(inner, pwm), np.full_like(skin, 0.18) * [1.6, 0.6, 0.6])
    tt = _subset(p["mouth_open"] & p["smiling"])
    if tt is not None:
        teeth = np.maximum(inner[tt], bend[tt] - 0.35 * lh[tt])
        S.paint(tt, r2_, c2_, _cover(teeth, pwm[tt]), np.full((tt.size, 3), 0.95, f32))
    seam = np.maximum(np.abs(bend - 0.1 * lh) - 0.003, np.abs(mx) - mw * 0.95)
    S.paint(ALL, r2_, c2_, 0.5 * _cover(seam, pwm), skin * 0.4)
    ms = _subset(p["mustache"])
    if ms is not None:
        qi = _Q(p, ms)
        Xi = mx[ms]
        d = _ellipse(
            Xi,
            bend[ms] + lh[ms] + 0.028 - 0.5 * smile[ms] * (Xi / mw[ms]) ** 2,
            mw[ms] * 1.1,
            f32(0.027),
        )
        d = np.maximum(d, np.abs(Xi) - mw[ms] * 1.1)
        wav = _wave(L(X)[ms], L(Y)[ms], qi)
        S.paint(ms, r2_, c2_, 0.95 * _cover(d + 0.4 * wav, pwm[ms]), qi["hair"] * 0.85)


def _paint_top_hair(F, top):
    """Hair on top of the head (hairline higher when receding, bangs, waves), or a bald head's fringe."""
    p, S, X, Y, pw = F.p, F.S, F.X, F.Y, F.pw
    feature = F.feature
    got = feature(~p["bald"], top, 0.25)
    if got:
        idx, r2_, c2_, L, qi = got
        Xi, Yi = L(X), L(Y)
        hl = -qi.Bh * np.where(qi.receding > 0, 0.80, 0.66)
        line = hl + qi.Bh * 0.75 * (Xi / qi.A) ** 2  # lower at the temples
        bang = np.where(
            qi.bangs > 0,
            -qi.Bh * 0.30 + qi.bang_side * Xi / qi.A + 0.012 * np.sin(45 * Xi + qi.phase),
            -10,
        )
        line = np.maximum(line, bang)
        cap = np.maximum(_head_hair(Xi, Yi, qi), Yi - line) + _wave(Xi, Yi, qi)
        strands = 0.95 + 0.05 * np.sin(55 * Xi + 9 * Yi + qi.phase)
        shade = strands * (
            1 + 0.6 * qi.light_k * qi.light * Xi / qi.A - 0.15 * (Yi + qi.Bh) / qi.Bh
        )
        S.paint(idx, r2_, c2_, _cover(cap, L(pw)), qi["hair"], shade)
    got = feature(p["bald"], -0.2, 0.15)
    if got:  # a fringe of hair above the ears
        idx, r2_, c2_, L, qi = got
        Xi, Yi = L(X), L(Y)
        ring = np.maximum(np.abs(Xi) - qi.A * 1.03, -(np.abs(Xi) - qi.A * 0.86))
        ring = np.maximum(ring, np.abs(Yi + 0.03) - 0.12)
        S.paint(idx, r2_, c2_, 0.9 * _cover(ring, L(pw)), qi["hair"] * 0.95)


def _paint_glasses(F):
    """Glasses: two frames, a bridge, arms; sunglasses get dark lenses."""
    f32 = np.float32
    p, S, X, Y, pw, shift = F.p, F.S, F.X, F.Y, F.pw, F.shift
    feature = F.feature
    got = feature(p["glasses"], -0.2, 0.1)
    if got:
        idx, r2_, c2_, L, qi = got
        Xi, Yi, pwi, shi = L(X), L(Y), L(pw), L(shift)
        eyi, t_ = qi.eye_y, qi.frame_t
        rims = np.full(Xi.shape, 10, f32)
        lenses = np.full(Xi.shape, 10, f32)
        for side in (-1, 1):
            far = np.maximum(0, -side * qi.yaw)
            ex = side * qi.A * qi.eye_x + shi + side * 0.05 * far
            lens = _ellipse(Xi - ex, Yi - eyi - 0.005, f32(0.10) * (1 - 0.35 * far), f32(0.072))
            lenses = np.minimum(lenses, lens)
            rims = np.minimum(rims, np.abs(lens) - t_)
            arm = np.maximum(
                np.abs(Yi - eyi + 0.03) - t_,
                np.maximum(side * (Xi - ex) - 0.1 - 0.25 * qi.A, -(side * (Xi - ex) - 0.08)),
            )
            rims = np.minimum(rims, arm)
        bridge = np.maximum(np.abs(Xi - shi) - 0.06, np.abs(Yi - eyi + 0.02) - t_ * 0.8)
        rims = np.minimum(rims, bridge)
        S.paint(
            idx,
            r2_,
            c2_,
            _cover(lenses, pwi) * (0.12 + 0.78 * qi.sunglasses),
            np.full((idx.size, 3), 0.08, f32),
        )
        S.paint(idx, r2_, c2_, _cover(rims, pwi), qi["frame"])


def _paint_hat(F, top):
    """A hat: a dome over the hair with a brim or a folded cuff."""
    f32 = np.float32
    p, S, A, X, Y, pw = F.p, F.S, F.p["A"], F.X, F.Y, F.pw
    feature = F.feature
    got = feature(p["hat"], top, 0.0, -A * 1.5, A * 1.5)
    if got:
        idx, r2_, c2_, L, qi = got
        Xi, Yi, pwi = L(X), L(Y), L(pw)
        hy = qi.hat_y
        dome = np.maximum(_ellipse(Xi, Yi - hy, qi.A * 1.2, qi.Bh * 0.85), Yi - hy)
        shade = 1 + 0.3 * qi.light_k * qi.light * Xi / qi.A
        S.paint(idx, r2_, c2_, _cover(dome, pwi), qi["hat_col"], shade)
        brim = np.where(
            qi.brim > 0,
            _ellipse(Xi, Yi - hy, qi.A * 1.45, f32(0.055)),
            _box(Xi, Yi - hy + 0.03, qi.A * 1.22, f32(0.045)),
        )
        S.paint(idx, r2_, c2_, _cover(brim, pwi), qi["hat_col"] * 0.75)


def _camera(S, p, frame, rng):
    """Colour cast and exposure, softness, blur, noise; the images as (b, h, w, 3)."""
    f32, img, b, height, width = np.float32, S.img, S.b, S.h, S.w
    gain = p["bright"][:, None] * (1 + p["cast"])  # (b, 3)
    for ch in range(3):
        img[ch] *= _c(gain[:, ch])
    soft = _blur(img, 1)
    img += _c(p["soft"])[None] * (soft - img)
    idx = _subset(p["blurry"])
    if idx is not None:
        img[:, idx] = _blur(img[:, idx], max(2, int(round(frame[2] / 24))))
    # drawn image by image, so an image's noise does not depend on the chunk's length
    noise = rng.standard_normal((b, 3, height, width), dtype=f32).transpose(1, 0, 2, 3)
    img += noise * _c(p["noise"])[None]
    np.clip(img, 0, 1, out=img)
    return img.transpose(1, 2, 3, 0)


def _render_chunk(p, height, width, frame, rng):
    """Render one chunk of faces described by ``p``; returns float32 (b, h, w, 3) in [0, 1].

    ``frame`` = (x0, y0, side) in pixels: the square that the design's [-1, 1]^2 maps to
    (the whole image for square output; the crop box for a made-up CelebA image).  Each step
    paints over the ones before it, in this order.
    """
    S = _Scene(p, height, width, frame)
    _paint_background(S, p)
    _paint_body(S, p)
    top = -(p["Bh"] * 1.06 * p["volume"] + 0.16)  # highest hair point (face frame)
    _paint_long_hair(S, p, top)
    _paint_ears(S, p)
    F = _paint_face(S, p, top)
    _paint_chin_and_cheeks(F)
    _paint_facial_hair(F)
    _paint_eyes(F)
    _paint_nose(F)
    _paint_mouth(F)
    _paint_top_hair(F, top)
    _paint_glasses(F)
    _paint_hat(F, top)
    return _camera(S, p, frame, rng)


def render_chunk(
    seed: int,
    chunk: int,
    height: int,
    width: int | None = None,
    frame=None,
    count: int | None = None,
):
    """Render chunk ``chunk`` (images ``chunk*CHUNK ...``) of the face set with ``seed``.

    Returns (uint8 images (count, h, w, 3), int8 attrs (count, 40)).  ``count`` (at most
    ``CHUNK``) cuts the chunk short without changing its first images.
    """
    width = height if width is None else width
    frame = (0.0, 0.0, float(min(height, width))) if frame is None else frame
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(chunk), GENERATOR_VERSION]))
    params, attrs = _draw_params(rng, CHUNK)
    count = CHUNK if count is None else int(count)
    if count < CHUNK:
        params = {k: v[:count] for k, v in params.items()}
        attrs = attrs[:count]
    img = _render_chunk(params, int(height), int(width), frame, rng)
    return (img * 255 + 0.5).astype(np.uint8), attrs


def _chunk_job(args):
    return render_chunk(*args)


def _plan(n, start=0):
    """(chunk, count, offset-in-output) for images ``start .. start+n`` of the set."""
    jobs = []
    i = start
    end = start + n
    while i < end:
        chunk, off = divmod(i, CHUNK)
        take = min(CHUNK - off, end - i)
        jobs.append((chunk, off, take, i - start))
        i += take
    return jobs


def default_workers(n: int, size: int) -> int:
    """Processes worth starting: one for small jobs (start-up costs more than it saves)."""
    work = n * size * size
    if work < 3_000_000:  # e.g. 640 images at 32x32, ~0.5 s in one process
        return 1
    from .parallel import cpu_workers

    return min(cpu_workers(), 8)


def render_faces(
    n: int,
    size: int = 96,
    seed: int = 0,
    *,
    height: int | None = None,
    width: int | None = None,
    frame=None,
    workers: int | None = None,
    out: np.ndarray | None = None,
    attrs_out: np.ndarray | None = None,
    progress=None,
) -> Faces:
    """Render ``n`` synthetic faces of ``size`` x ``size`` (or ``height`` x ``width``).

    Deterministic: the same (n, seed, size) gives the same images; the first ``k`` of a
    larger set have the same labels as a set of ``k`` and the same pixels up to float
    rounding (one grey level).  ``workers`` processes share the work (default: one
    for small jobs, else the CPU count).  ``out``/``attrs_out`` receive the results in place
    (e.g. a memory map); ``progress(k)`` is called after each ``k`` images.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    height = int(height or size)
    width = int(width or size)
    if min(height, width) < 8:
        raise ValueError(f"images of {height}x{width} are too small for a face; use >= 8")
    frame = (
        tuple(float(f) for f in frame)
        if frame is not None
        else (0.0, 0.0, float(min(height, width)))
    )
    images = out if out is not None else np.empty((n, height, width, 3), np.uint8)
    attrs = attrs_out if attrs_out is not None else np.empty((n, N_ATTRS), np.int8)
    if images.shape != (n, height, width, 3) or attrs.shape != (n, N_ATTRS):
        raise ValueError(
            f"out arrays have shapes {images.shape}, {attrs.shape}; expected "
            f"{(n, height, width, 3)}, {(n, N_ATTRS)}"
        )
    plan = _plan(n)
    jobs = [(seed, chunk, height, width, frame, off + take) for chunk, off, take, _ in plan]
    workers = default_workers(n, max(height, width)) if workers is None else int(workers)
    t0 = time.perf_counter()

    def place(job_i, result):
        _, off, take, dst = plan[job_i]
        imgs, ats = result
        images[dst : dst + take] = imgs[off : off + take]
        attrs[dst : dst + take] = ats[off : off + take]
        if progress is not None:
            progress(take)

    from .parallel import process_pool

    # a single job or worker runs in this process (process_pool's serial stand-in)
    with process_pool(workers if len(jobs) > 1 else 1) as pool:
        for i, result in enumerate(pool.imap(_chunk_job, jobs)):
            place(i, result)
    return Faces(images, attrs, time.perf_counter() - t0)
