"""
Shared fixtures.
"""

import os
from urllib.parse import quote
from uuid import uuid4

import psycopg2
import pytest
from twisted.logger import STDLibLogObserver, globalLogBeginner

import twisted.plugins

TEST_PLUGINS = os.path.join(os.path.dirname(__file__), "plugins")

#: When set (the Makefile sets it under CI), PostgreSQL tests must run: a
#: server that cannot be reached fails them.  A URL, or 1 for the default.
REQUIRE_POSTGRES = os.environ.get("KCSMS_TEST_POSTGRES", "")
POSTGRES_URL = (
    REQUIRE_POSTGRES if "://" in REQUIRE_POSTGRES else "postgresql://postgres@127.0.0.1:5432/test"
)


def pytest_configure(config):
    """
    Twisted's log (kcsms's own lines among it) goes to Python's logging, so
    that a failed test's report shows what was logged while it ran.
    """
    globalLogBeginner.beginLoggingTo([STDLibLogObserver()], redirectStandardIO=False)


def withSearchPath(url, schema):
    """
    @return: C{url} whose connections use C{schema}.
    """
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def connectPostgres():
    """
    @return: a connection to L{POSTGRES_URL}; when it cannot be reached the
        test fails if L{REQUIRE_POSTGRES} is set, else it is skipped.
    """
    try:
        return psycopg2.connect(POSTGRES_URL)
    except psycopg2.OperationalError as e:
        if REQUIRE_POSTGRES:
            pytest.fail(f"KCSMS_TEST_POSTGRES is set but {POSTGRES_URL} cannot be reached: {e}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL} (set KCSMS_TEST_POSTGRES to require it)")


@pytest.fixture
def postgresDatabase():
    """
    The URL of the PostgreSQL database, once it is known to be reachable
    (see L{connectPostgres}), for tests that make schemas of their own.
    """
    connectPostgres().close()
    return POSTGRES_URL


def _freshSchema():
    connection = connectPostgres()
    schema = f"kcsms_test_{uuid4().hex[:12]}"
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema}")
    try:
        yield withSearchPath(POSTGRES_URL, schema)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {schema} CASCADE")
        connection.close()


@pytest.fixture
def postgresUrl():
    """
    A PostgreSQL URL of a fresh schema of its own, dropped after the test, so
    that runs never collide.
    """
    yield from _freshSchema()


@pytest.fixture
def otherPostgresUrl():
    """
    As L{postgresUrl}, a second schema in the same database.
    """
    yield from _freshSchema()


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
