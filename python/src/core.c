/* SPDX-License-Identifier: MIT */
/*
 * sharedmem._core: the Python types over sharedmem's public C API
 * (sharedmem/sharedmem.h), linked to the shared library libsharedmem.so.1 /
 * sharedmem.dll bundled next to this module.
 *
 * Written against the plain CPython C API rather than pybind11 or ctypes:
 * Segment.read() of a 64-byte value is a few hundred nanoseconds of which the
 * library's copy is a small part, so the cost of the call itself decides
 * whether it keeps up with bytes(shm.buf[:n]) (see python/README section in
 * README.md and docs/PYTHON-PERFORMANCE.md).
 *
 * Threads: calls that may take long (wait, copies of BIG_COPY bytes or more,
 * open, close) run without the GIL. Such a call marks its object busy, so that
 * close() from another thread never frees the handle under it: close() then
 * only marks the object closed, and the last busy call to finish closes the
 * handle.
 *
 * Views: a RawSegment's memory is mapped by the library handle, which a
 * separate object, the mapping (RawMappingObject), owns. Every buffer over
 * the memory refers to the mapping: `buf` is a memoryview of it, and the
 * buffers the segment itself exports name it as their owner. So whatever
 * can still reach the memory (a numpy array made with buffer=seg.buf, which
 * keeps a reference to the mapping but no buffer export, as much as
 * np.frombuffer or ctypes' from_buffer) keeps it mapped, and close() never
 * unmaps under a live view: it ends the segment object's use at once and
 * leaves closing the handle to the mapping's last reference.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

#include "errors.h"
#include "sharedmem/sharedmem.h"

/* Copies from this size on run without the GIL: below it, releasing and
 * taking the GIL back costs more than the copy. */
#define BIG_COPY ((Py_ssize_t)65536)

/* wait() sleeps in slices of at most this many milliseconds, between which it
 * takes the GIL to run signal handlers (Ctrl-C) and to see close(). A write
 * wakes it at once whatever the slice. */
#define WAIT_SLICE_MS 50u

/* ---------------------------------------------------------------- helpers */

static PyObject* zero; /* the int 0, for sign tests */

/* Reads a non-negative integer below 2**64 into *out. Negative or too large:
 * ValueError carrying `code` as its sharedmem_error, as the library's own
 * refusals of bad sizes and arguments do; not an int: TypeError. */
static int parse_u64(PyObject* obj, const char* what, sharedmem_error code, uint64_t* out) {
  PyObject* index;
  int negative;
  unsigned long long value;
  if (!PyIndex_Check(obj)) {
    PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what, Py_TYPE(obj)->tp_name);
    return -1;
  }
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

