"""The trained models the later chapters share, trained once per profile and configuration.

    vae = vaecourse.zoo.face_vae(P)          # series X/XI VAE scaled to the profile
    ae  = vaecourse.zoo.face_ae(P)           # the "curse of dimensionality" AE
    vae.model, vae.history, vae.trained

Chapters X, XI, XII, the latent-space chapters and XIII call these functions: the first call
trains (and prints the per-epoch log), every later call -- in any notebook, in any order --
loads the weights from the model cache.  Overrides (e.g. ``fact=1.0``) give other cached models.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from . import mechanisms, models
from .model_cache import CachedModel, cached_model
from .training import EpochLog


def train_on_faces(model, faces, P, epochs: int | None = None, log_every: int = 1) -> dict:
    """Fit ``model`` on ``faces.train`` (validating on ``faces.val``) through tf.data."""
    from .data import make_dataset

    scale = "pm1" if model.vae_config.output_activation == "tanh" else "01"
    train = make_dataset(faces.train, P.batch_size, shuffle=True, seed=P.seed, scale=scale)
    val = make_dataset(faces.val, P.batch_size, shuffle=False, scale=scale)
    result = model.fit(train, validation_data=val, epochs=epochs or P.epochs, verbose=0, shuffle=False,
                       callbacks=[EpochLog(every=log_every, n_images=len(faces.train))])
    return result.history


def _cached(name: str, config, P, faces=None, epochs=None, mechanism: int = 3) -> CachedModel:
    from .data import load_faces

    def build(cfg):
        return mechanisms.build_vae(cfg, mechanism=mechanism) if cfg.variational else models.build_ae(cfg)

    def train(model):
        data = faces if faces is not None else load_faces(P, verbose=False)
        return train_on_faces(model, data, P, epochs=epochs)

    from .data.faces import data_tag

    extra = {"epochs": epochs or P.epochs, "mechanism": mechanism if config.variational else None,
             "data": data_tag(P)}
    return cached_model(name, config, build, train, profile=P, extra=extra)


def face_vae_config(P, **overrides) -> models.VAEConfig:
    """The series X/XI VAE (BN, LeakyReLU, BCE, fact 5) at the profile's size."""
    return models.config_from_profile(P, "series_x", **overrides)


def face_ae_config(P, **overrides) -> models.VAEConfig:
    """Part XI's portrait AE (kernels 5-5-3-3, z 1600 in the series), scaled: its latent
    space is as many times larger than the VAE's as in the series (1600 / 256 = 6.25)."""
    z = max(16, int(round(P.z_dim * 1600 / 256)))
    filters = tuple(P.filters) if len(P.filters) != 4 else (64, 64, 128, 128)
    cfg = dict(name="series_xi_ae", image_size=P.image_size, z_dim=z, filters=filters,
               learning_rate=P.learning_rate)
    cfg.update(overrides)
    return models.preset("series_curse_ae", **cfg)


def curse_vae_config(P, **overrides) -> models.VAEConfig:
    """The model of "Curse of dimensionality I": the series' VAE with z 200 and a KL weight
    of 1e-6 -- "basically a pure AE", as the series says, with a minimal pull to the origin."""
    cfg = dict(name="series_curse_vae", z_dim=200, fact=1e-6)
    cfg.update(overrides)
    return models.config_from_profile(P, "series_x", **cfg)


def face_vae(P, *, faces=None, epochs=None, **overrides) -> CachedModel:
    """The trained face VAE (GradientTape mechanism) for profile ``P``."""
    return _cached("face_vae", face_vae_config(P, **overrides), P, faces, epochs)


def face_ae(P, *, faces=None, epochs=None, **overrides) -> CachedModel:
    """Part XI's trained portrait AE (large z, deterministic encoder) for profile ``P``."""
    return _cached("face_ae", face_ae_config(P, **overrides), P, faces, epochs)


def curse_vae(P, *, faces=None, epochs=None, **overrides) -> CachedModel:
    """The trained model of "Curse of dimensionality I" (z 200, KL weight 1e-6)."""
    return _cached("curse_vae", curse_vae_config(P, **overrides), P, faces, epochs)


@dataclass(frozen=True)
class ClassifierConfig:
    """The CelebA attribute classifier whose features the Fréchet distance of the course
    uses (:func:`vaecourse.metrics.attribute_classifier`)."""

    name: str = "attribute_classifier"
    image_size: int = 64
    n_attrs: int = 40
    filters: tuple = (32, 64, 128, 256)
    feature_dim: int = 256
    learning_rate: float = 1e-3
    batch_size: int = 128

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}


def attribute_classifier(P, *, epochs=None) -> CachedModel:
    """The attribute classifier trained on the profile's training faces (validated on
    ``faces.val``); its ``"features"`` layer feeds :func:`vaecourse.metrics.frechet_distance`.
    It is what it is: a Fréchet distance on these features is not FID."""
    from . import metrics
    from .data import load_faces

    cfg = ClassifierConfig(image_size=P.image_size)
    epochs = epochs or P.pick(ci=1, book=8, full=5)

    def build(c):
        return metrics.attribute_classifier(c.image_size, c.n_attrs, tuple(c.filters),
                                            c.feature_dim, learning_rate=c.learning_rate)

    def train(model):
        faces = load_faces(P, verbose=False)
        return metrics.fit_attribute_classifier(model, faces.train, faces.attrs_train, faces.val,
                                                faces.attrs_val, epochs, cfg.batch_size,
                                                seed=P.seed, verbose=0,
                                                callbacks=[EpochLog(n_images=len(faces.train))])

    from .data.faces import data_tag

    return cached_model("attribute_classifier", cfg, build, train, profile=P,
                        extra={"epochs": epochs, "data": data_tag(P)})
