/* SPDX-License-Identifier: MIT */
/* The arguments of sharedmem._core's calls (arguments.h). */
#include "arguments.h"

#include <string.h>

#include "errors.h"

static PyObject* zero; /* the int 0, for sign tests; made on first use */

int parse_u64(PyObject* obj, const char* what, sharedmem_error code, uint64_t* out) {
  PyObject* index;
  int negative;
  unsigned long long value;
  if (!PyIndex_Check(obj)) {
    PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what, Py_TYPE(obj)->tp_name);
    return -1;
  }
  if (zero == NULL && (zero = PyLong_FromLong(0)) == NULL) return -1;
  index = PyNumber_Index(obj);
  if (index == NULL) return -1;
  negative = PyObject_RichCompareBool(index, zero, Py_LT);
  if (negative) {
    Py_DECREF(index);
    if (negative > 0) {
      sharedmem_py_raise_built(PyExc_ValueError,
                               Py_BuildValue("(N)", PyUnicode_FromFormat("%s must not be negative",
                                                                         what)),
                               code);
    }
    return -1;
  }
  value = PyLong_AsUnsignedLongLong(index);
  Py_DECREF(index);
  if (value == (unsigned long long)-1 && PyErr_Occurred()) {
    if (!PyErr_ExceptionMatches(PyExc_OverflowError)) return -1;
    PyErr_Clear();
    sharedmem_py_raise_built(
        PyExc_ValueError,
        Py_BuildValue("(N)", PyUnicode_FromFormat("%s must be less than 2**64", what)), code);
    return -1;
  }
  *out = (uint64_t)value;
  return 0;
}

const char* name_utf8(PyObject* name) {
  Py_ssize_t length = 0;
  const char* utf8;
  if (!PyUnicode_Check(name)) {
    PyErr_Format(PyExc_TypeError, "name must be a str, not %.100s", Py_TYPE(name)->tp_name);
    return NULL;
  }
  utf8 = PyUnicode_AsUTF8AndSize(name, &length);
  if (utf8 == NULL) return NULL;
  if ((Py_ssize_t)strlen(utf8) != length) {
    PyErr_SetString(PyExc_ValueError, "embedded null character in name");
    return NULL;
  }
  return utf8;
}

int parse_mode(PyObject* mode, uint32_t* flags) {
  if (mode == NULL) {
    *flags = 0;
    return 0;
  }
  if (!PyUnicode_Check(mode)) {
    PyErr_Format(PyExc_TypeError, "mode must be a str, not %.100s", Py_TYPE(mode)->tp_name);
    return -1;
  }
  if (PyUnicode_CompareWithASCIIString(mode, "open_or_create") == 0) {
    *flags = 0;
  } else if (PyUnicode_CompareWithASCIIString(mode, "create") == 0) {
    *flags = SHAREDMEM_CREATE_ONLY;
  } else if (PyUnicode_CompareWithASCIIString(mode, "open") == 0) {
    *flags = SHAREDMEM_OPEN_ONLY;
  } else {
    PyErr_Format(PyExc_ValueError,
                 "mode must be 'open_or_create', 'create' or 'open', not %R", mode);
    return -1;
  }
  return 0;
}

int parse_timeout(PyObject* timeout, double* ms) {
  double seconds;
  if (timeout == NULL || timeout == Py_None) {
    *ms = -1.0;
    return 0;
  }
  seconds = PyFloat_AsDouble(timeout);
  if (seconds == -1.0 && PyErr_Occurred()) return -1;
  if (!(seconds >= 0.0)) { /* negative or NaN */
    PyErr_SetString(PyExc_ValueError, "timeout must be a non-negative number of seconds or None");
    return -1;
  }
  *ms = seconds * 1000.0;
  return 0;
}

void access_argument_clear(AccessArgument* argument) {
  int i;
  for (i = 0; i < 3; ++i) Py_CLEAR(argument->lists[i]);
  Py_CLEAR(argument->access);
  PyMem_Free(argument->pointers);
  argument->pointers = NULL;
}

int access_argument_fill(AccessArgument* argument, PyObject* given) {
  static const char* const fields[3] = {"read_write", "read_only", "creators"};
  const char** lists[3];
  PyObject* module;
  PyObject* low_integrity;
  Py_ssize_t total = 0;
  Py_ssize_t at = 0;
  int i;
  memset(argument, 0, sizeof *argument);
  module = PyImport_ImportModule("sharedmem._access");
  if (module == NULL) return -1;
  argument->access = PyObject_CallMethod(module, "_as_access", "O", given);
  Py_DECREF(module);
  if (argument->access == NULL) return -1;
  for (i = 0; i < 3; ++i) {
    argument->lists[i] = PyObject_GetAttrString(argument->access, fields[i]);
    if (argument->lists[i] == NULL) goto fail;
    if (!PyTuple_Check(argument->lists[i])) {
      PyErr_Format(PyExc_TypeError, "Access.%s must be a tuple of str", fields[i]);
      goto fail;
    }
    total += PyTuple_GET_SIZE(argument->lists[i]) + 1;
  }
  argument->pointers = PyMem_Calloc((size_t)total, sizeof(const char*));
  if (argument->pointers == NULL) {
    PyErr_NoMemory();
    goto fail;
  }
  for (i = 0; i < 3; ++i) {
    Py_ssize_t j;
    lists[i] = argument->pointers + at;
    for (j = 0; j < PyTuple_GET_SIZE(argument->lists[i]); ++j) {
      PyObject* principal = PyTuple_GET_ITEM(argument->lists[i], j);
      Py_ssize_t length = 0;
      const char* utf8;
      if (!PyUnicode_Check(principal)) {
        PyErr_Format(PyExc_TypeError, "Access.%s: a principal must be a str", fields[i]);
        goto fail;
      }
      utf8 = PyUnicode_AsUTF8AndSize(principal, &length);
      if (utf8 == NULL) goto fail;
      if ((Py_ssize_t)strlen(utf8) != length) {
        PyErr_Format(PyExc_ValueError, "Access.%s: embedded null character in %R", fields[i],
                     principal);
        goto fail;
      }
      argument->pointers[at++] = utf8;
    }
    argument->pointers[at++] = NULL;
  }
  low_integrity = PyObject_GetAttrString(argument->access, "low_integrity");
  if (low_integrity == NULL) goto fail;
  i = PyObject_IsTrue(low_integrity);
  Py_DECREF(low_integrity);
  if (i < 0) goto fail;
  argument->c.struct_size = (uint32_t)sizeof argument->c;
  argument->c.flags = i ? SHAREDMEM_ACCESS_LOW_INTEGRITY : 0u;
  argument->c.read_write = lists[0];
  argument->c.read_only = lists[1];
  argument->c.creators = lists[2];
  return 0;
fail:
  access_argument_clear(argument);
  return -1;
}
