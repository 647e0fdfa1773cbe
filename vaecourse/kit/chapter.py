"""What every chapter does first (``P = chapter.start(...)``, ``chapter.show_source``,
``chapter.quote``): course machinery, imported by the chapters from the kit."""

from ..chapter import (  # noqa: F401  (the chapters' names for them)
    INSTALL_EXTRAS,
    REPOSITORY,
    in_colab,
    quote,
    seed_everything,
    show_source,
    start,
)
