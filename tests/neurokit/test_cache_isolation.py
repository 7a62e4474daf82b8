"""The suite never writes to the user's cache: every test sees a per-session temporary one."""

import os
from pathlib import Path


def test_cache_dir_is_the_sessions_temporary_one(isolated_cache, tmp_path_factory):
    cache = Path(os.environ["NEUROKIT_CACHE_DIR"])
    assert cache == isolated_cache
    assert tmp_path_factory.getbasetemp() in cache.parents
    assert Path.home() / ".cache" / "neurokit" not in [cache, *cache.parents]


def test_installed_photo_bank_is_linked_not_shared(isolated_cache):
    bank = isolated_cache / "photo-bank"
    assert bank.is_dir() and not bank.is_symlink()
    assert all(entry.is_symlink() for entry in bank.iterdir())
