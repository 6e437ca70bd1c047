"""Who may read the SQLite files: the owner alone.

The database holds message bodies, and webhook URLs with their passwords; SQLite's log (``-wal``) and shared
memory (``-shm``) hold the same pages. Before SQLite first opens the database, Loft creates the file with mode
0600: SQLite gives the ``-wal`` and ``-shm`` files it creates the database file's mode, whatever the umask. The
``-writer`` file (the lock processes take turns on) is created 0600 as well, and a data dir Loft creates is 0700.

Files an older Loft left readable by others (0644 under the usual umask) are tightened to 0600 at start, with one
line in the log. A directory that already exists is left as it is: it is the operator's (``/var/lib``, a home
directory), and the files in it are what hold the data.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("loft")

#: The files of one SQLite database, by suffix: the database, its log, its shared memory, Loft's write lock.
SUFFIXES = ("", "-wal", "-shm", "-writer")


def private_dir(path: Path) -> None:
    """Make ``path`` (0700) and its missing parents, unless it exists."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def prepare(database: str) -> None:
    """Before SQLite opens the file ``database``: its directory exists, the file exists with mode 0600, and any of
    its files that others could read are tightened."""
    path = Path(database)
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # an empty file is a new database
    except FileExistsError:
        pass
    tightened = []
    for suffix in SUFFIXES:
        name = database + suffix
        try:
            mode = stat.S_IMODE(os.stat(name).st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(name, mode & 0o700)
            tightened.append(f"{Path(name).name} ({mode:04o})")
    if tightened:
        log.warning("database files readable by other users made owner-only (0600): %s in %s", ", ".join(tightened),
                    path.parent)
