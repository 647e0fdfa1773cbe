"""Each measure of vaecourse.kit.measures (and the two of vaecourse.metrics) against cases it must reject (and one it must accept)."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from vaecourse import mechanisms, metrics, models
from vaecourse.kit import classifier, data, measures


@pytest.fixture(scope="module")
def faces():
    """Synthetic 64^2 faces: the Haar cascade finds about 3/4 of them (real CelebA: ~97 %)."""
    return data.render_faces(48, 64, seed=0, workers=1).images


# --------------------------------------------------------------------------- detector
def test_detector_finds_synthetic_faces_and_rejects_noise_and_scrambled_faces(faces):
    assert measures.face_detection_rate(faces) >= 0.6
    noise = np.random.default_rng(0).integers(0, 256, faces.shape, dtype=np.uint8)
    assert measures.face_detection_rate(noise) == 0.0
    assert measures.face_detection_rate(measures.scramble_blocks(faces, 16)) <= 0.1
    assert measures.relative_detection_rate(noise, faces) == 0.0
    assert measures.relative_detection_rate(faces, faces) == 1.0
    # floats in [0, 1] give the same answer as uint8
    np.testing.assert_array_equal(
        measures.detect_faces(faces[:8] / 255.0), measures.detect_faces(faces[:8])
    )


def test_detector_calibration_orders_real_blurred_and_destroyed_faces(faces):
    table = measures.detector_calibration(faces[:32])
    assert list(table) == ["real", "blurred σ=3", "blurred σ=5", "uniform noise", "block-scrambled"]
    assert table["real"] > table["blurred σ=3"] > table["blurred σ=5"]
    assert table["uniform noise"] == 0.0 and table["block-scrambled"] <= 0.1


def test_a_mean_face_passes_the_detector_but_not_diversity(faces):
    mean_face = np.repeat(faces.mean(axis=0, keepdims=True), 16, axis=0) / 255.0
    jitter = 0.005 * np.random.default_rng(1).standard_normal(mean_face.shape)
    mean_faces = np.clip(mean_face + jitter, 0.0, 1.0)
    assert measures.face_detection_rate(mean_faces) == 1.0  # the detector is fooled ...
    assert measures.diversity(mean_faces, faces) < 0.05  # ... diversity is not


def test_detector_refuses_minus_one_to_one_images():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        measures.face_detection_rate(np.full((1, 64, 64, 3), -0.5, np.float32))


def test_scramble_blocks_keeps_the_pixels_and_moves_the_blocks(faces):
    s = measures.scramble_blocks(faces[:4], 16, seed=3)
    assert s.shape == faces[:4].shape and s.dtype == faces.dtype
    np.testing.assert_array_equal(
        np.sort(s.reshape(4, -1), axis=1), np.sort(faces[:4].reshape(4, -1), axis=1)
    )
    assert not np.array_equal(s, faces[:4])
    with pytest.raises(ValueError, match="does not divide"):
        measures.scramble_blocks(faces[:1], 24)


# --------------------------------------------------------------------------- diversity
def test_diversity_is_one_for_a_set_against_itself_and_zero_for_collapse():
    rng = np.random.default_rng(2)
    varied = rng.random((60, 8, 8, 3)).astype("float32")
    assert measures.diversity(varied, varied) == pytest.approx(1.0)
    assert measures.diversity(varied[:30], varied[30:]) == pytest.approx(1.0, abs=0.1)
    repeated = np.repeat(varied[:1], 30, axis=0)
    assert measures.diversity(repeated, varied) == pytest.approx(0.0, abs=1e-3)
    # the same measure on feature vectors
    feats = rng.standard_normal((40, 16))
    assert measures.diversity(np.repeat(feats[:1], 40, axis=0), feats) == pytest.approx(
        0.0, abs=1e-6
    )


def test_mean_pairwise_distance_does_not_grow_with_image_size():
    rng = np.random.default_rng(3)
    small, large = rng.random((40, 8, 8, 3)), rng.random((40, 32, 32, 3))
    assert measures.mean_pairwise_distance(small) == pytest.approx(
        measures.mean_pairwise_distance(large), rel=0.05
    )


def test_memorisation_check_finds_a_planted_copy():
    rng = np.random.default_rng(3)
    train = rng.integers(0, 256, (300, 8, 8, 3), dtype=np.uint8)
    heldout = rng.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    samples = rng.random((10, 8, 8, 3)).astype("float32")
    samples[4] = train[123] / 255.0  # the planted copy
    idx, dist = measures.nearest_training(samples, train, chunk=64)  # several chunks
    assert idx[4] == 123 and dist[4] == pytest.approx(0.0, abs=1e-3)
    assert dist[np.arange(10) != 4].min() > 0.1
    _, ref = measures.nearest_training(heldout, train)
    assert list(measures.likely_copies(samples, train, ref)) == [4]


# --------------------------------------------------------------------------- sharpness
def test_sharpness_drops_under_blur(faces):
    rng = np.random.default_rng(4)
    sharp = rng.random((3, 16, 16, 3)).astype("float32")
    blurred = (
        sharp + np.roll(sharp, 1, 1) + np.roll(sharp, 1, 2) + np.roll(sharp, (1, 1), (1, 2))
    ) / 4
    assert (measures.laplacian_variance(blurred) < measures.laplacian_variance(sharp)).all()
    assert measures.laplacian_variance(np.full((1, 8, 8, 3), 0.5))[0] == pytest.approx(0.0)
    assert measures.sharpness_ratio(faces, faces) == pytest.approx(1.0)
    assert measures.sharpness_ratio(measures.gaussian_blur(faces, 2.0), faces) < 0.5
    assert measures.gaussian_blur(faces[:2], 2.0).dtype == np.uint8


def test_laplacian_variance_of_a_checkerboard_is_known():
    checker = (np.indices((8, 8)).sum(axis=0) % 2).astype(np.float64)[None, :, :, None]
    checker = np.repeat(checker, 3, axis=-1)
    # every interior Laplacian is +-4, so its variance is 16 (uint8 and float agree)
    np.testing.assert_allclose(measures.laplacian_variance(checker), [16.0])
    np.testing.assert_allclose(
        measures.laplacian_variance((checker * 255).astype(np.uint8)), [16.0]
    )


# --------------------------------------------------------------------------- Fréchet
def test_frechet_is_zero_for_identical_statistics():
    f = np.random.default_rng(0).standard_normal((200, 5))
    mu, sigma = measures.feature_stats(f)
    assert metrics.frechet_distance_from_stats(mu, sigma, mu, sigma) == pytest.approx(0, abs=1e-8)
    assert measures.frechet_distance(f, f) == pytest.approx(0.0, abs=1e-8)


def test_frechet_matches_the_closed_form_for_diagonal_gaussians():
    # diagonal covariances: |mu1 - mu2|^2 + sum (s1 - s2)^2, s the standard deviations
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)
    got = metrics.frechet_distance_from_stats(mu1, np.diag(s1**2), mu2, np.diag(s2**2))
    assert got == pytest.approx(expected, rel=1e-9)


def test_frechet_of_samples_approaches_the_closed_form_and_grows_with_a_shift():
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, (20000, 2))
    b = rng.normal(2.0, 2.0, (20000, 2))
    # 2 * 2^2 (means) + 2 * (2 - 1)^2 (standard deviations) = 10
    assert measures.frechet_distance(a, b) == pytest.approx(10.0, rel=0.05)
    near, far = a + 0.5, a + 1.5
    assert measures.frechet_distance(a, near) < measures.frechet_distance(a, far)


def test_frechet_stays_accurate_with_singular_covariances_and_checks_dimensions():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((10, 64))  # 10 samples, 64 features: covariance rank <= 9
    b = rng.standard_normal((10, 64)) + 1.0
    (m1, s1), (m2, s2) = measures.feature_stats(a), measures.feature_stats(b)
    # the same trace through symmetric eigenvalues: Tr (S1 S2)^(1/2) = sum sqrt eig(R S2 R),
    # R = S1^(1/2)
    w, v = np.linalg.eigh(s1)
    r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    tr = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(r @ s2 @ r), 0, None)))
    expected = np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr
    assert measures.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError):
        metrics.frechet_distance_from_stats(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="valid covariances"):  # -I is no covariance
        metrics.frechet_distance_from_stats(np.zeros(2), -np.eye(2), np.zeros(2), np.eye(2))


# --------------------------------------------------------------------------- classifier
def test_attribute_classifier_learns_a_visible_attribute_and_beats_the_majority():
    rng = np.random.default_rng(6)
    n, size = 320, 16
    bright = rng.random(n) < 0.5
    images = rng.integers(0, 120, (n, size, size, 3)).astype(np.uint8)
    images[bright] += 120  # attribute 0: a bright image
    attrs = np.where(rng.random((n, 40)) < 0.5, 1, -1).astype(np.int8)
    attrs[:, 0] = np.where(bright, 1, -1)
    keras.utils.set_random_seed(0)
    clf = classifier.attribute_classifier(image_size=size, filters=(8, 16), feature_dim=32)
    hist = classifier.fit_attribute_classifier(
        clf,
        images[:256],
        attrs[:256],
        images[256:],
        attrs[256:],
        epochs=3,
        batch_size=32,
    )
    assert len(hist["loss"]) == len(hist["seconds"]) == 3 and "val_accuracy" in hist
    acc = measures.attribute_accuracy(clf, images[256:], attrs[256:], per_attribute=True)
    base = classifier.majority_accuracy(attrs[:256], attrs[256:], per_attribute=True)
    assert acc.shape == (40,) and acc[0] > 0.9 and acc[0] > base[0] + 0.3
    feats = measures.features(clf, images[:50])
    assert feats.shape == (50, 32) and np.isfinite(feats).all()


# --------------------------------------------------------------------------- ELBO, IWAE
def linear_gaussian(x_dim=2, shift=0.0, log_var_offset=0.0, sigma=0.5):
    """p(z) = N(0, 1), p(x|z) = N(w z + b, sigma^2 I); q(z|x) the exact posterior, optionally
    shifted / widened.  Returns (model, exact log p(x) function)."""
    w, b = np.array([[1.5, -0.7]])[:, :x_dim], np.array([0.3, -0.2])[:x_dim]
    s = 1.0 / (1.0 + (w @ w.T).item() / sigma**2)  # posterior variance
    inp = keras.Input((1, 1, x_dim))
    flat = keras.layers.Flatten()(inp)
    mu = keras.layers.Dense(1, name="mu")(flat)
    log_var = keras.layers.Dense(1, name="log_var")(flat)
    enc = keras.Model(inp, [mu, log_var], name="encoder")
    enc.get_layer("mu").set_weights(
        [s * w.T / sigma**2, np.array([shift - s * (w @ b).item() / sigma**2])]
    )
    enc.get_layer("log_var").set_weights(
        [np.zeros((x_dim, 1)), np.array([np.log(s) + log_var_offset])]
    )
    z_in = keras.Input((1,))
    linear = keras.layers.Dense(x_dim)
    dec = keras.Model(z_in, keras.layers.Reshape((1, 1, x_dim))(linear(z_in)), name="decoder")
    linear.set_weights([w, b])
    cov = w.T @ w + sigma**2 * np.eye(x_dim)

    def log_px(x):
        d = x.reshape(len(x), -1) - b
        quad = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
        return -0.5 * (quad + np.log(np.linalg.det(cov)) + x_dim * np.log(2 * np.pi))

    return keras.Model(inp, dec(enc(inp)[0])), log_px  # the measures find its two parts by name


def test_bounds_equal_log_px_when_q_is_the_exact_posterior():
    model, log_px = linear_gaussian()
    x = np.random.default_rng(7).normal(size=(20, 1, 1, 2)).astype(np.float32)
    kw = {"likelihood": "gaussian", "sigma": 0.5, "per_image": True}
    # every importance weight p(x, z) / q(z|x) equals p(x): the bound is exact for any k ...
    for k in (1, 8):
        np.testing.assert_allclose(measures.iwae_bound(model, x, k=k, **kw), log_px(x), atol=1e-4)
    # ... and the ELBO (a Monte Carlo average with the exact KL) is exact in expectation
    elbo = measures.elbo(model, x, samples=4096, **kw)
    np.testing.assert_allclose(elbo, log_px(x), atol=0.05)


def test_iwae_rises_with_k_towards_log_px_for_a_poor_posterior():
    model, log_px = linear_gaussian(shift=0.8, log_var_offset=1.0)
    x = np.random.default_rng(8).normal(size=(200, 1, 1, 2)).astype(np.float32)
    kw = {"likelihood": "gaussian", "sigma": 0.5}
    truth = float(np.mean(log_px(x)))
    elbo = measures.elbo(model, x, samples=64, **kw)
    iwae = {k: measures.iwae_bound(model, x, k=k, **kw) for k in (1, 8, 64, 1024)}
    assert elbo < iwae[8] < iwae[64] < iwae[1024] <= truth + 0.01
    assert iwae[1] == pytest.approx(elbo, abs=0.3)  # k = 1 is an ELBO estimate
    assert truth - elbo > 1.0  # the poor posterior costs > 1 nat ...
    assert truth - iwae[1024] < 0.05  # ... which k = 1024 recovers


def test_bernoulli_term_is_the_course_reconstruction_loss_read_as_a_log_likelihood():
    rng = np.random.default_rng(9)
    x = rng.random((4, 8, 8, 3)).astype(np.float32)
    x_hat = rng.uniform(0.05, 0.95, (4, 8, 8, 3)).astype(np.float32)
    course = keras.ops.convert_to_numpy(models.reconstruction_error(x, x_hat, "bce", "sum"))
    # the course averages BCE over the 3 channels; the log-likelihood sums every value
    np.testing.assert_allclose(-measures.decoder_log_likelihood(x, x_hat), 3 * course, rtol=1e-4)
    same = measures.decoder_log_likelihood(x, x, "gaussian", sigma=0.1)
    np.testing.assert_allclose(same, -0.5 * 192 * np.log(2 * np.pi * 0.01))


def test_course_vae_bounds_ignore_fact_and_iwae_is_above_elbo():
    cfg = models.VAEConfig(input_shape=(16, 16, 3), filters=(8, 16), z_dim=4, fact=5.0)
    keras.utils.set_random_seed(0)
    vae = mechanisms.build_vae(cfg, compile=False)
    other = mechanisms.build_vae(cfg.replace(fact=0.1), compile=False)
    other.set_weights(vae.get_weights())
    x = data.render_faces(24, 16, seed=1, workers=1).images
    assert measures.elbo(vae, x) == pytest.approx(measures.elbo(other, x), rel=1e-6)
    elbo = measures.elbo(vae, x, per_image=True)
    iwae = measures.iwae_bound(vae, x, k=64, per_image=True)
    assert np.isfinite(iwae).all() and iwae.mean() > elbo.mean()
    ae = models.build_ae(cfg)
    with pytest.raises(ValueError, match="need a VAE"):
        measures.elbo(ae, x)


# --------------------------------------------------------------------------- teaching device
def low_rank_images(n, rank=5, seed=0, noise=0.01):
    """Images that live (up to small noise) in a rank-``rank`` affine subspace."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(rank, 8 * 8 * 3))
    coef = rng.normal(size=(n, rank))
    x = 0.5 + 0.05 * coef @ basis + noise * rng.normal(size=(n, 8 * 8 * 3))
    return np.clip(x, 0, 1).reshape(n, 8, 8, 3).astype(np.float32)


