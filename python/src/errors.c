/* SPDX-License-Identifier: MIT */
/* The mapping from sharedmem_error to Python exceptions: errors.h says which code
 * raises what. */
#include "errors.h"

#include <errno.h>

#ifndef ETIMEDOUT
#define ETIMEDOUT 138 /* Windows' CRT value, for the few CRTs without it */
#endif

PyObject* sharedmem_py_raise_built(PyObject* type, PyObject* args, sharedmem_error code) {
  PyObject* exc;
  PyObject* code_obj;
  if (args == NULL) return NULL;
  exc = PyObject_Call(type, args, NULL);
  Py_DECREF(args);
  if (exc == NULL) return NULL;
  code_obj = PyLong_FromLong((long)code);
  if (code_obj == NULL || PyObject_SetAttrString(exc, "sharedmem_error", code_obj) < 0) {
    Py_XDECREF(code_obj);
    Py_DECREF(exc);
    return NULL;
  }
  Py_DECREF(code_obj);
  PyErr_SetObject((PyObject*)Py_TYPE(exc), exc);
  Py_DECREF(exc);
  return NULL;
}

/* io.UnsupportedOperation (a new reference), or NULL with an exception set. */
static PyObject* unsupported_operation(void) {
  PyObject* io = PyImport_ImportModule("io");
  PyObject* type;
  if (io == NULL) return NULL;
  type = PyObject_GetAttrString(io, "UnsupportedOperation");
  Py_DECREF(io);
  return type;
}

PyObject* sharedmem_py_raise_detailed(sharedmem_error code, PyObject* name, const char* detail) {
  const char* message = sharedmem_strerror(code);
  int system_error = sharedmem_last_system_error();
  PyObject* type = PyExc_OSError;
  PyObject* text;
  PyObject* result;
  int errno_value = 0;
  text = detail != NULL && detail[0] != '\0' ? PyUnicode_FromFormat("%s (%s)", message, detail)
                                             : PyUnicode_FromString(message);
  if (text == NULL) return NULL;
  switch (code) {
    case SHAREDMEM_E_EXISTS:
      type = PyExc_FileExistsError;
      errno_value = EEXIST;
      break;
    case SHAREDMEM_E_NOT_FOUND:
      type = PyExc_FileNotFoundError;
      errno_value = ENOENT;
      break;
    case SHAREDMEM_E_NOT_OWNER:
      type = PyExc_PermissionError;
      errno_value = EACCES;
      break;
    case SHAREDMEM_E_ACCESS_DENIED:
      type = PyExc_PermissionError;
      errno_value = EACCES;
      break;
    case SHAREDMEM_E_TIMEOUT:
      type = PyExc_TimeoutError;
      errno_value = ETIMEDOUT;
      break;
    case SHAREDMEM_E_INVALID_ARGUMENT:
    case SHAREDMEM_E_INVALID_NAME:
    case SHAREDMEM_E_INVALID_SIZE:
    case SHAREDMEM_E_VALUE_TOO_LARGE:
    case SHAREDMEM_E_SIZE_MISMATCH:
    case SHAREDMEM_E_CONFLICT:
    case SHAREDMEM_E_UNKNOWN_PRINCIPAL:
      type = PyExc_ValueError;
      break;
    case SHAREDMEM_E_WOULD_DEADLOCK:
    case SHAREDMEM_E_NOT_HELD:
      type = PyExc_RuntimeError;
      break;
    case SHAREDMEM_E_READ_ONLY:
      type = unsupported_operation();
      if (type == NULL) {
        Py_DECREF(text);
        return NULL;
      }
      result = name != NULL ? sharedmem_py_raise_built(
                                  type, Py_BuildValue("(N)", PyUnicode_FromFormat("%U: %R", text, name)),
                                  code)
                            : sharedmem_py_raise_built(type, Py_BuildValue("(O)", text), code);
      Py_DECREF(type);
      Py_DECREF(text);
      return result;
    default:
      break;
  }
  if (type == PyExc_ValueError || type == PyExc_RuntimeError) {
    result = name != NULL && type == PyExc_ValueError
                 ? sharedmem_py_raise_built(
                       type, Py_BuildValue("(N)", PyUnicode_FromFormat("%U: %R", text, name)), code)
                 : sharedmem_py_raise_built(type, Py_BuildValue("(O)", text), code);
    Py_DECREF(text);
    return result;
  }
  if (code == SHAREDMEM_E_NO_MEMORY) errno_value = ENOMEM;
  /* The OS's own code, where the OS caused the failure; EXISTS, NOT_FOUND,
   * NOT_OWNER and TIMEOUT keep the class that says what the library found. */
  if (system_error != 0 && (type == PyExc_OSError || code == SHAREDMEM_E_ACCESS_DENIED)) {
#ifdef _WIN32
    /* OSError(errno, strerror, filename, winerror): Python derives errno,
     * and so the subclass, from the Windows error code. */
    result = sharedmem_py_raise_built(
        PyExc_OSError, Py_BuildValue("(iOOi)", 0, text, name ? name : Py_None, system_error),
        code);
    Py_DECREF(text);
    return result;
#else
    errno_value = system_error;
    type = PyExc_OSError;
#endif
  }
  if (errno_value != 0) {
    /* OSError(errno, ...) picks the subclass for the errno (EACCES:
     * PermissionError, ENOENT: FileNotFoundError, ...). */
    result = sharedmem_py_raise_built(
        type, Py_BuildValue("(iOO)", errno_value, text, name ? name : Py_None), code);
  } else if (name != NULL) {
    result = sharedmem_py_raise_built(
        type, Py_BuildValue("(N)", PyUnicode_FromFormat("%U: %R", text, name)), code);
  } else {
    result = sharedmem_py_raise_built(type, Py_BuildValue("(O)", text), code);
  }
  Py_DECREF(text);
  return result;
}

PyObject* sharedmem_py_raise(sharedmem_error code, PyObject* name) {
  return sharedmem_py_raise_detailed(code, name, NULL);
}
