"""Fault injection for the failure-path tests: die at a named mutation boundary.

``FDW_WIZARD_FAULT=<point>`` makes the process kill itself (SIGKILL on POSIX, an immediate
exit on Windows: no cleanup, no finally, as a closed window or a power cut would) when it
reaches ``point``; ``FDW_WIZARD_FAULT=<point>:raise`` raises instead, to test the in-process
handling. Unset (always, outside the tests), a point costs one dictionary lookup.
The points are listed in :data:`POINTS`, so the test suite can walk every one of them.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "files.before-write",  # journaled, the conf/hba file not yet replaced
    "files.after-write",  # the file replaced, the step's memory not yet written
    "tls.after-key",  # the key written, the certificate not yet
    "restart.before",  # journal says "restart", the server not yet touched
    "restart.failed",  # the restart failed, the server down, nothing restored yet
)


class InjectedFault(RuntimeError):
    """Raised at a fault point in ``:raise`` mode."""


def point(name: str) -> None:
    wanted = os.environ.get("FDW_WIZARD_FAULT")
    if not wanted:
        return
    where, _, mode = wanted.partition(":")
    if where != name:
        return
    if mode == "raise":
        raise InjectedFault(name)
    if os.name == "posix":
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(137)
