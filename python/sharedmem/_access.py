# SPDX-License-Identifier: MIT
"""The access list of a shared segment (sharedmem_access in sharedmem.h)."""
import dataclasses as _dataclasses
from typing import Any, Iterable, Mapping, Tuple, Union

__all__ = ["Access"]

_FIELDS = ("read_write", "read_only", "creators")


def _principals(field: str, value: Any) -> Tuple[str, ...]:
    # A lone str is refused rather than read as a sequence of one-letter
    # principals: read_write="group:video" is the mistake this catches.
    if isinstance(value, (str, bytes)):
        raise TypeError(f"Access.{field} must be a sequence of principals, not a single "
                        f"{type(value).__name__} (write [{value!r}])")
    try:
        principals = tuple(value)
    except TypeError:
        raise TypeError(f"Access.{field} must be a sequence of principals, not "
                        f"{type(value).__name__}") from None
    for principal in principals:
        if not isinstance(principal, str):
            raise TypeError(f"Access.{field}: a principal must be a str, not "
                            f"{type(principal).__name__}")
        if "\0" in principal:
            raise ValueError(f"Access.{field}: embedded null character in {principal!r}")
    return principals


@_dataclasses.dataclass(frozen=True, init=False)
class Access:
    """Who may open a shared segment, for ``Segment(..., access=...)`` and
    ``RawSegment(..., access=...)``. Each list holds principals:
    ``"user:NAME"``, ``"group:NAME"``, ``"uid:N"`` or ``"gid:N"`` on Linux;
    ``"user:NAME"``, ``"group:NAME"`` (``DOMAIN\\name`` allowed) or
    ``"sid:S-1-..."`` on Windows.

    - ``read_write``: may open it read-write;
    - ``read_only``: may open it only with ``read_only=True``;
    - ``creators``: the users who, besides the current user, may have
      created it (an object of the name owned by anyone else is refused);
    - ``low_integrity``: Windows: a low-integrity (sandboxed) process
      granted access may open it; ignored on Linux.

    The current user always has read-write access. Every opener passes the
    same lists: an existing object whose permissions grant anything else is
    refused (PermissionError, ``ErrorCode.NOT_OWNER``) and left untouched.
    The lists are kept as tuples; any iterable of str is accepted, a single
    str is not. A mapping with these keys is accepted wherever an Access
    is (``access={"read_only": ["group:video"]}``).
    """

    read_write: Tuple[str, ...]
    read_only: Tuple[str, ...]
    creators: Tuple[str, ...]
    low_integrity: bool

    def __init__(self, read_write: Iterable[str] = (), read_only: Iterable[str] = (),
                 creators: Iterable[str] = (), low_integrity: bool = False) -> None:
        # Written out (not the dataclass's) so that any iterable goes in and
        # a tuple is what the field holds and says it holds.
        for field, value in zip(_FIELDS, (read_write, read_only, creators)):
            object.__setattr__(self, field, _principals(field, value))
        if not isinstance(low_integrity, bool):
            raise TypeError("Access.low_integrity must be a bool, not "
                            f"{type(low_integrity).__name__}")
        object.__setattr__(self, "low_integrity", low_integrity)


def _as_access(value: Union[Access, Mapping[str, Any]]) -> Access:
    """What the extension calls with an ``access=`` argument (not None): the
    Access it stands for. TypeError for anything else, and for a mapping
    with a key Access does not have."""
    if isinstance(value, Access):
        return value
    if isinstance(value, Mapping):
        unknown = sorted(str(key) for key in value if key not in (*_FIELDS, "low_integrity"))
        if unknown:
            raise TypeError(f"access: unknown key(s) {', '.join(unknown)}; the keys are "
                            "read_write, read_only, creators and low_integrity")
        return Access(**value)
    raise TypeError(f"access must be a sharedmem.Access or a mapping, not "
                    f"{type(value).__name__}")