/* The segment name as UTF-8 for the C API; refuses non-str and embedded NUL. */
static const char* name_utf8(PyObject* name) {
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

/* mode= as open flags: "open_or_create" (0), "create", "open". */
static int parse_mode(PyObject* mode, uint32_t* flags) {
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

/* timeout= in seconds (None: forever) as milliseconds, in a double so that
 * any float fits; -1 stands for forever. */
static int parse_timeout(PyObject* timeout, double* ms) {
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

/* ---------------------------------------------------------------- Segment */

typedef struct {
  PyObject_HEAD
  sharedmem_segment* handle; /* NULL before __init__ and once closed */
  PyObject* name;            /* str; NULL before __init__ */
  uint64_t capacity;
  uint64_t seen;        /* the version of the last value read, write_if'd or waited for */
  Py_ssize_t read_hint; /* the size of the last value read: read() allocates that much */
  int created;
  int read_only; /* opened with SHAREDMEM_READ_ONLY */
  PyObject* access; /* the sharedmem.Access of a shared segment; NULL for a private one */
  int busy;    /* calls running without the GIL */
  int closing; /* close() came while busy: the last busy call closes */
  PyObject* weakrefs;
  /* RawSegment only: */
  uint32_t open_flags; /* SHAREDMEM_RAW for a RawSegment, 0 for a Segment */
  PyObject* mapping;   /* the RawMappingObject that owns `handle`; NULL for a Segment */
  PyObject* view;      /* the memoryview of the mapping that `buf` returns, made once */
  /* The segment itself exported a buffer (np.ndarray(buffer=seg),
   * memoryview(seg)): numpy then keeps a reference to the segment, not to
   * the mapping, so the segment keeps the mapping until it is itself gone. */
  int exported_itself;
} SegmentObject;

static PyTypeObject SegmentType;

static void raw_segment_let_go(SegmentObject* self, sharedmem_segment* handle);

/* Closes the handle now; the caller holds the GIL and nothing is busy. The
 * close itself runs without the GIL (it may wait for another process's
 * attach or detach). A RawSegment lets go of its mapping instead, which
 * closes the handle once no view can reach the memory. */
static void segment_close_now(SegmentObject* self) {
  sharedmem_segment* handle = self->handle;
  self->handle = NULL;
  self->closing = 0;
  if (self->mapping != NULL) {
    raw_segment_let_go(self, handle);
    return;
  }
  if (handle != NULL) {
    Py_BEGIN_ALLOW_THREADS
    sharedmem_close(handle);
    Py_END_ALLOW_THREADS
  }
}

static int segment_check_open(SegmentObject* self) {
  if (self->handle == NULL || self->closing) {
    PyErr_SetString(PyExc_ValueError,
                    self->name == NULL ? "Segment.__init__ was not called"
                                       : "operation on a closed segment");
    return -1;
  }
  return 0;
}

/* Brackets a call that runs without the GIL. */
static void segment_enter(SegmentObject* self) { self->busy += 1; }
static void segment_leave(SegmentObject* self) {
  self->busy -= 1;
  if (self->busy == 0 && self->closing) segment_close_now(self);
}

/* An access list as the C API takes it, over the tuples of str of a
 * sharedmem.Access (which it holds while the open runs). */
typedef struct {
  PyObject* access; /* the sharedmem.Access */
  PyObject* lists[3];
  const char** pointers; /* the three NULL-terminated lists, one block */
  sharedmem_access c;
} AccessArgument;

static void access_argument_clear(AccessArgument* argument) {
  int i;
  for (i = 0; i < 3; ++i) Py_CLEAR(argument->lists[i]);
  Py_CLEAR(argument->access);
  PyMem_Free(argument->pointers);
  argument->pointers = NULL;
}

/* `given` (not None): a sharedmem.Access, or a mapping of its fields, as
 * sharedmem._access._as_access checks and converts it. */
static int access_argument_fill(AccessArgument* argument, PyObject* given) {
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

static int segment_open(SegmentObject* self, PyObject* args, PyObject* kwargs,
                        char** keywords, const char* format) {
  PyObject* name = NULL;
  PyObject* capacity_obj = NULL;
  PyObject* mode = NULL;
  PyObject* access_obj = Py_None;
  int read_only = 0;
  uint64_t capacity = 0;
  uint32_t flags = 0;
  const char* utf8;
  sharedmem_segment* handle = NULL;
  sharedmem_error error;
  AccessArgument access;

  if (self->name != NULL) {
    PyErr_SetString(PyExc_RuntimeError, "Segment.__init__ called twice");
    return -1;
  }
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, format, keywords, &name, &capacity_obj, &mode,
                                   &access_obj, &read_only)) {
    return -1;
  }
  utf8 = name_utf8(name);
  if (utf8 == NULL) return -1;
  if (capacity_obj != NULL && parse_u64(capacity_obj, keywords[1], SHAREDMEM_E_INVALID_SIZE, &capacity) < 0) return -1;
  if (parse_mode(mode, &flags) < 0) return -1;
  if (read_only) {
    /* Said here in Python's terms; the library would answer
     * INVALID_ARGUMENT, which says less. */
    if (flags & SHAREDMEM_CREATE_ONLY) {
      sharedmem_py_raise_built(
          PyExc_ValueError,
          Py_BuildValue("(s)", "read_only=True cannot create a segment: it opens one that live "
                               "processes hold (mode='open' or 'open_or_create')"),
          SHAREDMEM_E_INVALID_ARGUMENT);
      return -1;
    }
    flags |= SHAREDMEM_READ_ONLY;
  }
  if (access_obj != Py_None && access_argument_fill(&access, access_obj) < 0) return -1;

  Py_BEGIN_ALLOW_THREADS
  if (access_obj != Py_None) {
    error = sharedmem_open_shared(utf8, capacity, flags | self->open_flags, &access.c, &handle);
  } else {
    error = sharedmem_open(utf8, capacity, flags | self->open_flags, &handle);
  }
  Py_END_ALLOW_THREADS
  if (error != SHAREDMEM_OK) {
    sharedmem_py_raise_detailed(error, name, sharedmem_last_error_detail());
    if (access_obj != Py_None) access_argument_clear(&access);
    return -1;
  }
  if (access_obj != Py_None) {
    self->access = access.access;
    access.access = NULL;
    access_argument_clear(&access);
  }
  self->read_only = read_only;
  Py_INCREF(name);
  self->name = name;
  self->handle = handle;
  self->capacity = sharedmem_capacity(handle);
  self->created = sharedmem_created(handle);
  self->seen = sharedmem_version(handle);
  self->read_hint = 0;
  return 0;
}

static int Segment_init(SegmentObject* self, PyObject* args, PyObject* kwargs) {
  static char* keywords[] = {"name", "capacity", "mode", "access", "read_only", NULL};
  self->open_flags = 0;
  return segment_open(self, args, kwargs, keywords, "O|O$OOp:Segment");
}

static void Segment_dealloc(SegmentObject* self) {
  /* Every call holds a reference: nothing is busy here. */
  if (self->weakrefs != NULL) PyObject_ClearWeakRefs((PyObject*)self);
  segment_close_now(self);
  Py_CLEAR(self->view);
  Py_CLEAR(self->mapping);
  Py_CLEAR(self->access);
  Py_CLEAR(self->name);
  Py_TYPE(self)->tp_free((PyObject*)self);
}

static PyObject* Segment_close(SegmentObject* self, PyObject* unused) {
  (void)unused;
  /* A RawSegment's `buf` is released as the standard SharedMemory.close()
   * releases its own, so that a kept reference to it cannot hold the
   * segment; unless something holds a buffer exported from that very
   * memoryview, which then keeps it (and the mapping) alive: close() never
   * fails for views, and never unmaps under them (see the top of the file). */
  if (self->view != NULL) {
    PyObject* released = PyObject_CallMethod(self->view, "release", NULL);
    if (released == NULL) {
      if (!PyErr_ExceptionMatches(PyExc_BufferError)) return NULL;
      PyErr_Clear();
    }
    Py_XDECREF(released);
    Py_CLEAR(self->view);
  }
  if (self->handle != NULL && !self->closing) {
    if (self->busy > 0) {
      self->closing = 1;
    } else {
      segment_close_now(self);
    }
  }
  Py_RETURN_NONE;
}

static PyObject* Segment_enter(SegmentObject* self, PyObject* unused) {
  (void)unused;
  if (segment_check_open(self) < 0) return NULL;
  Py_INCREF(self);
  return (PyObject*)self;
}

static PyObject* Segment_exit(SegmentObject* self, PyObject* args) {
  (void)args;
  return Segment_close(self, NULL);
}

static PyObject* Segment_read(SegmentObject* self, PyObject* unused) {
  Py_ssize_t want;
  (void)unused;
  if (segment_check_open(self) < 0) return NULL;
  want = self->read_hint;
  for (;;) {
    uint64_t size = 0;
    uint64_t version = 0;
    sharedmem_error error;
    PyObject* bytes = PyBytes_FromStringAndSize(NULL, want);
    if (bytes == NULL) return NULL;
    if (want >= BIG_COPY) {
      segment_enter(self);
      Py_BEGIN_ALLOW_THREADS
      error = sharedmem_read_versioned(self->handle, PyBytes_AS_STRING(bytes), (uint64_t)want,
                                       &size, &version);
      Py_END_ALLOW_THREADS
      if (error != SHAREDMEM_OK) {
        sharedmem_py_raise(error, self->name);
        segment_leave(self);
        Py_DECREF(bytes);
        return NULL;
      }
      segment_leave(self);
    } else {
      error = sharedmem_read_versioned(self->handle, PyBytes_AS_STRING(bytes), (uint64_t)want,
                                       &size, &version);
      if (error != SHAREDMEM_OK) {
        Py_DECREF(bytes);
        return sharedmem_py_raise(error, self->name);
      }
    }
    if (size <= (uint64_t)want) {
      self->seen = version;
      self->read_hint = (Py_ssize_t)size;
      if (size < (uint64_t)want && _PyBytes_Resize(&bytes, (Py_ssize_t)size) < 0) return NULL;
      return bytes;
    }
    /* The value is longer than the guess: read again at its size. */
    Py_DECREF(bytes);
    if (size > (uint64_t)PY_SSIZE_T_MAX) return PyErr_NoMemory();
    want = (Py_ssize_t)size;
  }
}

static PyObject* Segment_read_into(SegmentObject* self, PyObject* target) {
  Py_buffer view;
  uint64_t size = 0;
  uint64_t version = 0;
  sharedmem_error error;
  if (segment_check_open(self) < 0) return NULL;
  if (PyObject_GetBuffer(target, &view, PyBUF_WRITABLE) < 0) {
    if (PyErr_ExceptionMatches(PyExc_BufferError)) { /* as io's readinto() says it */
      PyErr_Format(PyExc_TypeError,
                   "read_into() argument must be a writable bytes-like object, not %.100s",
                   Py_TYPE(target)->tp_name);
    }
    return NULL;
  }
  if (view.len >= BIG_COPY) {
    segment_enter(self);
    Py_BEGIN_ALLOW_THREADS
    error = sharedmem_read_versioned(self->handle, view.buf, (uint64_t)view.len, &size, &version);
    Py_END_ALLOW_THREADS
    if (error != SHAREDMEM_OK) sharedmem_py_raise(error, self->name);
    segment_leave(self);
  } else {
    error = sharedmem_read_versioned(self->handle, view.buf, (uint64_t)view.len, &size, &version);
    if (error != SHAREDMEM_OK) sharedmem_py_raise(error, self->name);
  }
  PyBuffer_Release(&view);
  if (error != SHAREDMEM_OK) return NULL;
  self->seen = version;
  return Py_BuildValue("(KK)", (unsigned long long)size, (unsigned long long)version);
}

/* sharedmem_write or sharedmem_write_if (when expected != NULL) of the
 * bytes-like `data`. Returns the error; raises for everything but CONFLICT. */
static int segment_write(SegmentObject* self, PyObject* data, const uint64_t* expected,
                         uint64_t* new_version, sharedmem_error* out_error) {
  Py_buffer view;
  sharedmem_error error;
  const void* bytes;
  Py_ssize_t length;
  int have_view = 0;
  if (segment_check_open(self) < 0) return -1;
  if (PyBytes_CheckExact(data)) {
    bytes = PyBytes_AS_STRING(data);
    length = PyBytes_GET_SIZE(data);
  } else {
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) return -1;
    have_view = 1;
    bytes = view.buf;
    length = view.len;
  }
  if (length >= BIG_COPY) {
    segment_enter(self);
    Py_BEGIN_ALLOW_THREADS
    error = expected ? sharedmem_write_if(self->handle, bytes, (uint64_t)length, *expected,
                                          new_version)
                     : sharedmem_write(self->handle, bytes, (uint64_t)length);
    Py_END_ALLOW_THREADS
    if (error != SHAREDMEM_OK && error != SHAREDMEM_E_CONFLICT) {
      sharedmem_py_raise(error, self->name);
    }
    segment_leave(self);
  } else {
    error = expected ? sharedmem_write_if(self->handle, bytes, (uint64_t)length, *expected,
                                          new_version)
                     : sharedmem_write(self->handle, bytes, (uint64_t)length);
    if (error != SHAREDMEM_OK && error != SHAREDMEM_E_CONFLICT) {
      sharedmem_py_raise(error, self->name);
    }
  }
  if (have_view) PyBuffer_Release(&view);
  *out_error = error;
  return (error == SHAREDMEM_OK || error == SHAREDMEM_E_CONFLICT) ? 0 : -1;
}

static PyObject* Segment_write(SegmentObject* self, PyObject* data) {
  sharedmem_error error;
  if (segment_write(self, data, NULL, NULL, &error) < 0) return NULL;
  Py_RETURN_NONE;
}

static PyObject* Segment_write_if(SegmentObject* self, PyObject* args, PyObject* kwargs) {
  static char* keywords[] = {"data", "expected_version", NULL};
  PyObject* data;
  PyObject* expected_obj;
  uint64_t expected = 0;
  uint64_t new_version = 0;
  sharedmem_error error;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:write_if", keywords, &data, &expected_obj)) {
    return NULL;
  }
  if (parse_u64(expected_obj, "expected_version", SHAREDMEM_E_INVALID_ARGUMENT, &expected) < 0) return NULL;
  if (segment_write(self, data, &expected, &new_version, &error) < 0) return NULL;
  if (error == SHAREDMEM_E_CONFLICT) Py_RETURN_FALSE;
  self->seen = new_version;
  Py_RETURN_TRUE;
}

