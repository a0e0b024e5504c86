/* SPDX-License-Identifier: MIT */
/*
 * The one mapping from sharedmem_error to Python exceptions, shared by the
 * extension modules (_core and _setget; errors.c, compiled into each).
 * Requires the GIL.
 *
 *   EXISTS                                    FileExistsError (errno EEXIST)
 *   NOT_FOUND                                 FileNotFoundError (errno ENOENT)
 *   NOT_OWNER                                 PermissionError (errno EACCES)
 *   ACCESS_DENIED                             PermissionError (the OS's errno)
 *   TIMEOUT                                   TimeoutError (errno ETIMEDOUT)
 *   INVALID_ARGUMENT, INVALID_NAME,
 *   INVALID_SIZE, VALUE_TOO_LARGE,
 *   SIZE_MISMATCH, CONFLICT                   ValueError
 *   UNKNOWN_PRINCIPAL                         ValueError (an access list's entry
 *                                             names no user or group: a bad
 *                                             argument, like any other)
 *   WOULD_DEADLOCK, NOT_HELD                  RuntimeError (as threading.Lock's
 *                                             release() of a lock not held)
 *   READ_ONLY                                 io.UnsupportedOperation (an OSError
 *                                             and a ValueError): what writing to
 *                                             a file opened 'r' raises; the
 *                                             handle was opened read-only, and
 *                                             the user may well have the right
 *                                             to write, so not PermissionError
 *   anything else (SYSTEM, NO_MEMORY,
 *   INCOMPATIBLE, WRONG_KIND, CORRUPTED,
 *   UNSUPPORTED,
 *   NOT_ATTACHED, OWNER_DIED, unknown codes)  OSError, with the errno (Linux)
 *                                             or winerror (Windows) from
 *                                             sharedmem_last_system_error()
 *                                             when the OS caused it, which
 *                                             Python turns into the matching
 *                                             subclass
 *
 * Every exception carries the library's message and, as the attribute
 * `sharedmem_error`, the library's error code (an int, equal to the member
 * of sharedmem.ErrorCode). An open's exception also says what
 * sharedmem_last_error_detail() found out (the unknown principal, why an
 * object was refused), in parentheses after the message.
 */
#ifndef SHAREDMEM_PYTHON_ERRORS_H
#define SHAREDMEM_PYTHON_ERRORS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "sharedmem/sharedmem.h"

/* Calls `type(*args)`, sets exc.sharedmem_error = code, and raises it; takes
 * the reference to `args` (NULL: an exception is already set). Returns NULL,
 * so that callers can `return sharedmem_py_raise_built(...)`. */
PyObject* sharedmem_py_raise_built(PyObject* type, PyObject* args, sharedmem_error code);

/* Raises the exception for `code`, returned by a call about the segment
 * `name` (a str, or NULL when no name is involved), its message followed by
 * `detail` in parentheses when that is neither NULL nor empty. Call it right
 * after the failed call, on the same thread, so that
 * sharedmem_last_system_error() still describes that call. Returns NULL. */
PyObject* sharedmem_py_raise_detailed(sharedmem_error code, PyObject* name, const char* detail);

/* sharedmem_py_raise_detailed without a detail: for every call but the
 * opens (whose detail is sharedmem_last_error_detail()). */
PyObject* sharedmem_py_raise(sharedmem_error code, PyObject* name);

#endif /* SHAREDMEM_PYTHON_ERRORS_H */
