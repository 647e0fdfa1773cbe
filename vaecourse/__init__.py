"""vaecourse: the helper package of the Variational Autoencoder course.

Chapters import what they teach from here::

    import vaecourse
    from vaecourse import chapter, models, mechanisms, training, data, zoo, plots

    P = chapter.start("X", "The VAE on faces")      # profile, seeds, figures
    faces = data.load_faces(P)                       # synthetic faces or CelebA
    vae = zoo.face_vae(P).model                      # trained once per profile, then cached
"""

from .profiles import Profile, has_gpu, profile

__version__ = "0.1.0"
__all__ = ["Profile", "profile", "has_gpu", "__version__"]