static PyObject* Segment_wait(SegmentObject* self, PyObject* args, PyObject* kwargs) {
  static char* keywords[] = {"seen", "timeout", NULL};
  PyObject* seen_obj = Py_None;
  PyObject* timeout_obj = Py_None;
  uint64_t seen;
  uint64_t version = 0;
  double remaining_ms;
  sharedmem_error error;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OO:wait", keywords, &seen_obj, &timeout_obj)) {
    return NULL;
  }
  if (segment_check_open(self) < 0) return NULL;
  seen = self->seen;
  if (seen_obj != Py_None && parse_u64(seen_obj, "seen", SHAREDMEM_E_INVALID_ARGUMENT, &seen) < 0) return NULL;
  if (parse_timeout(timeout_obj, &remaining_ms) < 0) return NULL;

  /* Slices: a write wakes the waiter at once; between slices, signals (a
   * KeyboardInterrupt) and close() are seen within WAIT_SLICE_MS. A slice
   * that times out has waited its full length, so the remaining time is
   * counted down by slices. */
  segment_enter(self);
  for (;;) {
    uint32_t slice = WAIT_SLICE_MS;
    if (remaining_ms >= 0.0 && remaining_ms < (double)WAIT_SLICE_MS) {
      slice = (uint32_t)remaining_ms;
      if ((double)slice < remaining_ms) slice += 1; /* round up: never return early */
    }
    Py_BEGIN_ALLOW_THREADS
    error = sharedmem_wait(self->handle, seen, slice, &version);
    Py_END_ALLOW_THREADS
    if (error == SHAREDMEM_OK) break;
    if (error != SHAREDMEM_E_TIMEOUT) {
      sharedmem_py_raise(error, self->name);
      segment_leave(self);
      return NULL;
    }
    if (remaining_ms >= 0.0) {
      remaining_ms -= (double)slice;
      if (remaining_ms <= 0.0) {
        segment_leave(self);
        return sharedmem_py_raise_built(
            PyExc_TimeoutError,
            Py_BuildValue("(N)", PyUnicode_FromFormat(
                                     "no write to segment %R within the timeout (version still %llu)",
                                     self->name, (unsigned long long)version)),
            SHAREDMEM_E_TIMEOUT);
      }
    }
    if (PyErr_CheckSignals() < 0) {
      segment_leave(self);
      return NULL;
    }
    if (self->closing) {
      segment_leave(self);
      PyErr_SetString(PyExc_ValueError, "the segment was closed while waiting");
      return NULL;
    }
  }
  segment_leave(self);
  self->seen = version;
  return PyLong_FromUnsignedLongLong((unsigned long long)version);
}

