# SPDX-License-Identifier: MIT
"""Named shared memory with the same lifetime on Linux and Windows.

A segment lives while any process holds it open and is gone once every holder
has closed it or died, even by SIGKILL: nothing is left behind in /dev/shm,
no resource tracker is involved, and no process can remove a segment that
others still use.

- :class:`Segment`: a named value (a byte string of up to ``capacity`` bytes)
  that writes replace atomically; readers never see a mix of two writes and
  never wait for a writer. Versions, compare-and-write (:meth:`Segment.write_if`)
  and waiting for the next write (:meth:`Segment.wait`).
- :class:`RawSegment`: a zero-filled buffer shared in place (``buf``, a
  writable memoryview, numpy-ready), with a robust cross-process lock,
  ``notify()`` and ``wait()``.
- :class:`SharedMemory`: a drop-in for multiprocessing.shared_memory's, over
  raw segments, with this lifetime instead of the resource tracker.
- :func:`set_shared_mem` / :func:`get_shared_mem`: the classic
  SetSharedMem/GetSharedMem over the library's default segment.

Segments are private to their user (Linux) or session (Windows). Opened with
``access=Access(...)`` a segment is shared with the users and groups listed,
and ``read_only=True`` opens one without write access (see :class:`Access`).

Errors are the built-in exceptions (FileExistsError, FileNotFoundError,
PermissionError, ValueError, TimeoutError, io.UnsupportedOperation for a
write through a read-only handle, OSError with errno); each carries the
library's error code as ``exc.sharedmem_error`` (see :class:`ErrorCode`).

This package is a binding of the sharedmem C library, which it bundles
(libsharedmem.so.1 on Linux, sharedmem.dll on Windows).
"""
import enum as _enum
import os as _os
import threading as _threading

if _os.name == "nt":
    # sharedmem.dll and sharedmem_setget.dll sit next to the extension
    # modules; since Python 3.8, Windows looks for an extension's DLLs only in
    # the system directories and those added here.
    _dll_directory = _os.add_dll_directory(_os.path.dirname(_os.path.abspath(__file__)))

from . import _core  # noqa: E402
from ._access import Access  # noqa: E402
from ._core import MAX_NAME_LENGTH, Segment, backend, prune, strerror  # noqa: E402

# Raw segments and the drop-in SharedMemory need a library with raw segments
# (SHAREDMEM_RAW); the extension has them exactly when its header did.
HAVE_RAW = hasattr(_core, "RawSegment")
if HAVE_RAW:
    from ._core import OwnerDiedWarning, RawLock, RawSegment  # noqa: F401
    from .shared_memory import ShareableList, SharedMemory, SharedMemoryManager  # noqa: F401

__all__ = [
    "Segment",
    "Access",
    "ErrorCode",
    "set_shared_mem",
    "get_shared_mem",
    "backend",
    "strerror",
    "prune",
    "MAX_NAME_LENGTH",
    "HAVE_RAW",
]
if HAVE_RAW:
    __all__ += ["RawSegment", "RawLock", "OwnerDiedWarning", "SharedMemory", "ShareableList",
                "SharedMemoryManager"]

# The library's own version, from the library this package loaded: one
# number for the C library, the command and this package.
__version__ = _core.library_version()


class ErrorCode(_enum.IntEnum):
    """The library's error codes (``sharedmem_error``), found as
    ``exc.sharedmem_error`` on every exception the package raises for the
    library. Named and numbered as the library's table (SHAREDMEM_ERRORS in
    sharedmem.h; python/tests/test_errors.py checks them against it).
    ``OWNER_DIED`` is **a success, not a failure**: ``RawSegment.lock`` takes
    the lock and warns with ``OwnerDiedWarning``."""

    OK = 0
    INVALID_ARGUMENT = 1
    INVALID_NAME = 2
    INVALID_SIZE = 3
    VALUE_TOO_LARGE = 4
    SIZE_MISMATCH = 5
    INCOMPATIBLE = 6
    NOT_OWNER = 7
    ACCESS_DENIED = 8
    NO_MEMORY = 9
    TIMEOUT = 10
    UNSUPPORTED = 11
    SYSTEM = 12
    NOT_ATTACHED = 13
    EXISTS = 14
    NOT_FOUND = 15
    CONFLICT = 16
    OWNER_DIED = 17
    WOULD_DEADLOCK = 18
    CORRUPTED = 19
    NOT_HELD = 20
    WRONG_KIND = 21
    REMOVED = 22
    READ_ONLY = 23
    UNKNOWN_PRINCIPAL = 24


_setget_module = None
_setget_lock = _threading.Lock()


def _load_setget():
    # Imported on first use: loading libsharedmem_setget attaches the default
    # segment, which a program that never calls set/get should not hold.
    global _setget_module
    with _setget_lock:
        if _setget_module is None:
            from . import _setget as module
            _setget_module = module
    return _setget_module


def set_shared_mem(text: str) -> None:
    """Copies ``text`` into the default segment (SetSharedMem), truncated to
    its capacity: 1023 characters on Linux, 2047 UTF-16 units on Windows.

    The default segment is ``dllmemfilemap`` (or ``$SHAREDMEM_DEFAULT_SEGMENT``
    when the library loads); this process holds it from its first call of
    set_shared_mem or get_shared_mem until it exits. ValueError for a text
    with a NUL character; OSError if the default segment could not be
    attached.
    """
    _load_setget().set_shared_mem(text)


def get_shared_mem() -> str:
    """The default segment's text (GetSharedMem): what the last
    set_shared_mem of any process wrote, or "" in a segment nobody wrote."""
    return _load_setget().get_shared_mem()
