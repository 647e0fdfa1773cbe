"""Data for the course: synthetic faces, real CelebA, MNIST, and input pipelines.

The calls a chapter makes::

    P = profiles.profile()
    faces = vaecourse.kit.data.load_faces(P)         # .train/.val uint8 memmaps, .attrs_*, .source
    ds = vaecourse.kit.data.make_dataset(faces.train, P.batch_size, seed=P.seed)   # (x, x)
    x_train, y_train, x_test, y_test = vaecourse.kit.data.load_digits(P)

``P.dataset == "celeba"`` (profile ``full``, or ``VAECOURSE_DATA=celeba``) selects the real
CelebA; every other setting uses the embedded synthetic faces.  Nothing here imports
TensorFlow until a pipeline is built.
"""

from .attributes import ATTR_NAMES, N_ATTRS, attr_column, attr_index, with_attr
from .celeba import (
    CROP_BOX,
    ENV_CELEBA,
    KAGGLE_HANDLE,
    CelebAError,
    find_source,
    load_celeba,
    parse_attributes,
    parse_partitions,
    prepare_celeba,
    write_fake_celeba,
)
from .digits import DigitSet, load_digits
from .faces import FaceSet, load_faces, load_synthetic, prepare_synthetic
from .indices import pick_indices, seeded_rng
from .pipelines import (
    as_generator,
    files_dataset,
    legacy_flow,
    make_dataset,
    stream_from_files,
    to_float,
)
from .synthetic import GENERATOR_VERSION, Faces, render_faces

__all__ = [
    "ATTR_NAMES",
    "N_ATTRS",
    "attr_column",
    "attr_index",
    "with_attr",
    "CROP_BOX",
    "ENV_CELEBA",
    "KAGGLE_HANDLE",
    "CelebAError",
    "find_source",
    "load_celeba",
    "parse_attributes",
    "parse_partitions",
    "prepare_celeba",
    "write_fake_celeba",
    "DigitSet",
    "load_digits",
    "FaceSet",
    "load_faces",
    "load_synthetic",
    "prepare_synthetic",
    "pick_indices",
    "seeded_rng",
    "as_generator",
    "files_dataset",
    "legacy_flow",
    "make_dataset",
    "stream_from_files",
    "to_float",
    "GENERATOR_VERSION",
    "Faces",
    "render_faces",
]
