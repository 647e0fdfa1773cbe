"""The trained models the later chapters share, trained once per profile and configuration.

    vae = zoo.face_vae(P)                 # series X/XI VAE scaled to the profile
    ae = zoo.face_ae(P)                   # part XI's portrait AE
    vae.model, vae.history, vae.trained

Chapters X-XIII and the latent-space chapters call these functions: the first call trains
(and prints the per-epoch log), every later call -- in any notebook, in any order -- loads the
weights from the model cache.  Overrides (e.g. ``fact=1.0``) give other cached models.

Every model goes through :func:`trained`, the one train-and-cache function: its cache key is
(name, config, profile, ``{"epochs", "data", ...}``), so a model is retrained exactly when
one of them changes -- never because a chapter asked for it another way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import bottleneck, distribute, gan, latent, mechanisms, models
from . import classifier, fitting, precision
from .data import load_faces, make_dataset, to_float
from .data.attributes import labelled
from .data.faces import data_identity
from .measures import SampleMeasures
from .model_cache import CachedModel, cached_model


def trained(
    name: str, config, build, fit, P, *, epochs: int, faces=None, verbose=True, **extra
) -> CachedModel:
    """The model ``build(config)`` trained by ``fit(model, faces)`` on the profile's faces,
    from the model cache (trained and stored on the first call).

    The key covers ``name``, ``config``, the profile, ``epochs``, the data set's identity
    (:func:`~vaecourse.kit.data.faces.data_identity`: for CelebA, the prepared set's content)
    and any ``extra`` (JSON-able) values.  Synthetic faces are loaded only when the model has
    to be trained; CelebA's prepared set is mapped (not read) to learn its identity.
    """
    if faces is None and P.dataset == "celeba":
        faces = load_faces(P, verbose=False)
    tag, trained_on = data_identity(P, faces)

    def train(model):
        return fit(model, faces if faces is not None else load_faces(P, verbose=False))

    def built(cfg):  # under full on a GPU in mixed precision (kit.precision), else float32
        with precision.scope(P):  # several devices: batch normalisation synchronized
            return distribute.replicated(lambda: precision.float32_codes(build(cfg)))

    extra = {"epochs": epochs, "data": tag, **extra}
    with distribute.scope():  # several devices: built, loaded and trained on all of them
        return cached_model(
            name,
            config,
            built,
            train,
            profile=P,
            extra=extra,
            verbose=verbose,
            trained_on=trained_on,
        )


# --- The VAEs and AEs ----------------------------------------------------------------------
def train_on_faces(
    model, faces, P, epochs: int | None = None, log_every: int = 1, callbacks=()
) -> dict:
    """Fit ``model`` on ``faces.train`` (validating on ``faces.val``) through tf.data, in the
    data range of its decoder's output (``"pm1"`` for tanh, else ``"01"``), with ``callbacks``
    (e.g. a :class:`~vaecourse.training.BatchTrace`)."""
    scale = "pm1" if models.output_activation(model) == "tanh" else "01"
    train = make_dataset(faces.train, P.batch_size, shuffle=True, seed=P.seed, scale=scale)
    val = make_dataset(faces.val, P.batch_size, shuffle=False, scale=scale)
    return fitting.fit_dataset(
        model,
        train,
        validation=val,
        epochs=epochs or P.epochs,
        n_images=len(faces.train),
        log_every=log_every,
        callbacks=callbacks,
    )


def _face_model(name, config, P, faces, epochs, mechanism=3, hidden=None) -> CachedModel:
    epochs = epochs or P.epochs

    def build(cfg):
        if hidden:
            return bottleneck.build_dense_vae(cfg, hidden)
        if cfg.variational:
            return mechanisms.build_vae(cfg, mechanism=mechanism)
        return models.build_ae(cfg)

    extra = {"mechanism": mechanism if config.variational else None}
    if hidden:
        extra["hidden"] = int(hidden)
    return trained(
        name,
        config,
        build,
        lambda m, f: train_on_faces(m, f, P, epochs=epochs),
        P,
        epochs=epochs,
        faces=faces,
        **extra,
    )


def face_vae_config(P, **overrides) -> models.VAEConfig:
    """The series X/XI VAE (BN, LeakyReLU, BCE, fact 5) at the profile's size."""
    return models.config_from_profile(P, "series_x", **overrides)


def face_ae_config(P, **overrides) -> models.VAEConfig:
    """Part XI's portrait AE (kernels 5-5-3-3, z 1600 in the series), scaled: its latent
    space is as many times larger than the VAE's as in the series (1600 / 256 = 6.25)."""
    z = max(16, int(round(P.z_dim * 1600 / 256)))
    filters = tuple(P.filters) if len(P.filters) != 4 else (64, 64, 128, 128)
    cfg = dict(
        name="series_xi_ae",
        image_size=P.image_size,
        z_dim=z,
        filters=filters,
        learning_rate=P.learning_rate,
    )
    cfg.update(overrides)
    name = cfg.pop("name")  # preset's own ``name`` is the preset to start from
    return models.preset("series_curse_ae", **cfg).replace(name=name)


def curse_vae_config(P, **overrides) -> models.VAEConfig:
    """The model of "Curse of dimensionality I": the series' VAE with z 200 and a KL weight
    of 1e-6 -- "basically a pure AE", as the series says, with a minimal pull to the origin."""
    cfg = dict(name="series_curse_vae", z_dim=200, fact=1e-6)
    cfg.update(overrides)
    name = cfg.pop("name")  # config_from_profile's own ``name`` is the preset to scale
    return models.config_from_profile(P, "series_x", **cfg).replace(name=name)


def face_vae(P, *, faces=None, epochs=None, **overrides) -> CachedModel:
    """The trained face VAE (GradientTape mechanism) for profile ``P``."""
    return _face_model("face_vae", face_vae_config(P, **overrides), P, faces, epochs)


def face_vae_dense(P, hidden: int, *, faces=None, epochs=None, **overrides) -> CachedModel:
    """Chapter XII's variant of :func:`face_vae`: an extra ``Dense(hidden)`` layer between
    Flatten and mu/log_var (:func:`vaecourse.bottleneck.build_dense_vae`)."""
    config = face_vae_config(P, **overrides)
    return _face_model("face_vae_dense", config, P, faces, epochs, hidden=hidden)


def face_ae(P, *, faces=None, epochs=None, **overrides) -> CachedModel:
    """Part XI's trained portrait AE (large z, deterministic encoder) for profile ``P``."""
    return _face_model("face_ae", face_ae_config(P, **overrides), P, faces, epochs)


def curse_vae(P, *, faces=None, epochs=None, **overrides) -> CachedModel:
    """The trained model of "Curse of dimensionality I" (z 200, KL weight 1e-6)."""
    return _face_model("curse_vae", curse_vae_config(P, **overrides), P, faces, epochs)


# --- The DC-GAN of chapter XIII -------------------------------------------------------------
def train_gan(
    gan_model,
    images,
    P,
    epochs: int | None = None,
    log_every: int = 1,
    callbacks=(),
    batch_size: int | None = None,
) -> dict:
    """Fit a DC-GAN on uint8 ``images`` through the course's tf.data pipeline (``target="x"``,
    scaled to the generator's output range); see :func:`vaecourse.kit.fitting.fit_gan`."""
    batch_size = batch_size or P.batch_size
    ds = make_dataset(
        images,
        batch_size,
        shuffle=True,
        seed=P.seed,
        scale=gan_model.gan_config.scale,
        target="x",
        drop_remainder=len(images) >= 2 * batch_size,
    )
    return fitting.fit_gan(gan_model, ds, epochs or P.epochs, len(images), log_every, callbacks)


def face_gan(
    P,
    *,
    faces=None,
    epochs=None,
    batch_size=None,
    name: str = "face_gan",
    callbacks=(),
    track_quality: bool = False,
    **overrides,
) -> CachedModel:
    """The trained face GAN for profile ``P`` (:func:`~vaecourse.kit.fitting.face_gan_config`).
    ``overrides`` change the config (e.g. ``d_learning_rate=2e-3``) and give another cached
    model; ``callbacks`` (e.g. a :class:`~vaecourse.kit.fitting.BalanceMonitor`) run only when it
    trains.  ``track_quality`` measures the samples after every epoch
    (:func:`sample_quality`; the history gains ``sample_detected`` and ``sample_frechet``)
    and is part of the cache key."""
    config = fitting.face_gan_config(P, name=name, **overrides)
    schedule = fitting.face_gan_schedule(P)
    epochs = epochs or schedule["epochs"]
    batch_size = batch_size or schedule["batch_size"]
    extra = {}
    if batch_size != P.batch_size:  # models cached before batch_size was a choice keep their key
        extra["batch_size"] = batch_size
    if track_quality:
        extra["track_quality"] = True
        if faces is not None and len(getattr(faces, "test", ())) == 0:
            raise ValueError(
                "track_quality=True measures the samples against held-out test faces, and the "
                "faces given have none: pass data.load_faces(P), or leave faces out"
            )

    def fit(model, data):
        tracked = [sample_quality(P, data, config.z_dim)] if track_quality else []
        return train_gan(
            model,
            data.train,
            P,
            epochs=epochs,
            callbacks=[*callbacks, *tracked],
            batch_size=batch_size,
        )

    entry = trained(
        name,
        fitting.GANKey(config),  # keyed as GANs were before the remedies existed
        lambda key: fitting.build_cached_gan(key.config, seed=P.seed),
        fit,
        P,
        epochs=epochs,
        faces=faces,
        verbose=False,
        **extra,
    )
    entry = dataclasses.replace(entry, config=config)  # the GANConfig, not the cache's view
    print(
        f"{'trained and cached' if entry.trained else 'loaded cached'} DC-GAN {entry.key}, "
        f"trained on {entry.trained_on} ({fitting.history_summary(entry.history)})"
    )
    return entry


def sample_quality(P, faces, z_dim: int) -> gan.SampleQuality:
    """A :class:`~vaecourse.gan.SampleQuality` for a face generator: after each epoch, as many
    samples as there are test faces, from the latent points chapter XIII draws (seed
    ``P.seed``), measured against the test faces: ``detected`` (Haar detection rate relative
    to theirs) and ``frechet`` (on the attribute classifier's features)."""
    measures = SampleMeasures(to_float(faces.test), attribute_classifier(P).model)
    z = latent.normal_points(len(faces.test), z_dim, seed=P.seed)
    return gan.SampleQuality(z, {"detected": measures.detected, "frechet": measures.frechet})


# --- The attribute classifier of the measures -------------------------------------------------
@dataclass(frozen=True)
class ClassifierConfig:
    """The CelebA attribute classifier whose features the Fréchet distance of the course
    uses (:func:`vaecourse.kit.classifier.attribute_classifier`)."""

    name: str = "attribute_classifier"
    image_size: int = 64
    n_attrs: int = 40
    filters: tuple = (32, 64, 128, 256)
    feature_dim: int = 256
    learning_rate: float = 1e-3
    batch_size: int = 128

    def to_dict(self) -> dict:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }


