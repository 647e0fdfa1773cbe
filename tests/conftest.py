"""Fixtures shared by several test modules."""

import pytest

from vaecourse.kit.data import celeba, store


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty cache folder of the test's own, no CelebA folder set, and every prepared file
    verified again on its next load (``pytestmark = pytest.mark.usefixtures("fresh_cache")``)."""
    monkeypatch.setenv("VAECOURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(celeba.ENV_CELEBA, raising=False)
    store.forget_verified()
