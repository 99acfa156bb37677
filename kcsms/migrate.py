"""
C{python -m kcsms.migrate [--config FILE]}: create or upgrade the database
schema and exit, for operators who migrate before they deploy.  kcsms also
does this itself at start.
"""

import argparse
import sys

from kcsms.config import ConfigError, fromFile
from kcsms.storage import StorageError, migrateDatabase

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """
    @return: the exit status: 0 when the schema is up to date, 1 otherwise.
    """
    parser = argparse.ArgumentParser(prog="python -m kcsms.migrate", description=__doc__)
    parser.add_argument("--config", default="etc/kcsms.ini", help="the INI configuration file")
    arguments = parser.parse_args(argv)
    try:
        config = fromFile(arguments.config)
        version = migrateDatabase(config.storage.database)
    except (ConfigError, StorageError) as e:
        print(f"kcsms.migrate: {e}", file=sys.stderr)
        return 1
    print(f"kcsms.migrate: the database schema is at version {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