def attribute_classifier(P, *, epochs=None) -> CachedModel:
    """The attribute classifier trained on the profile's training faces (validated on
    ``faces.val``); its ``"features"`` layer feeds :func:`vaecourse.kit.measures.frechet_distance`.
    It is what it is: a Fréchet distance on these features is not FID."""
    cfg = ClassifierConfig(image_size=P.image_size)
    epochs = epochs or P.pick(ci=1, book=8, full=5)

    def build(c):
        return classifier.attribute_classifier(
            c.image_size, c.n_attrs, tuple(c.filters), c.feature_dim, learning_rate=c.learning_rate
        )

    def fit(model, faces):
        # unknown attributes (0) would be learnt as absent: only labelled faces train
        origin = faces.manifest.get("origin", "the prepared set")
        train, attrs_train = labelled(faces.train, faces.attrs_train, "training", origin)
        val, attrs_val = labelled(faces.val, faces.attrs_val, "validation", origin)
        return classifier.fit_attribute_classifier(
            model,
            train,
            attrs_train,
            val,
            attrs_val,
            epochs,
            cfg.batch_size,
            seed=P.seed,
        )

    # CelebA's labels can change while its images do not (an attribute file added later)
    faces = load_faces(P, verbose=False) if P.dataset == "celeba" else None
    extra = {"attributes": faces.attributes_tag} if faces is not None else {}
    return trained("attribute_classifier", cfg, build, fit, P, epochs=epochs, faces=faces, **extra)
