"""The trained models of chapter XIV, through :func:`vaecourse.kit.zoo.trained` (one training
path, one cache)::

    sig = zoo_beyond.sigma_vae(P)          # the book VAE with a learned decoder noise level
    cv = zoo_beyond.cvae(P)                # conditioned on CONDITIONS
    reg = zoo_beyond.regularised_vae(P, fact=0.001, warmup_epochs=2)

Each history also holds ``seconds``, the wall time of every epoch.
"""

from __future__ import annotations

from .. import beyond
from . import fitting, zoo
from .data import load_faces, make_dataset
from .data.attributes import ATTR_NAMES

#: The attributes the conditional VAE sees, in this order (CelebA's +1/-1 labels).
CONDITIONS = ("Smiling", "Eyeglasses", "Blond_Hair", "Male")


def conditions(attrs, names=CONDITIONS):
    """The columns ``names`` of a CelebA attribute array (+1/-1), as float32."""
    unknown = [n for n in names if n not in ATTR_NAMES]
    if unknown:
        raise ValueError(f"unknown CelebA attribute(s) {unknown}: choose from {ATTR_NAMES}")
    return attrs[:, [ATTR_NAMES.index(n) for n in names]].astype("float32")


def _fit(model, train, val, epochs, n_images):
    return fitting.fit_dataset(model, train, validation=val, epochs=epochs, n_images=n_images)


def _fit_faces(P, epochs):
    def fit(model, faces):
        train = make_dataset(faces.train, P.batch_size, shuffle=True, seed=P.seed)
        val = make_dataset(faces.val, P.batch_size, shuffle=False)
        return _fit(model, train, val, epochs, len(faces.train))

    return fit


def sigma_vae(P, *, faces=None, epochs=None, **overrides):
    """:class:`~vaecourse.beyond.SigmaVAE` with the book VAE's encoder and decoder."""
    epochs = epochs or P.epochs
    config = zoo.face_vae_config(P, rec_loss="mse", fact=1.0, **overrides).replace(name="sigma_vae")
    build = lambda cfg: beyond.build_sigma_vae(cfg, seed=P.seed)  # noqa: E731
    return zoo.trained("sigma_vae", config, build, _fit_faces(P, epochs), P, epochs=epochs,
                       faces=faces)  # fmt: skip


def cvae(P, *, faces=None, epochs=None, names=CONDITIONS, **overrides):
    """:class:`~vaecourse.beyond.ConditionalVAE` on the attributes ``names``."""
    epochs = epochs or P.epochs
    config = zoo.face_vae_config(P, **overrides).replace(name="cvae")
    names = tuple(names)

    def fit(model, f):
        def pairs(images, attrs, shuffle):
            ds = make_dataset(images, P.batch_size, shuffle=shuffle, seed=P.seed,
                              target="attrs", attrs=conditions(attrs, names))  # fmt: skip
            return ds.map(lambda x, c: ((x, c),))  # one input pair, no target

        train, val = pairs(f.train, f.attrs_train, True), pairs(f.val, f.attrs_val, False)
        return _fit(model, train, val, epochs, len(f.train))

    build = lambda cfg: beyond.build_cvae(cfg, len(names), seed=P.seed)  # noqa: E731
    # the labels are half of what it learns from, and CelebA's can change while its images do not
    if faces is None and P.dataset == "celeba":
        faces = load_faces(P, verbose=False)
    tag = faces.attributes_tag if faces is not None else None
    extra = {"attributes": tag} if tag else {}
    return zoo.trained("cvae", config, build, fit, P, epochs=epochs, faces=faces,
                       conditions=list(names), **extra)  # fmt: skip


def regularised_vae(P, *, faces=None, epochs=None, warmup_epochs=0, free_bits=0.0, **overrides):
    """:class:`~vaecourse.beyond.RegularisedVAE`: warm-up over ``warmup_epochs`` epochs of
    ``faces.train`` and/or ``free_bits`` nats per latent dimension."""
    epochs = epochs or P.epochs
    config = zoo.face_vae_config(P, **overrides).replace(name="regularised_vae")
    n_train = len(faces.train) if faces is not None else P.n_train
    steps = int(warmup_epochs * -(-n_train // P.batch_size))

    def build(cfg):
        return beyond.build_regularised_vae(cfg, steps, free_bits, seed=P.seed)

    return zoo.trained("regularised_vae", config, build, _fit_faces(P, epochs), P,
                       epochs=epochs, faces=faces, warmup_steps=steps,
                       free_bits=float(free_bits))  # fmt: skip
