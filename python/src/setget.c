/* SPDX-License-Identifier: MIT */
/*
 * sharedmem._setget: the seed's SetSharedMem/GetSharedMem for Python, linked
 * to libsharedmem_setget.so.1 / sharedmem_setget.dll. Loading that library
 * attaches its default segment, so the package imports this module only on
 * the first call of set_shared_mem or get_shared_mem: a program that never
 * calls them never holds the default segment. Python never unloads an
 * extension module, so once loaded the process holds the default segment
 * until it exits.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "errors.h"
#include "sharedmem/setget.h"

/* Raises the error that kept the default segment from attaching, if any. */
static int check_attached(void) {
  sharedmem_error status = sharedmem_default_status();
  if (status != SHAREDMEM_OK) {
    sharedmem_py_raise(status, NULL);
    return -1;
  }
  return 0;
}

static PyObject* setget_set(PyObject* module, PyObject* text) {
  wchar_t* wide;
  (void)module;
  if (!PyUnicode_Check(text)) {
    PyErr_Format(PyExc_TypeError, "text must be a str, not %.100s", Py_TYPE(text)->tp_name);
    return NULL;
  }
  if (check_attached() < 0) return NULL;
  wide = PyUnicode_AsWideCharString(text, NULL); /* ValueError on an embedded NUL */
  if (wide == NULL) return NULL;
  SetSharedMem(wide);
  PyMem_Free(wide);
  Py_RETURN_NONE;
}

static PyObject* setget_get(PyObject* module, PyObject* unused) {
  wchar_t buffer[SHAREDMEM_DEFAULT_CAPACITY_CHARS + 1];
  (void)module;
  (void)unused;
  if (check_attached() < 0) return NULL;
  GetSharedMem(buffer, (uint32_t)(SHAREDMEM_DEFAULT_CAPACITY_CHARS + 1));
  return PyUnicode_FromWideChar(buffer, -1);
}

static PyMethodDef setget_functions[] = {
    {"set_shared_mem", setget_set, METH_O, NULL},
    {"get_shared_mem", setget_get, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef setget_module = {
    PyModuleDef_HEAD_INIT, "sharedmem._setget",
    "SetSharedMem/GetSharedMem (use sharedmem.set_shared_mem/get_shared_mem).", -1,
    setget_functions, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__setget(void) {
  PyObject* module = PyModule_Create(&setget_module);
  if (module == NULL) return NULL;
  if (PyModule_AddIntConstant(module, "DEFAULT_CAPACITY_CHARS",
                              (long)SHAREDMEM_DEFAULT_CAPACITY_CHARS) < 0 ||
      PyModule_AddStringConstant(module, "DEFAULT_SEGMENT_NAME", SHAREDMEM_DEFAULT_SEGMENT_NAME) < 0) {
    Py_DECREF(module);
    return NULL;
  }
  return module;
}
