"""vaecourse: the helper package of the Variational Autoencoder course.

The taught layer -- what a chapter shows (``chapter.show_source``) or is about.  Every public
function and class opens its docstring with the chapter that teaches it, ``(chapter X)``, and
``tests/test_taught.py`` checks that this chapter reaches it:

* ``models`` -- ``VAEConfig`` and presets, the losses, the ``Sampling`` layer, the encoder and
  decoder builders, ``build_ae``, the one encode/decode path and the one image-range conversion;
* ``mechanisms`` -- the four ways to add the KL loss, ``build_vae``;
* ``pitfalls`` -- the historical forms that fail (Keras 2 closures, symbolic ``add_loss``);
* ``eager`` -- what kind of tensor code sees, eager vs graph vs XLA (chapter IV);
* ``training``, ``history`` -- the one ``fit``, the epoch log, the logged losses;
* ``compare`` -- the four mechanisms on the same weights and clock (chapter VIII);
* ``bottleneck`` -- the extra Dense layer and its parameters (chapter XII);
* ``latent`` -- latent draws and geometry;
* ``gan`` -- the DC-GAN of chapter XIII; ``metrics`` -- sharpening (XI) and the Fréchet
  distance of two Gaussians (XIII);
* ``tutorials`` -- the two companion tutorials' losses and mistakes (chapters T1, T2);
* ``beyond`` -- chapter XIV: the sigma-VAE, KL warm-up and free bits, a conditional VAE;
* ``distribute`` -- several GPUs and machines (chapter Scaling): the strategy, models built on
  every replica, synchronized batch normalisation, the input pipeline's sharding;

The machinery the chapters use but do not teach -- data preparation, caches and the model
zoo, what every chapter does first and the run profiles (``chapter``, ``profiles``), the
measures a chapter reports, figures, persistence, timing, the explorer widget, Colab
plumbing, subprocesses -- is :mod:`vaecourse.kit`.  The taught layer never imports the
kit::

    from vaecourse.kit import chapter, data, plots, zoo
    from vaecourse import mechanisms

    P = chapter.start("X", "The VAE on faces")      # profile, seeds, figures
    faces = data.load_faces(P)                       # synthetic faces or CelebA
    vae = zoo.face_vae(P).model                      # trained once per profile, then cached
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
