# SPDX-License-Identifier: MIT
"""A drop-in for multiprocessing.shared_memory over sharedmem's raw
segments: SharedMemory, ShareableList and SharedMemoryManager with the same
constructors, attributes, repr, pickling, errors and names as the standard
ones, and sharedmem's lifetime instead of the resource tracker.

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
- ``read_only=True`` (keyword only; not in the standard class) attaches to an
  existing block without write access: ``buf`` is a read-only memoryview,
  and the mapping is read-only in the OS.

Names: as with the standard class, ``name`` may be given with or without a
leading '/' on POSIX (``/x`` and ``x`` are the same block, as for
shm_open), ``.name`` reports it as the standard class does, and ``None``
makes a random ``psm_...`` name. A name made of ``A-Z a-z 0-9 . _ -`` that
starts with none of ``. -`` is the sharedmem segment of that very name (so
``RawSegment("frames")`` opens ``SharedMemory("frames")``); any other name
is mapped to one by an escaping that cannot collide with those (a leading
'-', other bytes as ``-xx``). Mapped names are limited to 128 characters
(the standard limit is 255 bytes): longer ones are OSError ENAMETOOLONG.

To switch a whole program written for multiprocessing.shared_memory,
including the children multiprocessing starts (fork, spawn, forkserver),
call install() once, before the first child starts:

    import sharedmem.shared_memory; sharedmem.shared_memory.install()
"""
import errno as _errno
import functools as _functools
import multiprocessing as _multiprocessing
import multiprocessing.managers as _managers
import multiprocessing.shared_memory as _standard
import os as _os
import re as _re
import sys as _sys
import types as _types
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from ._core import MAX_NAME_LENGTH as _MAX_NAME_LENGTH
from ._core import RawSegment

__all__ = ["SharedMemory", "ShareableList", "SharedMemoryManager", "install"]

_USE_POSIX = _os.name != "nt"
_PLAIN_NAME = _re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*\Z")
_KEPT_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._")


def _random_name() -> str:
    # The standard module's own generator ('/psm_' or 'wnsm_' and 8 hex
    # digits), looked up at each call: names are made exactly as there, and
    # code (CPython's tests among it) that patches it steers ours too.
    return str(_standard._make_filename())  # type: ignore[attr-defined]


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

    SharedMemory(name=None, create=False, size=0, *, track=True, read_only=False)

    read_only=True attaches to an existing block (create must be False)
    without write access: ``buf`` is a read-only memoryview.
    """

    # Defaults, so that close() and unlink() work on a half-made object.
    _name: Optional[str] = None
    _segment: Optional[RawSegment] = None
    _buf: Optional[memoryview] = None
    _size = 0
    _read_only = False
    _prepend_leading_slash = _USE_POSIX

    def __init__(self, name: Optional[str] = None, create: bool = False, size: int = 0, *,
                 track: bool = True, read_only: bool = False) -> None:
        if read_only and create:
            raise ValueError("'read_only' attaches to an existing block: 'create' must be False")
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
                    segment = RawSegment(mapped, 0, mode="open", read_only=read_only)
            except FileExistsError:
                raise FileExistsError(_errno.EEXIST, _os.strerror(_errno.EEXIST), name) from None
            except FileNotFoundError:
                raise FileNotFoundError(_errno.ENOENT, _os.strerror(_errno.ENOENT),
                                        name) from None
        self._name = name
        self._segment = segment
        self._read_only = bool(read_only)
        self._size = segment.size
        self._buf = segment.buf

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass

    def __reduce__(self) -> Tuple[Any, Tuple[str, bool, int]]:
        if self._read_only:  # a read-only attachment comes back read-only
            return (_functools.partial(self.__class__, read_only=True),
                    (self.name, False, self.size))
        return (self.__class__, (self.name, False, self.size))

    def __repr__(self) -> str:
        if self._read_only:
            return f"{self.__class__.__name__}({self.name!r}, size={self.size}, read_only=True)"
        return f"{self.__class__.__name__}({self.name!r}, size={self.size})"

    @property
    def read_only(self) -> bool:
        "True if attached with read_only=True: ``buf`` is then read-only."
        return self._read_only

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


_F = TypeVar("_F", bound=Callable[..., Any])


def _with_globals(function: _F, **names: Any) -> _F:
    """A copy of the standard library's `function` that finds `names` as
    its globals in place of its own module's: how ShareableList and
    SharedMemoryManager reuse the standard code, which looks the classes up
    by module-level names, with this module's SharedMemory."""
    namespace = dict(function.__globals__)
    namespace.update(names)
    copy = _types.FunctionType(function.__code__, namespace, function.__name__,
                               function.__defaults__, function.__closure__)
    copy.__kwdefaults__ = function.__kwdefaults__
    return _functools.update_wrapper(copy, function)  # type: ignore[return-value]


