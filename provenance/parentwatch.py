"""Worker processes that end with their parent.

A pool worker (audit pairs, lab jobs) keeps running when its parent is killed: the
parent's ``with ProcessPoolExecutor`` never gets to shut it down, and the orphan
goes on querying models and writing to an evidence store that nobody reads, or to
the store of the next run. Measured once in this project: an audit stopped with
SIGTERM left its worker collecting for ten more minutes. Each worker therefore
watches its parent and exits as soon as it is gone. Polling ``os.getppid()`` is
portable (``prctl(PR_SET_PDEATHSIG)`` is Linux-only); what a worker had stored is
safe, since every evidence row is committed on its own.
"""

from __future__ import annotations

import os
import threading
import time


def exit_with_parent(poll_seconds: float = 1.0) -> None:
    """Start a daemon thread that ends this process when its parent process is gone."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:  # re-parented: the parent died
                os._exit(143)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
