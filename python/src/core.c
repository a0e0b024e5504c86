/* SPDX-License-Identifier: MIT */
/*
 * sharedmem._core: the Python types over sharedmem's public C API
 * (sharedmem/sharedmem.h), linked to the shared library libsharedmem.so.1 /
 * sharedmem.dll bundled next to this module. This file is the module: its
 * functions and its initialisation. The rest, one concern a file:
 *
 *   segment.c      sharedmem.Segment, and what RawSegment shares of it
 *   raw_segment.c  sharedmem.RawSegment, RawLock, OwnerDiedWarning
 *   mapping.c      the buffers a RawSegment exports, and their lifetime
 *   without_gil.c  calls that run without the GIL, and close() meanwhile
 *   sliced_wait.c  waits that Ctrl-C and close() interrupt
 *   arguments.c    Python arguments as the C API takes them
 *   errors.c       sharedmem_error as Python exceptions (shared with _setget)
 *
 * Written against the plain CPython C API rather than pybind11 or ctypes:
 * Segment.read() of a 64-byte value takes a few tens of nanoseconds, of which
 * the library's copy is a small part, so the cost of the call itself decides
 * whether it keeps up with bytes(shm.buf[:n]) (see python/README section in
 * README.md and docs/PYTHON-PERFORMANCE.md).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "errors.h"
#include "raw_segment.h"
#include "segment.h"
#include "sharedmem/sharedmem.h"

/* _reopen(cls, name, access=None, read_only=False): how a pickled Segment
 * comes back: opened by name, mode='open', at the segment's own capacity,
 * with the access list and read-only-ness it was opened with. */
static PyObject* core_reopen(PyObject* module, PyObject* args) {
  PyObject* cls;
  PyObject* name;
  PyObject* access = Py_None;
  PyObject* read_only = Py_False;
  PyObject* call_args;
  PyObject* kwargs;
  PyObject* result;
  (void)module;
  if (!PyArg_ParseTuple(args, "OO|OO:_reopen", &cls, &name, &access, &read_only)) return NULL;
  call_args = Py_BuildValue("(Oi)", name, 0);
  kwargs = Py_BuildValue("{sssOsO}", "mode", "open", "access", access, "read_only", read_only);
  if (call_args == NULL || kwargs == NULL) {
    Py_XDECREF(call_args);
    Py_XDECREF(kwargs);
    return NULL;
  }
  result = PyObject_Call(cls, call_args, kwargs);
  Py_DECREF(call_args);
  Py_DECREF(kwargs);
  return result;
}

static PyObject* core_backend(PyObject* module, PyObject* unused) {
  (void)module;
  (void)unused;
  return PyUnicode_FromString(sharedmem_backend());
}

static PyObject* core_library_version(PyObject* module, PyObject* unused) {
  (void)module;
  (void)unused;
  return PyUnicode_FromString(sharedmem_library_version_string());
}

static PyObject* core_prune(PyObject* module, PyObject* args, PyObject* kwargs) {
  static char* keywords[] = {"shared", NULL};
  int shared = 0;
  uint32_t removed = 0;
  sharedmem_error e;
  (void)module;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$p:prune", keywords, &shared)) return NULL;
  Py_BEGIN_ALLOW_THREADS
  e = sharedmem_prune(shared ? SHAREDMEM_SHARED : 0u, &removed);
  Py_END_ALLOW_THREADS
  if (e != SHAREDMEM_OK) return sharedmem_py_raise(e, NULL);
  return PyLong_FromUnsignedLong(removed);
}

static PyObject* core_error_name(PyObject* module, PyObject* code) {
  long value;
  (void)module;
  value = PyLong_AsLong(code);
  if (value == -1 && PyErr_Occurred()) return NULL;
  return PyUnicode_FromString(sharedmem_error_name((sharedmem_error)value));
}

/* The error table the extension was compiled with, ((name, value), ...),
 * OK first: what sharedmem.ErrorCode is checked against. */
