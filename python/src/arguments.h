/* SPDX-License-Identifier: MIT */
/*
 * The arguments of sharedmem._core's calls, checked and converted to what the
 * C API takes. Each function requires the GIL and returns 0, or -1 with an
 * exception set.
 */
#ifndef SHAREDMEM_PYTHON_ARGUMENTS_H
#define SHAREDMEM_PYTHON_ARGUMENTS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "sharedmem/sharedmem.h"

/* Reads a non-negative integer below 2**64 into *out. Negative or too large:
 * ValueError carrying `code` as its sharedmem_error, as the library's own
 * refusals of bad sizes and arguments do; not an int: TypeError. */
int parse_u64(PyObject* obj, const char* what, sharedmem_error code, uint64_t* out);

/* The segment name as UTF-8 for the C API (owned by `name`); refuses non-str
 * and embedded NUL. NULL with an exception set when refused. */
const char* name_utf8(PyObject* name);

/* mode= as open flags: "open_or_create" (0), "create", "open"; NULL (not
 * given) is "open_or_create". */
int parse_mode(PyObject* mode, uint32_t* flags);

/* timeout= in seconds (NULL or None: forever) as milliseconds, in a double so
 * that any float fits; -1 stands for forever. */
int parse_timeout(PyObject* timeout, double* ms);

/* An access list as the C API takes it, over the tuples of str of a
 * sharedmem.Access (which it holds while the open runs). */
typedef struct {
  PyObject* access; /* the sharedmem.Access */
  PyObject* lists[3];
  const char** pointers; /* the three NULL-terminated lists, one block */
  sharedmem_access c;
} AccessArgument;

/* `given` (not None): a sharedmem.Access, or a mapping of its fields, as
 * sharedmem._access._as_access checks and converts it. Cleared again when it
 * fails. */
int access_argument_fill(AccessArgument* argument, PyObject* given);

/* Drops what access_argument_fill took; `access` too, unless taken first. */
void access_argument_clear(AccessArgument* argument);

#endif /* SHAREDMEM_PYTHON_ARGUMENTS_H */