static PyObject* Segment_reduce(SegmentObject* self, PyObject* unused) {
  PyObject* module;
  PyObject* reopen;
  PyObject* result;
  (void)unused;
  if (segment_check_open(self) < 0) return NULL;
  module = PyImport_ImportModule("sharedmem._core");
  if (module == NULL) return NULL;
  reopen = PyObject_GetAttrString(module, "_reopen");
  Py_DECREF(module);
  if (reopen == NULL) return NULL;
  result = Py_BuildValue("(N(OOOO))", reopen, (PyObject*)Py_TYPE(self), self->name,
                         self->access != NULL ? self->access : Py_None,
                         self->read_only ? Py_True : Py_False);
  return result;
}

/* ", access=Access(...)" and ", read_only=True" where they apply, for the
 * repr; a new reference. */
static PyObject* segment_repr_options(SegmentObject* self) {
  PyObject* access = self->access != NULL ? PyUnicode_FromFormat(", access=%R", self->access)
                                          : PyUnicode_FromString("");
  PyObject* result;
  if (access == NULL || !self->read_only) return access;
  result = PyUnicode_FromFormat("%U, read_only=True", access);
  Py_DECREF(access);
  return result;
}

static PyObject* Segment_repr(SegmentObject* self) {
  PyObject* options;
  PyObject* result;
  if (self->name == NULL) return PyUnicode_FromFormat("<%s (not initialised)>", Py_TYPE(self)->tp_name);
  if (self->handle == NULL || self->closing) {
    return PyUnicode_FromFormat("<%s %R (closed)>", Py_TYPE(self)->tp_name, self->name);
  }
  options = segment_repr_options(self);
  if (options == NULL) return NULL;
  result = PyUnicode_FromFormat("%s(%R, capacity=%llu%U)", Py_TYPE(self)->tp_name, self->name,
                                (unsigned long long)self->capacity, options);
  Py_DECREF(options);
  return result;
}

static PyObject* Segment_get_version(SegmentObject* self, void* closure) {
  (void)closure;
  if (segment_check_open(self) < 0) return NULL;
  return PyLong_FromUnsignedLongLong((unsigned long long)sharedmem_version(self->handle));
}

static PyObject* Segment_get_capacity(SegmentObject* self, void* closure) {
  (void)closure;
  if (segment_check_open(self) < 0) return NULL;
  return PyLong_FromUnsignedLongLong((unsigned long long)self->capacity);
}

static PyObject* Segment_get_created(SegmentObject* self, void* closure) {
  (void)closure;
  if (segment_check_open(self) < 0) return NULL;
  return PyBool_FromLong(self->created);
}

static PyObject* Segment_get_closed(SegmentObject* self, void* closure) {
  (void)closure;
  return PyBool_FromLong(self->handle == NULL || self->closing);
}

static PyObject* Segment_get_read_only(SegmentObject* self, void* closure) {
  (void)closure;
  return PyBool_FromLong(self->read_only);
}

