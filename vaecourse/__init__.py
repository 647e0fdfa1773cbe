"""vaecourse: the helper package of the Variational Autoencoder course.

Chapters import what they teach from here; see the book for the tour.
"""
from .profiles import Profile, profile, has_gpu

__version__ = "0.1.0"
__all__ = ["Profile", "profile", "has_gpu", "__version__"]