def test_face_subspace_scores_real_about_one_and_noise_far_more():
    sample = low_rank_images(600)
    sub = measures.FaceSubspace.fit(sample[:500], sample[500:], n_components=5)
    d_real = sub.distance(sample[500:])
    assert 0.8 < np.median(d_real) < 1.2
    noise = np.random.default_rng(1).uniform(0, 1, size=(50, 8, 8, 3)).astype(np.float32)
    assert np.median(sub.distance(noise)) > 50 * np.median(d_real)
    assert sub.face_likeness(sample[500:]) > 0.9 and sub.face_likeness(noise) == 0.0


def test_face_subspace_rewards_blur_which_is_why_it_must_not_stand_alone(faces):
    sub = measures.FaceSubspace.fit(faces[:40], faces[40:], n_components=16)
    blurred = measures.gaussian_blur(faces[40:], 3.0)
    mean_face = np.repeat(faces[:40].mean(axis=0, keepdims=True) / 255.0, 8, axis=0)
    assert np.median(sub.distance(blurred)) < np.median(sub.distance(faces[40:]))
    assert sub.face_likeness(mean_face) == 1.0


def test_face_subspace_uint8_and_float_agree_and_shape_is_checked():
    sample = low_rank_images(100)
    sub = measures.FaceSubspace.fit(sample[:80], sample[80:], n_components=4)
    u8 = np.clip(np.round(sample[80:] * 255), 0, 255).astype(np.uint8)
    np.testing.assert_allclose(
        sub.residual(u8), sub.residual(u8.astype(np.float32) / 255), rtol=1e-5
    )
    with pytest.raises(ValueError, match="same size"):
        sub.residual(np.zeros((2, 4, 4, 3), np.float32))


