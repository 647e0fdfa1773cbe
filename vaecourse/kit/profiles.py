"""The run profiles (``ci``, ``book``, ``full``) as the chapters import them from the kit."""

from ..profiles import PROFILE_NAMES, Profile, profile  # noqa: F401  (the chapters' names)