class ShareableList(_standard.ShareableList):  # type: ignore[type-arg,misc]
    """multiprocessing.shared_memory.ShareableList over this module's
    SharedMemory: the standard class (the same layout in the block), whose
    ``shm`` is a sharedmem block."""

    __init__ = _with_globals(_standard.ShareableList.__init__, SharedMemory=SharedMemory)


class _NameTracker(_managers._SharedMemoryTracker):  # type: ignore[name-defined,misc]
    """The manager's record of its blocks. Releasing one only forgets its
    name: unlink() does nothing with this lifetime, and the block goes with
    its last holder (opening it to unlink it would fail once it is gone)."""

    def __init__(self, name: str, segment_names: Optional[List[str]] = None) -> None:
        super().__init__(name, [] if segment_names is None else segment_names)

    def destroy_segment(self, segment_name: str) -> None:
        self.segment_names.remove(segment_name)


class _SharedMemoryServer(_managers.SharedMemoryServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared_memory_context = _NameTracker(
            self.shared_memory_context.shared_memory_context_name)


class SharedMemoryManager(_managers.SharedMemoryManager):  # type: ignore[misc]
    """multiprocessing.managers.SharedMemoryManager whose SharedMemory() and
    ShareableList() make this module's blocks. Its shutdown frees nothing
    by itself: each block goes with its last holder (usually at once, when
    the program's own objects go), and no resource tracker is started."""

    _Server = _SharedMemoryServer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The standard __init__ only adds starting the resource tracker.
        _managers.BaseManager.__init__(self, *args, **kwargs)

    SharedMemory = _with_globals(_managers.SharedMemoryManager.SharedMemory,
                                 shared_memory=_sys.modules[__name__])
    ShareableList = _with_globals(_managers.SharedMemoryManager.ShareableList,
                                  shared_memory=_sys.modules[__name__])


_REPLACED = ((_standard.SharedMemory, SharedMemory), (_standard.ShareableList, ShareableList),
             (_managers.SharedMemoryManager, SharedMemoryManager))
_CHILD_CONFIG_KEY = "sharedmem.shared_memory.install"


class _InstallInChildren:
    """Kept in this process's multiprocessing configuration, which every
    Process made afterwards copies and which a spawn or forkserver child
    unpickles: unpickling it there calls install() in the child."""

    def __reduce__(self) -> Tuple[Callable[[], "_InstallInChildren"], Tuple[()]]:
        return (_install_in_child, ())


def _install_in_child() -> _InstallInChildren:
    install()
    return _InstallInChildren()


def _global_namespaces() -> List[Dict[str, Any]]:
    """The namespaces where code finds its global names: every module's,
    and those of the functions and methods they define, which differ from
    their module's for a main module that multiprocessing re-ran as
    __mp_main__ (runpy copies its namespace into the module)."""
    found: Dict[int, Dict[str, Any]] = {}
    this_module = _sys.modules[__name__]
    for module in list(_sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if module is this_module or not isinstance(namespace, dict):
            continue
        found[id(namespace)] = namespace
        for value in list(namespace.values()):
            try:  # a module may hold objects that fail isinstance (lazy proxies)
                members = list(vars(value).values()) if isinstance(value, type) else [value]
            except Exception:
                continue
            for member in members:
                if type(member) is _types.FunctionType:
                    found.setdefault(id(member.__globals__), member.__globals__)
    return list(found.values())


def install() -> None:
    """Switches this program to this module's SharedMemory, ShareableList
    and SharedMemoryManager, and the children that multiprocessing starts
    from now on, with any start method (fork, spawn, forkserver):

    - multiprocessing.shared_memory.SharedMemory and .ShareableList and
      multiprocessing.managers.SharedMemoryManager become these classes;
    - names that modules already imported from there (``from
      multiprocessing.shared_memory import SharedMemory`` above the call)
      are rebound to them;
    - a child started later does the same before it runs its target, even
      if this call is under ``if __name__ == "__main__":``.

    Call it before the first child starts (children started earlier, and a
    forkserver started earlier, keep what they have). Calling it again does
    nothing more.
    """
    _standard.SharedMemory = SharedMemory
    _standard.ShareableList = ShareableList
    _managers.SharedMemoryManager = SharedMemoryManager
    for namespace in _global_namespaces():
        for key, value in list(namespace.items()):
            for standard, ours in _REPLACED:
                if value is standard:
                    namespace[key] = ours
    # The configuration is multiprocessing's own channel to every child
    # (BaseProcess copies current_process()._config); there is no public one
    # that reaches spawn and forkserver children before their target runs.
    _multiprocessing.current_process()._config[_CHILD_CONFIG_KEY] = _InstallInChildren()
