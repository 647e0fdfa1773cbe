"""The 40 CelebA attribute names, in the order of ``list_attr_celeba``, and look-ups by name.

Both the real CelebA and the synthetic face set label every image with these 40 columns,
coded as CelebA codes them: +1 (has it) and -1 (has not).  A prepared CelebA image whose
attribute row was missing gets 0 (unknown) in every column.
"""

from __future__ import annotations

import difflib

import numpy as np

ATTR_NAMES = (
    "5_o_Clock_Shadow",
    "Arched_Eyebrows",
    "Attractive",
    "Bags_Under_Eyes",
    "Bald",
    "Bangs",
    "Big_Lips",
    "Big_Nose",
    "Black_Hair",
    "Blond_Hair",
    "Blurry",
    "Brown_Hair",
    "Bushy_Eyebrows",
    "Chubby",
    "Double_Chin",
    "Eyeglasses",
    "Goatee",
    "Gray_Hair",
    "Heavy_Makeup",
    "High_Cheekbones",
    "Male",
    "Mouth_Slightly_Open",
    "Mustache",
    "Narrow_Eyes",
    "No_Beard",
    "Oval_Face",
    "Pale_Skin",
    "Pointy_Nose",
    "Receding_Hairline",
    "Rosy_Cheeks",
    "Sideburns",
    "Smiling",
    "Straight_Hair",
    "Wavy_Hair",
    "Wearing_Earrings",
    "Wearing_Hat",
    "Wearing_Lipstick",
    "Wearing_Necklace",
    "Wearing_Necktie",
    "Young",
)
N_ATTRS = len(ATTR_NAMES)
_INDEX = {name: i for i, name in enumerate(ATTR_NAMES)}
_LOWER = {name.lower(): i for i, name in enumerate(ATTR_NAMES)}


def attr_index(name: str) -> int:
    """Column of attribute ``name`` (``attr_index("Smiling") == 31``); case-insensitive.

    An unknown name raises a ``KeyError`` that lists the closest CelebA names.
    """
    if name in _INDEX:
        return _INDEX[name]
    key = str(name).strip().lower().replace(" ", "_")
    if key in _LOWER:
        return _LOWER[key]
    close = difflib.get_close_matches(str(name), ATTR_NAMES, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise KeyError(
        f"unknown CelebA attribute {name!r}.{hint} The 40 names are in vaecourse.kit.data.ATTR_NAMES."
    )


def attr_column(attrs: np.ndarray, name: str) -> np.ndarray:
    """The ±1 column of ``attrs`` (shape ``(n, 40)``) for attribute ``name``."""
    attrs = np.asarray(attrs)
    if attrs.ndim != 2 or attrs.shape[1] != N_ATTRS:
        raise ValueError(f"expected attributes of shape (n, {N_ATTRS}), got {attrs.shape}")
    return attrs[:, attr_index(name)]


def with_attr(attrs: np.ndarray, name: str, value: bool = True) -> np.ndarray:
    """Indices of the images that have (``value=True``) or lack attribute ``name``.

    Images with an unknown value (0) are in neither set.
    """
    col = attr_column(attrs, name)
    return np.flatnonzero(col == (1 if value else -1))


def labelled(images, attrs, what: str = "training", source: str = "the prepared set"):
    """``(images, attrs)`` of the faces whose 40 attributes are all known.

    A prepared CelebA image without a row in the attribute file has 0 (unknown) in every
    column; trained on as -1 it would teach a classifier "absent".  The unknown ones are left
    out with a note; when no face is labelled a :class:`~vaecourse.kit.profiles.CelebAError` says
    what to add.
    """
    from ..profiles import CelebAError

    attrs = np.asarray(attrs)
    known = (attrs != 0).all(axis=1)
    if known.all():
        return images, attrs
    if not known.any():
        raise CelebAError(
            f"none of the {len(attrs):,} {what} faces of {source} has known attributes: the "
            f"attribute file (list_attr_celeba.csv or .txt) is missing or names none of them. "
            f"Put CelebA's attribute file next to the images and run again."
        )
    idx = np.flatnonzero(known)
    print(
        f"note: {len(idx):,} of the {len(attrs):,} {what} faces have known attributes "
        f"({len(attrs) - len(idx):,} unknown, no row in the attribute file of {source}): "
        f"the unknown ones are left out"
    )
    return np.asarray(images[idx]), attrs[idx]
