# SPDX-License-Identifier: MIT
"""Every code of the library's error table (SHAREDMEM_ERRORS in sharedmem.h)
through the Python binding: its ErrorCode member, its exception class and
message. The C and C++ halves of this walk are the api suite's."""
import io

import pytest

import sharedmem
from sharedmem import _core

TABLE = _core.error_codes()  # ((name, value), ...), OK first, as compiled in
RAISED = (OSError, ValueError, RuntimeError)  # TimeoutError and the rest are OSErrors


def test_error_code_is_the_librarys_table():
    """Tests that ErrorCode has exactly the table's names and values, in
    order, each named as the library names it."""
    assert [(member.name, member.value) for member in sharedmem.ErrorCode] == list(TABLE)
    for name, value in TABLE:
        assert _core.error_name(value) == name
    assert [value for _, value in TABLE] == list(range(len(TABLE))), "codes run from 0"
    assert _core.error_name(len(TABLE)) == "UNKNOWN"
    assert _core.error_name(-1) == "UNKNOWN"


@pytest.mark.parametrize("name,value", TABLE[1:])
def test_every_code_raises_a_builtin_exception_with_its_message(name, value):
    """Tests that the exception for each code is one of the built-in classes
    the package promises, carries the code, and says the library's message."""
    exc = _core._exception_for(value)
    assert isinstance(exc, RAISED), f"{name}: {type(exc).__name__}"
    assert exc.sharedmem_error == value == sharedmem.ErrorCode[name]
    assert sharedmem.strerror(value) in str(exc)


def test_codes_with_a_meaning_in_python_map_to_their_class():
    """Tests the classes that say what happened, where Python has one."""
    expected = {
        "EXISTS": FileExistsError, "NOT_FOUND": FileNotFoundError,
        "NOT_OWNER": PermissionError, "TIMEOUT": TimeoutError,
        "INVALID_ARGUMENT": ValueError, "INVALID_NAME": ValueError,
        "INVALID_SIZE": ValueError, "VALUE_TOO_LARGE": ValueError,
        "SIZE_MISMATCH": ValueError, "CONFLICT": ValueError,
        "WOULD_DEADLOCK": RuntimeError, "NOT_HELD": RuntimeError,
        # A write through a read-only handle, as through a file opened 'r'.
        "READ_ONLY": io.UnsupportedOperation, "UNKNOWN_PRINCIPAL": ValueError,
    }
    for name, cls in expected.items():
        assert isinstance(_core._exception_for(sharedmem.ErrorCode[name]), cls), name