static PyObject* core_error_codes(PyObject* module, PyObject* unused) {
#define SHAREDMEM_PY_ROW_(name, value, message) {#name, value},
  static const struct {
    const char* name;
    int value;
  } rows[] = {{"OK", SHAREDMEM_OK}, SHAREDMEM_ERRORS(SHAREDMEM_PY_ROW_)};
#undef SHAREDMEM_PY_ROW_
  const Py_ssize_t count = (Py_ssize_t)(sizeof rows / sizeof rows[0]);
  PyObject* result = PyTuple_New(count);
  Py_ssize_t i;
  (void)module;
  (void)unused;
  if (result == NULL) return NULL;
  for (i = 0; i < count; ++i) {
    PyObject* row = Py_BuildValue("(si)", rows[i].name, rows[i].value);
    if (row == NULL) {
      Py_DECREF(result);
      return NULL;
    }
    PyTuple_SET_ITEM(result, i, row);
  }
  return result;
}

/* The exception the package raises for `code` (not raised: returned), for
 * the tests that walk every code through every binding. */
static PyObject* core_exception_for(PyObject* module, PyObject* code) {
  long value;
  PyObject* type;
  PyObject* exc;
  PyObject* traceback;
  (void)module;
  value = PyLong_AsLong(code);
  if (value == -1 && PyErr_Occurred()) return NULL;
  (void)sharedmem_py_raise((sharedmem_error)value, NULL);
  PyErr_Fetch(&type, &exc, &traceback);
  PyErr_NormalizeException(&type, &exc, &traceback);
  Py_XDECREF(type);
  Py_XDECREF(traceback);
  return exc;
}

static PyObject* core_strerror(PyObject* module, PyObject* code) {
  long value;
  (void)module;
  value = PyLong_AsLong(code);
  if (value == -1 && PyErr_Occurred()) return NULL;
  return PyUnicode_FromString(sharedmem_strerror((sharedmem_error)value));
}

static PyMethodDef core_functions[] = {
    {"_reopen", core_reopen, METH_VARARGS, NULL},
    {"backend", core_backend, METH_NOARGS,
     "backend() -> str\n--\n\nThe library's platform backend: 'posix' or 'windows'."},
    {"library_version", core_library_version, METH_NOARGS,
     "library_version() -> str\n--\n\nThe version of the sharedmem library loaded: "
     "'major.minor.patch'."},
    {"error_name", core_error_name, METH_O,
     "error_name(code) -> str\n--\n\nThe library's name of an error code ('NOT_FOUND'), "
     "'UNKNOWN' for a value it does not know."},
    {"prune", (PyCFunction)(void (*)(void))core_prune, METH_VARARGS | METH_KEYWORDS,
     "prune(*, shared=False) -> int\n--\n\nRemoves, now, every dead object of this user's "
     "segments (what users killed by SIGKILL left, and on Linux what a last user who was "
     "not the owner could not remove) and returns how many it removed; shared=True: of the "
     "shared segments this user owns (opened with access=) instead of the private ones. "
     "Never touches a live segment or a file the library did not make. On Windows there is "
     "never one: 0."},
    {"error_codes", core_error_codes, METH_NOARGS, NULL},
    {"_exception_for", core_exception_for, METH_O, NULL},
    {"strerror", core_strerror, METH_O,
     "strerror(code) -> str\n--\n\nThe library's message for an error code."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "sharedmem._core",
    "sharedmem's C API for Python (use the sharedmem package, not this module).", -1,
    core_functions, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__core(void) {
  PyObject* module = PyModule_Create(&core_module);
  if (module == NULL) return NULL;
  if (segment_add_type(module) < 0 || raw_segment_add_types(module) < 0 ||
      PyModule_AddIntConstant(module, "MAX_NAME_LENGTH", SHAREDMEM_MAX_NAME_LENGTH) < 0) {
    Py_DECREF(module);
    return NULL;
  }
  return module;
}