def test_inception_features_fails_with_a_clear_message_offline(monkeypatch):
    def offline(*a, **k):
        raise OSError("no network")

    monkeypatch.setattr(keras.applications, "InceptionV3", offline)
    with pytest.raises(RuntimeError, match="ImageNet weights"):
        measures.inception_features(np.zeros((1, 16, 16, 3), np.uint8))


# --------------------------------------------------------------------------- all four at once
def test_sample_measures_accept_the_real_faces_and_reject_noise_and_collapse(faces):
    def colour_stats(images):  # stated features: each image's mean and spread per channel
        x = np.asarray(images, np.float64)
        return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=1)

    real, others = faces[:24], faces[24:]
    judge = measures.SampleMeasures(real, featurize=colour_stats)
    same = judge(real)
    assert same["detected"] == 1.0 and same["frechet"] < 1e-6
    assert same["diversity"] == pytest.approx(1.0) and same["sharpness"] == pytest.approx(1.0)
    noise = np.random.default_rng(0).integers(0, 256, others.shape, dtype=np.uint8)
    collapsed = np.repeat(others[:1], len(others), axis=0)
    assert judge(noise)["detected"] == 0.0
    assert judge.frechet(noise) > 3 * judge.frechet(others)
    assert judge(collapsed)["diversity"] < 0.05
    with pytest.raises(ValueError, match="classifier or a featurize"):
        measures.SampleMeasures(real)


def test_frechet_reference_measures_validation_faces_against_the_real_faces(faces):
    def colour_stats(images):  # stated features, as above
        x = np.asarray(images, np.float64)
        return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=1)

    real = faces[:24]
    judge = measures.SampleMeasures(real, featurize=colour_stats)
    same_people = SimpleNamespace(val=faces[:30])  # the first 24 are the real faces themselves
    other_people = SimpleNamespace(val=faces[24:])
    assert judge.frechet_reference(same_people) < 1e-6
    assert judge.frechet_reference(other_people) == pytest.approx(judge.frechet(faces[24:48]))
    assert judge.frechet_reference(other_people) > 0
    with pytest.raises(ValueError, match="two validation faces"):
        judge.frechet_reference(SimpleNamespace(val=faces[:1]))
