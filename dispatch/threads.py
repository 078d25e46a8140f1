"""Operating-system names for the service's own threads.

Python names its threads, but the operating system does not see those names before Python
3.14: `top -H`, `ps -L` and /proc/<pid>/task/<tid>/comm show every thread as "python". A
thread that calls `name_this_thread()` first is shown by its Python name ("intake-writer-0",
"live-hub_0"), so an operator can see which part of the service is busy or stuck, and a
benchmark can tell the intake writer's CPU from the hub's without a profiler.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading

_PR_SET_NAME = 15  # prctl(2): set the calling thread's name (at most 15 bytes)
_libc: ctypes.CDLL | None = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:  # no C library to call: threads keep the process's name
        _libc = None


def name_this_thread(name: str | None = None) -> None:
    """Give the calling thread its Python name (or `name`) at the operating-system level:
    the first 15 bytes, as Linux keeps them. Does nothing elsewhere or if the call fails."""
    if _libc is None:
        return
    wanted = (name or threading.current_thread().name).encode("utf-8", "replace")[:15]
    _libc.prctl(_PR_SET_NAME, ctypes.c_char_p(wanted), 0, 0, 0)
