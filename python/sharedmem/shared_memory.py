# SPDX-License-Identifier: MIT
"""A drop-in for multiprocessing.shared_memory.SharedMemory over sharedmem's
raw segments: the same constructor, attributes, repr, pickling, errors and
names, with sharedmem's lifetime instead of the resource tracker.

- A block lives while any process holds it (an open SharedMemory, even one
  inherited through fork) and is gone once every holder has closed it or
  died, even by SIGKILL: nothing stays in /dev/shm, and nothing warns about
  "leaked" blocks at exit.
- unlink() does nothing: no process can remove a block that others still
  use (Windows' answer, now on every OS). The block goes with its last
  holder. Code that calls close() and then unlink() keeps working.
- close() never unmaps memory that an array or view can still reach: the
  block is let go of when the last of them goes (see RawSegment.close).
- ``track`` is accepted, as on Python 3.13, and changes nothing: there is no
  resource tracker to register with.

Names: as with the standard class, ``name`` may be given with or without a
leading '/' on POSIX (``/x`` and ``x`` are the same block, as for
shm_open), ``.name`` reports it as the standard class does, and ``None``
makes a random ``psm_...`` name. A name made of ``A-Z a-z 0-9 . _ -`` that
starts with none of ``. -`` is the sharedmem segment of that very name (so
``RawSegment("frames")`` opens ``SharedMemory("frames")``); any other name
is mapped to one by an escaping that cannot collide with those (a leading
'-', other bytes as ``-xx``). Mapped names are limited to 128 characters
(the standard limit is 255 bytes): longer ones are OSError ENAMETOOLONG.

Replace the standard class, and ShareableList (which looks the class up when
it creates or opens a block) uses this one:

    import multiprocessing.shared_memory, sharedmem
    multiprocessing.shared_memory.SharedMemory = sharedmem.SharedMemory
"""
import errno as _errno
import os as _os
import re as _re
import secrets as _secrets
from typing import Any, Optional, Tuple

from ._core import MAX_NAME_LENGTH as _MAX_NAME_LENGTH
from ._core import RawSegment

__all__ = ["SharedMemory"]

_USE_POSIX = _os.name != "nt"
# As the standard class: '/psm_' on POSIX, 'wnsm_' on Windows, 14 characters.
_NAME_PREFIX = "/psm_" if _USE_POSIX else "wnsm_"
_SAFE_NAME_LENGTH = 14
_PLAIN_NAME = _re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*\Z")
_KEPT_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._")


def _random_name() -> str:
    return _NAME_PREFIX + _secrets.token_hex((_SAFE_NAME_LENGTH - len(_NAME_PREFIX)) // 2)


def _os_error(code: int, filename: str) -> OSError:
    return OSError(code, _os.strerror(code), filename)


def segment_name(name: str, reported: str) -> str:
    """The sharedmem segment name for the standard class's `name` (without
    the leading '/' this class prepends on POSIX). Raises what the standard
    class raises for names shm_open refuses; `reported` is the name its
    errors carry."""
    if "\0" in name:
        raise ValueError("embedded null character")
    if _USE_POSIX:
        name = name.lstrip("/")  # shm_open skips every leading '/'
        if not name or "/" in name:
            raise _os_error(_errno.EINVAL, reported)
    elif not name:
        raise _os_error(_errno.EINVAL, reported)
    if _PLAIN_NAME.match(name):
        mapped = name
    else:
        mapped = "-" + "".join(chr(b) if b in _KEPT_BYTES else f"-{b:02x}"
                               for b in name.encode("utf-8", "surrogatepass"))
    if len(mapped) > _MAX_NAME_LENGTH:
        raise _os_error(_errno.ENAMETOOLONG, reported)
    return mapped


class SharedMemory:
    """Creates a new shared memory block or attaches to an existing one, as
    multiprocessing.shared_memory.SharedMemory does, with sharedmem's
    lifetime: the block lives while any process holds it and is gone once
    every holder has closed it or died; unlink() does nothing.

    SharedMemory(name=None, create=False, size=0, *, track=True)
    """

    # Defaults, so that close() and unlink() work on a half-made object.
    _name: Optional[str] = None
    _segment: Optional[RawSegment] = None
    _buf: Optional[memoryview] = None
    _size = 0
    _prepend_leading_slash = _USE_POSIX

    def __init__(self, name: Optional[str] = None, create: bool = False, size: int = 0, *,
                 track: bool = True) -> None:
        if not size >= 0:
            raise ValueError("'size' must be a positive integer")
        if create and size == 0:
            raise ValueError("'size' must be a positive number different from zero")
        if name is None and not create:
            raise ValueError("'name' can only be None if create=True")
        self._track = track  # accepted for 3.13 compatibility; nothing to track

        if name is None:
            while True:
                name = _random_name()
                try:
                    segment = RawSegment(segment_name(name, name), size, mode="create")
                except FileExistsError:
                    continue
                break
        else:
            name = "/" + name if self._prepend_leading_slash else name
            mapped = segment_name(name, name)
            try:
                if create:
                    segment = RawSegment(mapped, size, mode="create")
                else:
                    segment = RawSegment(mapped, 0, mode="open")
            except FileExistsError:
                raise FileExistsError(_errno.EEXIST, _os.strerror(_errno.EEXIST), name) from None
            except FileNotFoundError:
                raise FileNotFoundError(_errno.ENOENT, _os.strerror(_errno.ENOENT),
                                        name) from None
        self._name = name
        self._segment = segment
        self._size = segment.size
        self._buf = segment.buf

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass

    def __reduce__(self) -> Tuple[Any, Tuple[str, bool, int]]:
        return (self.__class__, (self.name, False, self.size))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.name!r}, size={self.size})"

    @property
    def buf(self) -> memoryview:
        "A memoryview of contents of the shared memory block."
        return self._buf

    @property
    def name(self) -> str:
        "Unique name that identifies the shared memory block."
        reported_name = self._name
        if _USE_POSIX and self._prepend_leading_slash:
            if self._name.startswith("/"):
                reported_name = self._name[1:]
        return reported_name

    @property
    def size(self) -> int:
        "Size in bytes."
        return self._size

    def close(self) -> None:
        """Closes access to the shared memory from this instance: ``buf``
        is released (and None from then on) as with the standard class. The
        block is freed once every process holding it has closed it or died.
        Arrays and views made from ``buf`` stay valid: this process holds
        the block until the last of them goes. Never raises BufferError."""
        self._buf = None
        if self._segment is not None:
            self._segment.close()
            self._segment = None

    def unlink(self) -> None:
        """Does nothing: with sharedmem's lifetime a block cannot be removed
        while others hold it, and it goes by itself with its last holder
        (as on Windows). Kept so that code written for the standard class,
        which must call unlink() once, runs unchanged."""
