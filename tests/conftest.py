"""
Shared fixtures.
"""

import os

import pytest

import twisted.plugins

TEST_PLUGINS = os.path.join(os.path.dirname(__file__), "plugins")


@pytest.fixture
def acmePlugin():
    """
    Make the third-party test plugin in C{tests/plugins} discoverable.
    """
    twisted.plugins.__path__.append(TEST_PLUGINS)
    try:
        yield
    finally:
        twisted.plugins.__path__.remove(TEST_PLUGINS)


@pytest.fixture
def centralSystem():
    """
    A started in-memory central system with the default configuration.
    """
    from kcsms.testing import MemoryCentralSystem

    return MemoryCentralSystem()