static PyObject* Segment_get_access(SegmentObject* self, void* closure) {
  (void)closure;
  if (self->access == NULL) Py_RETURN_NONE;
  Py_INCREF(self->access);
  return self->access;
}

static PyObject* Segment_get_name(SegmentObject* self, void* closure) {
  (void)closure;
  if (self->name == NULL) Py_RETURN_NONE;
  Py_INCREF(self->name);
  return self->name;
}

static PyMethodDef Segment_methods[] = {
    {"read", (PyCFunction)Segment_read, METH_NOARGS,
     "read() -> bytes\n--\n\nA consistent snapshot of the value: exactly what one write left, "
     "never a mix of two. Takes no lock and never waits for a writer."},
    {"read_into", (PyCFunction)Segment_read_into, METH_O,
     "read_into(buffer) -> (size, version)\n--\n\nCopies the value into the writable buffer "
     "(a prefix of it if the buffer is shorter) and returns the value's full size and the "
     "version of the snapshot copied."},
    {"write", (PyCFunction)Segment_write, METH_O,
     "write(data) -> None\n--\n\nReplaces the value with the bytes-like `data`, atomically for "
     "readers. ValueError if it is longer than the capacity (the value is then unchanged)."},
    {"write_if", (PyCFunction)(void (*)(void))Segment_write_if, METH_VARARGS | METH_KEYWORDS,
     "write_if(data, expected_version) -> bool\n--\n\nWrites `data` only if the version is "
     "still `expected_version`: True if it wrote, False if another write came first (nothing "
     "written)."},
    {"wait", (PyCFunction)(void (*)(void))Segment_wait, METH_VARARGS | METH_KEYWORDS,
     "wait(seen=None, timeout=None) -> int\n--\n\nWaits until the version differs from `seen` "
     "(None: the version of the last value this handle read, wrote with write_if or waited "
     "for; at first the version at open) and returns the version found. Returns at once if "
     "it differs already. `timeout` in seconds (None: no limit); TimeoutError when it "
     "passes. Releases the GIL; Ctrl-C interrupts it within 100 ms."},
    {"close", (PyCFunction)Segment_close, METH_NOARGS,
     "close() -> None\n--\n\nCloses this handle; the last close anywhere frees the segment. "
     "Closing twice does nothing."},
    {"__enter__", (PyCFunction)Segment_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Segment_exit, METH_VARARGS, NULL},
    {"__reduce__", (PyCFunction)Segment_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Segment_getset[] = {
    {"version", (getter)Segment_get_version, NULL,
     "The current version: 0 at creation, one more per completed write.", NULL},
    {"capacity", (getter)Segment_get_capacity, NULL, "The capacity in bytes.", NULL},
    {"created", (getter)Segment_get_created, NULL,
     "True if this open created the segment (it started empty, at version 0).", NULL},
    {"closed", (getter)Segment_get_closed, NULL, "True once close() was called.", NULL},
    {"name", (getter)Segment_get_name, NULL, "The segment's name.", NULL},
    {"read_only", (getter)Segment_get_read_only, NULL,
     "True if opened with read_only=True: the calls that write raise "
     "io.UnsupportedOperation.", NULL},
    {"access", (getter)Segment_get_access, NULL,
     "The sharedmem.Access a shared segment was opened with; None for a private one.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject SegmentType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sharedmem.Segment",
    .tp_basicsize = sizeof(SegmentObject),
    .tp_dealloc = (destructor)Segment_dealloc,
    .tp_repr = (reprfunc)Segment_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Segment(name, capacity=0, *, mode='open_or_create', access=None, "
              "read_only=False)\n--\n\n"
              "A named shared-memory segment holding one value: a byte string of 0 to "
              "`capacity` bytes that writes replace atomically.\n\n"
              "mode='open_or_create' opens the segment, creating it with `capacity` bytes if no "
              "process holds it; 'create' fails with FileExistsError if a live process holds "
              "it; 'open' fails with FileNotFoundError if none does, and capacity 0 then takes "
              "the segment's own. The segment lives while any process holds it open, and is "
              "gone once every holder has closed it or died.\n\n"
              "access=sharedmem.Access(...) (or a mapping of its fields) opens a shared "
              "segment, which the listed users and groups may open too, in a namespace apart "
              "from the private segments (see sharedmem.Access). read_only=True opens a "
              "segment that live processes hold, without write access: reads and waits work, "
              "write() and write_if() raise io.UnsupportedOperation; never creates (with "
              "mode='create': ValueError).",
    .tp_weaklistoffset = offsetof(SegmentObject, weakrefs),
    .tp_methods = Segment_methods,
    .tp_getset = Segment_getset,
    .tp_init = (initproc)Segment_init,
    .tp_new = PyType_GenericNew,
};


#ifdef SHAREDMEM_RAW
/* ------------------------------------------------------------- RawSegment
 * Only when the library's header has raw segments (SHAREDMEM_RAW, issue 11).
 * A RawSegment is a SegmentObject opened with SHAREDMEM_RAW that exports its
 * mapping through the buffer protocol. */

static PyObject* OwnerDiedWarning;

/* The memory of a raw segment and the handle that maps it. The handle is
 * closed, and the memory unmapped, when the last reference goes: the
 * segment's own (until close()), `buf`'s, and those of every buffer and
 * array made from either. */
typedef struct {
  PyObject_HEAD
  sharedmem_segment* handle;
  void* data;
  Py_ssize_t size;
  int read_only; /* a read-only mapping: its buffers are read-only */
} RawMappingObject;

static PyTypeObject RawMappingType;

static void RawMapping_dealloc(RawMappingObject* self) {
  sharedmem_segment* handle = self->handle;
  self->handle = NULL;
  if (handle != NULL) {
    Py_BEGIN_ALLOW_THREADS
    sharedmem_close(handle);
    Py_END_ALLOW_THREADS
  }
  PyObject_Free(self);
}

static int RawMapping_getbuffer(RawMappingObject* self, Py_buffer* view, int flags) {
  return PyBuffer_FillInfo(view, (PyObject*)self, self->data, self->size, self->read_only, flags);
}

static PyBufferProcs RawMapping_as_buffer = {(getbufferproc)RawMapping_getbuffer, NULL};

static PyTypeObject RawMappingType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sharedmem.RawMapping",
    .tp_basicsize = sizeof(RawMappingObject),
    .tp_dealloc = (destructor)RawMapping_dealloc,
    .tp_as_buffer = &RawMapping_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The memory of a RawSegment, as the base of arrays and views made from it: it "
              "stays mapped, and the segment held by this process, while any of them lives.",
};

/* segment_close_now's part for a RawSegment: lets go of the mapping, which
 * closes the handle now if nothing else refers to it, else when the last
 * view goes. The library's close would release the segment's lock if held:
 * when that close is put off, the lock is released here instead (if this
 * thread holds it; an unlock by another thread is refused and changes
 * nothing). */
static void raw_segment_let_go(SegmentObject* self, sharedmem_segment* handle) {
  Py_CLEAR(self->view);
  if (handle != NULL && (self->exported_itself || Py_REFCNT(self->mapping) > 1)) {
    (void)sharedmem_unlock(handle);
  }
  if (!self->exported_itself) Py_CLEAR(self->mapping);
}

static int RawSegment_init(SegmentObject* self, PyObject* args, PyObject* kwargs) {
  static char* keywords[] = {"name", "size", "mode", "access", "read_only", NULL};
  RawMappingObject* mapping;
  void* data;
  self->open_flags = SHAREDMEM_RAW;
  if (segment_open(self, args, kwargs, keywords, "O|O$OOp:RawSegment") < 0) return -1;
  data = sharedmem_data(self->handle);
  mapping = data == NULL ? NULL : PyObject_New(RawMappingObject, &RawMappingType);
  if (mapping == NULL) {
    segment_close_now(self);
    if (data == NULL) PyErr_SetString(PyExc_OSError, "the library gave a raw segment no data");
    return -1;
  }
  mapping->handle = self->handle;
  mapping->data = data;
  mapping->size = (Py_ssize_t)self->capacity;
  mapping->read_only = self->read_only;
  self->mapping = (PyObject*)mapping;
  return 0;
}

/* The segment's own buffers belong to the mapping (view->obj), so they keep
 * it alive whatever happens to the segment. */
static int RawSegment_getbuffer(SegmentObject* self, Py_buffer* view, int flags) {
  if (self->handle == NULL || self->closing) {
    view->obj = NULL;
    PyErr_SetString(PyExc_BufferError, "operation on a closed segment");
    return -1;
  }
  if (RawMapping_getbuffer((RawMappingObject*)self->mapping, view, flags) < 0) return -1;
  self->exported_itself = 1;
  return 0;
}

static PyBufferProcs RawSegment_as_buffer = {(getbufferproc)RawSegment_getbuffer, NULL};

static PyObject* RawSegment_get_buf(SegmentObject* self, void* closure) {
  (void)closure;
  if (segment_check_open(self) < 0) return NULL;
  if (self->view == NULL) {
    self->view = PyMemoryView_FromObject(self->mapping);
    if (self->view == NULL) return NULL;
  }
  Py_INCREF(self->view);
  return self->view;
}

static PyObject* RawSegment_notify(SegmentObject* self, PyObject* unused) {
  uint64_t version = 0;
  sharedmem_error error;
  (void)unused;
  if (segment_check_open(self) < 0) return NULL;
  error = sharedmem_notify(self->handle, &version);
  if (error != SHAREDMEM_OK) return sharedmem_py_raise(error, self->name);
  self->seen = version; /* wait() then waits past this handle's own notify */
  return PyLong_FromUnsignedLongLong((unsigned long long)version);
}

/* The guard that RawSegment.lock() returns, holding the lock. */
typedef struct {
  PyObject_HEAD
  SegmentObject* segment;
  int held;
  int owner_died;
} RawLockObject;

static PyTypeObject RawLockType;

static PyObject* raw_unlock(SegmentObject* self) {
  sharedmem_error error;
  if (segment_check_open(self) < 0) return NULL;
  error = sharedmem_unlock(self->handle);
  if (error != SHAREDMEM_OK) return sharedmem_py_raise(error, self->name);
  Py_RETURN_NONE;
}

static PyObject* RawSegment_lock(SegmentObject* self, PyObject* args, PyObject* kwargs) {
  static char* keywords[] = {"timeout", NULL};
  PyObject* timeout_obj = Py_None;
  double remaining_ms;
  sharedmem_error error;
  RawLockObject* guard;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:lock", keywords, &timeout_obj)) return NULL;
  if (segment_check_open(self) < 0) return NULL;
  if (parse_timeout(timeout_obj, &remaining_ms) < 0) return NULL;
  guard = PyObject_New(RawLockObject, &RawLockType);
  if (guard == NULL) return NULL;
  guard->segment = NULL;
  guard->held = 0;
  guard->owner_died = 0;
  /* In slices, as wait() does, for Ctrl-C and close(). */
  segment_enter(self);
  for (;;) {
    uint32_t slice = WAIT_SLICE_MS;
    if (remaining_ms >= 0.0 && remaining_ms < (double)WAIT_SLICE_MS) {
      slice = (uint32_t)remaining_ms;
      if ((double)slice < remaining_ms) slice += 1;
    }
    Py_BEGIN_ALLOW_THREADS
    error = sharedmem_lock(self->handle, slice);
    Py_END_ALLOW_THREADS
    if (error == SHAREDMEM_OK || error == SHAREDMEM_E_OWNER_DIED) break;
    if (error != SHAREDMEM_E_TIMEOUT) {
      sharedmem_py_raise(error, self->name);
      goto fail;
    }
    if (remaining_ms >= 0.0) {
      remaining_ms -= (double)slice;
      if (remaining_ms <= 0.0) {
        sharedmem_py_raise_built(
            PyExc_TimeoutError,
            Py_BuildValue("(N)", PyUnicode_FromFormat(
                                     "the lock of segment %R was not free within the timeout",
                                     self->name)),
            SHAREDMEM_E_TIMEOUT);
        goto fail;
      }
    }
    if (PyErr_CheckSignals() < 0) goto fail;
    if (self->closing) {
      PyErr_SetString(PyExc_ValueError, "the segment was closed while locking");
      goto fail;
    }
  }
  segment_leave(self);
  Py_INCREF(self);
  guard->segment = self;
  guard->held = 1;
  if (error == SHAREDMEM_E_OWNER_DIED) {
    guard->owner_died = 1;
    if (PyErr_WarnFormat(OwnerDiedWarning, 1,
                         "the previous holder of the lock of segment %R died holding it: the "
                         "lock is held now, and the data may be half-updated",
                         self->name) < 0) {
      /* The warning was turned into an exception: nobody gets the guard,
       * so give the lock back. */
      PyObject *type, *value, *traceback;
      PyErr_Fetch(&type, &value, &traceback);
      (void)sharedmem_unlock(self->handle);
      PyErr_Restore(type, value, traceback);
      guard->held = 0;
      Py_DECREF(guard);
      return NULL;
    }
  }
  return (PyObject*)guard;
fail:
  segment_leave(self);
  Py_DECREF(guard);
  return NULL;
}

static PyObject* RawSegment_unlock(SegmentObject* self, PyObject* unused) {
  (void)unused;
  return raw_unlock(self);
}

static PyObject* RawLock_release(RawLockObject* self, PyObject* unused) {
  (void)unused;
  if (!self->held) {
    PyErr_SetString(PyExc_RuntimeError, "the lock was already released");
    return NULL;
  }
  self->held = 0;
  return raw_unlock(self->segment);
}

static PyObject* RawLock_enter(RawLockObject* self, PyObject* unused) {
  (void)unused;
  Py_INCREF(self);
  return (PyObject*)self;
}

static PyObject* RawLock_exit(RawLockObject* self, PyObject* args) {
  (void)args;
  if (!self->held) Py_RETURN_NONE;
  return RawLock_release(self, NULL);
}

static void RawLock_dealloc(RawLockObject* self) {
  /* A guard dropped without release keeps the lock held: unlocking from
   * whatever thread collects it could not be right. */
  Py_XDECREF(self->segment);
  PyObject_Free(self);
}

static PyObject* RawLock_get_owner_died(RawLockObject* self, void* closure) {
  (void)closure;
  return PyBool_FromLong(self->owner_died);
}

static PyObject* RawLock_get_held(RawLockObject* self, void* closure) {
  (void)closure;
  return PyBool_FromLong(self->held);
}

static PyMethodDef RawLock_methods[] = {
    {"release", (PyCFunction)RawLock_release, METH_NOARGS,
     "release() -> None\n--\n\nReleases the lock (what leaving the with block does)."},
    {"__enter__", (PyCFunction)RawLock_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)RawLock_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef RawLock_getset[] = {
    {"owner_died", (getter)RawLock_get_owner_died, NULL,
     "True if the previous holder died holding the lock: the data may be half-updated.", NULL},
    {"held", (getter)RawLock_get_held, NULL, "True until release().", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject RawLockType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sharedmem.RawLock",
    .tp_basicsize = sizeof(RawLockObject),
    .tp_dealloc = (destructor)RawLock_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The held lock of a RawSegment, as RawSegment.lock() returns it; a context "
              "manager that releases it on exit.",
    .tp_methods = RawLock_methods,
    .tp_getset = RawLock_getset,
};

static PyObject* RawSegment_repr(SegmentObject* self) {
  PyObject* options;
  PyObject* result;
  if (self->name == NULL) return PyUnicode_FromFormat("<%s (not initialised)>", Py_TYPE(self)->tp_name);
  if (self->handle == NULL || self->closing) {
    return PyUnicode_FromFormat("<%s %R (closed)>", Py_TYPE(self)->tp_name, self->name);
  }
  options = segment_repr_options(self);
  if (options == NULL) return NULL;
  result = PyUnicode_FromFormat("%s(%R, size=%llu%U)", Py_TYPE(self)->tp_name, self->name,
                                (unsigned long long)self->capacity, options);
  Py_DECREF(options);
  return result;
}

static PyMethodDef RawSegment_methods[] = {
    {"lock", (PyCFunction)(void (*)(void))RawSegment_lock, METH_VARARGS | METH_KEYWORDS,
     "lock(timeout=None) -> RawLock\n--\n\nTakes the segment's cross-process lock, waiting at "
     "most `timeout` seconds (None: no limit; TimeoutError then), and returns it held, as a "
     "context manager: `with seg.lock(): ...`. The lock belongs to the calling thread. If its "
     "previous holder died holding it, the lock is taken all the same, the guard's "
     "owner_died is True and an OwnerDiedWarning is issued. Releases the GIL while it waits; "
     "Ctrl-C interrupts it."},
    {"unlock", (PyCFunction)RawSegment_unlock, METH_NOARGS,
     "unlock() -> None\n--\n\nReleases the lock this thread took (ValueError if it holds none)."},
    {"notify", (PyCFunction)RawSegment_notify, METH_NOARGS,
     "notify() -> int\n--\n\nAdvances the version and wakes every wait() on the segment, in "
     "every process; returns the new version. Needs no lock."},
    {"wait", (PyCFunction)(void (*)(void))Segment_wait, METH_VARARGS | METH_KEYWORDS,
     "wait(seen=None, timeout=None) -> int\n--\n\nWaits until the version differs from `seen` "
     "(None: the last version this handle notified or waited for, at first the version at "
     "open), as "
     "Segment.wait() does."},
    {"close", (PyCFunction)Segment_close, METH_NOARGS,
     "close() -> None\n--\n\nEnds this object's use: `buf` is released and every method "
     "then raises ValueError. The handle is closed (and the last close anywhere frees the "
     "segment) at once if no array or view made from the segment lives, else when the last "
     "of them goes: the memory they use stays mapped until then, so no view ever outlives "
     "it. Arrays made from the segment object itself (numpy.ndarray(buffer=seg), "
     "memoryview(seg)) keep it until the RawSegment object too is gone. Never raises "
     "BufferError; closing twice does nothing."},
    {"__enter__", (PyCFunction)Segment_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Segment_exit, METH_VARARGS, NULL},
    {"__reduce__", (PyCFunction)Segment_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef RawSegment_getset[] = {
    {"buf", (getter)RawSegment_get_buf, NULL,
     "A memoryview of the mapping (format 'B'), the same object each time; writable, "
     "except with read_only=True.", NULL},
    {"size", (getter)Segment_get_capacity, NULL, "The size of the buffer in bytes.", NULL},
    {"version", (getter)Segment_get_version, NULL,
     "The version: 0 at creation, one more per notify().", NULL},
    {"created", (getter)Segment_get_created, NULL,
     "True if this open created the segment (it started zero-filled).", NULL},
    {"closed", (getter)Segment_get_closed, NULL, "True once close() was called.", NULL},
    {"name", (getter)Segment_get_name, NULL, "The segment's name.", NULL},
    {"read_only", (getter)Segment_get_read_only, NULL,
     "True if opened with read_only=True: the calls that write raise "
     "io.UnsupportedOperation.", NULL},
    {"access", (getter)Segment_get_access, NULL,
     "The sharedmem.Access a shared segment was opened with; None for a private one.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject RawSegmentType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sharedmem.RawSegment",
    .tp_basicsize = sizeof(SegmentObject),
    .tp_dealloc = (destructor)Segment_dealloc,
    .tp_repr = (reprfunc)RawSegment_repr,
    .tp_as_buffer = &RawSegment_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "RawSegment(name, size=0, *, mode='open_or_create', access=None, "
              "read_only=False)\n--\n\n"
              "A named raw segment: a zero-filled buffer of `size` bytes that processes share "
              "in place through `buf` (or the buffer protocol: numpy.ndarray(shape, dtype, "
              "buffer=seg.buf)), with one robust cross-process lock, notify() and wait(). "
              "Same modes, lifetime, access= and read_only= as Segment; a name lives as one "
              "kind at a time (opening a live Segment's name as raw is OSError, WRONG_KIND). "
              "With read_only=True, `buf` is a read-only memoryview (the mapping is read-only "
              "in the OS), and lock() and notify() raise io.UnsupportedOperation.",
    .tp_weaklistoffset = offsetof(SegmentObject, weakrefs),
    .tp_methods = RawSegment_methods,
    .tp_getset = RawSegment_getset,
    .tp_init = (initproc)RawSegment_init,
    .tp_new = PyType_GenericNew,
};
#endif /* SHAREDMEM_RAW */

/* ---------------------------------------------------------------- module */

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
  Py_BEGIN_ALLOW_THREADS e = sharedmem_prune(shared ? SHAREDMEM_SHARED : 0u, &removed);
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
  PyObject* module;
  if (zero == NULL && (zero = PyLong_FromLong(0)) == NULL) return NULL;
  if (PyType_Ready(&SegmentType) < 0) return NULL;
  module = PyModule_Create(&core_module);
  if (module == NULL) return NULL;
  Py_INCREF(&SegmentType);
  if (PyModule_AddObject(module, "Segment", (PyObject*)&SegmentType) < 0) {
    Py_DECREF(&SegmentType);
    Py_DECREF(module);
    return NULL;
  }
#ifdef SHAREDMEM_RAW
  if (PyType_Ready(&RawSegmentType) < 0 || PyType_Ready(&RawLockType) < 0 ||
      PyType_Ready(&RawMappingType) < 0) {
    Py_DECREF(module);
    return NULL;
  }
  OwnerDiedWarning = PyErr_NewExceptionWithDoc(
      "sharedmem.OwnerDiedWarning",
      "RawSegment.lock() took a lock whose previous holder died holding it: the data may be "
      "half-updated.",
      PyExc_RuntimeWarning, NULL);
  if (OwnerDiedWarning == NULL) {
    Py_DECREF(module);
    return NULL;
  }
  Py_INCREF(&RawSegmentType);
  Py_INCREF(&RawLockType);
  Py_INCREF(OwnerDiedWarning);
  if (PyModule_AddObject(module, "RawSegment", (PyObject*)&RawSegmentType) < 0 ||
      PyModule_AddObject(module, "RawLock", (PyObject*)&RawLockType) < 0 ||
      PyModule_AddObject(module, "OwnerDiedWarning", OwnerDiedWarning) < 0) {
    Py_DECREF(module);
    return NULL;
  }
#endif
  if (PyModule_AddIntConstant(module, "MAX_NAME_LENGTH", SHAREDMEM_MAX_NAME_LENGTH) < 0) {
    Py_DECREF(module);
    return NULL;
  }
  return module;
}
