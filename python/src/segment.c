/* SPDX-License-Identifier: MIT */
/*
 * sharedmem.Segment: a named segment holding one value, over sharedmem_open,
 * sharedmem_read_versioned, sharedmem_write(_if) and sharedmem_wait; and the
 * open, close and accessors that RawSegment shares (segment.h).
 */
#include "segment.h"

#include "arguments.h"
#include "errors.h"
#include "raw_segment.h"
#include "sliced_wait.h"
#include "without_gil.h"

void segment_close_now(SegmentObject* self) {
  sharedmem_segment* handle = self->handle;
  self->handle = NULL;
  self->closing = 0;
  if (self->mapping != NULL) {
    raw_segment_let_go(self, handle);
    return;
  }
  if (handle != NULL) close_without_gil(handle);
}

int segment_open(SegmentObject* self, PyObject* args, PyObject* kwargs, char** keywords,
                 const char* format) {
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

void Segment_dealloc(SegmentObject* self) {
  /* Every call holds a reference: nothing is busy here. */
  if (self->weakrefs != NULL) PyObject_ClearWeakRefs((PyObject*)self);
  segment_close_now(self);
  Py_CLEAR(self->view);
  Py_CLEAR(self->mapping);
  Py_CLEAR(self->access);
  Py_CLEAR(self->name);
  Py_TYPE(self)->tp_free((PyObject*)self);
}

PyObject* Segment_close(SegmentObject* self, PyObject* unused) {
  (void)unused;
  /* A RawSegment's `buf` is released as the standard SharedMemory.close()
   * releases its own, so that a kept reference to it cannot hold the
   * segment; unless something holds a buffer exported from that very
   * memoryview, which then keeps it (and the mapping) alive: close() never
   * fails for views, and never unmaps under them (see mapping.h). */
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

PyObject* Segment_enter(SegmentObject* self, PyObject* unused) {
  (void)unused;
  if (segment_check_open(self) < 0) return NULL;
  Py_INCREF(self);
  return (PyObject*)self;
}

PyObject* Segment_exit(SegmentObject* self, PyObject* args) {
  (void)args;
  return Segment_close(self, NULL);
}

/* What sharedmem_read_versioned reads into and reports. */
typedef struct {
  void* buffer;
  uint64_t buffer_size;
  uint64_t size;
  uint64_t version;
} ReadArguments;

static sharedmem_error read_call(sharedmem_segment* handle, void* arguments) {
  ReadArguments* read = arguments;
  return sharedmem_read_versioned(handle, read->buffer, read->buffer_size, &read->size,
                                  &read->version);
}

static PyObject* Segment_read(SegmentObject* self, PyObject* unused) {
  Py_ssize_t want;
  (void)unused;
  if (segment_check_open(self) < 0) return NULL;
  want = self->read_hint;
  for (;;) {
    ReadArguments read;
    PyObject* bytes = PyBytes_FromStringAndSize(NULL, want);
    if (bytes == NULL) return NULL;
    read.buffer = PyBytes_AS_STRING(bytes);
    read.buffer_size = (uint64_t)want;
    read.size = 0;
    read.version = 0;
    if (segment_copy(self, want, read_call, &read, SHAREDMEM_OK) != SHAREDMEM_OK) {
      Py_DECREF(bytes);
      return NULL;
    }
    if (read.size <= (uint64_t)want) {
      self->seen = read.version;
      self->read_hint = (Py_ssize_t)read.size;
      if (read.size < (uint64_t)want && _PyBytes_Resize(&bytes, (Py_ssize_t)read.size) < 0) {
        return NULL;
      }
      return bytes;
    }
    /* The value is longer than the guess: read again at its size. */
    Py_DECREF(bytes);
    if (read.size > (uint64_t)PY_SSIZE_T_MAX) return PyErr_NoMemory();
    want = (Py_ssize_t)read.size;
  }
}

static PyObject* Segment_read_into(SegmentObject* self, PyObject* target) {
  Py_buffer view;
  ReadArguments read;
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
  read.buffer = view.buf;
  read.buffer_size = (uint64_t)view.len;
  read.size = 0;
  read.version = 0;
  error = segment_copy(self, view.len, read_call, &read, SHAREDMEM_OK);
  PyBuffer_Release(&view);
  if (error != SHAREDMEM_OK) return NULL;
  self->seen = read.version;
  return Py_BuildValue("(KK)", (unsigned long long)read.size, (unsigned long long)read.version);
}

/* What sharedmem_write, or sharedmem_write_if when `expected` is not NULL,
 * writes and reports. */
typedef struct {
  const void* bytes;
  uint64_t length;
  const uint64_t* expected;
  uint64_t new_version;
} WriteArguments;

static sharedmem_error write_call(sharedmem_segment* handle, void* arguments) {
  WriteArguments* write = arguments;
  return write->expected != NULL ? sharedmem_write_if(handle, write->bytes, write->length,
                                                      *write->expected, &write->new_version)
                                 : sharedmem_write(handle, write->bytes, write->length);
}

/* Writes the bytes-like `data` as `write` says (its bytes and length are
 * filled in here). Returns the error, or -1 with an exception set for every
 * error but CONFLICT. */
static int segment_write(SegmentObject* self, PyObject* data, WriteArguments* write,
                         sharedmem_error* out_error) {
  Py_buffer view;
  sharedmem_error error;
  int have_view = 0;
  if (segment_check_open(self) < 0) return -1;
  if (PyBytes_CheckExact(data)) {
    write->bytes = PyBytes_AS_STRING(data);
    write->length = (uint64_t)PyBytes_GET_SIZE(data);
  } else {
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) return -1;
    have_view = 1;
    write->bytes = view.buf;
    write->length = (uint64_t)view.len;
  }
  error = segment_copy(self, (Py_ssize_t)write->length, write_call, write, SHAREDMEM_E_CONFLICT);
  if (have_view) PyBuffer_Release(&view);
  *out_error = error;
  return (error == SHAREDMEM_OK || error == SHAREDMEM_E_CONFLICT) ? 0 : -1;
}

static PyObject* Segment_write(SegmentObject* self, PyObject* data) {
  WriteArguments write = {NULL, 0, NULL, 0};
  sharedmem_error error;
  if (segment_write(self, data, &write, &error) < 0) return NULL;
  Py_RETURN_NONE;
}

static PyObject* Segment_write_if(SegmentObject* self, PyObject* args, PyObject* kwargs) {
  static char* keywords[] = {"data", "expected_version", NULL};
  PyObject* data;
  PyObject* expected_obj;
  uint64_t expected = 0;
  WriteArguments write = {NULL, 0, NULL, 0};
  sharedmem_error error;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO:write_if", keywords, &data, &expected_obj)) {
    return NULL;
  }
  if (parse_u64(expected_obj, "expected_version", SHAREDMEM_E_INVALID_ARGUMENT, &expected) < 0) return NULL;
  write.expected = &expected;
  if (segment_write(self, data, &write, &error) < 0) return NULL;
  if (error == SHAREDMEM_E_CONFLICT) Py_RETURN_FALSE;
  self->seen = write.new_version;
  Py_RETURN_TRUE;
}

/* What sharedmem_wait waits past and reports. */
typedef struct {
  uint64_t seen;
  uint64_t version;
} WaitArguments;

static sharedmem_error wait_call(sharedmem_segment* handle, uint32_t slice_ms, void* arguments) {
  WaitArguments* wait = arguments;
  return sharedmem_wait(handle, wait->seen, slice_ms, &wait->version);
}

PyObject* Segment_wait(SegmentObject* self, PyObject* args, PyObject* kwargs) {
  static char* keywords[] = {"seen", "timeout", NULL};
  PyObject* seen_obj = Py_None;
  PyObject* timeout_obj = Py_None;
  WaitArguments wait;
  double timeout_ms;
  sharedmem_error outcome;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OO:wait", keywords, &seen_obj, &timeout_obj)) {
    return NULL;
  }
  if (segment_check_open(self) < 0) return NULL;
  wait.seen = self->seen;
  wait.version = 0;
  if (seen_obj != Py_None && parse_u64(seen_obj, "seen", SHAREDMEM_E_INVALID_ARGUMENT, &wait.seen) < 0) return NULL;
  if (parse_timeout(timeout_obj, &timeout_ms) < 0) return NULL;
  if (segment_wait_sliced(self, timeout_ms, wait_call, &wait, SHAREDMEM_OK, "waiting", &outcome) < 0) {
    return NULL;
  }
  if (outcome == SHAREDMEM_E_TIMEOUT) {
    return sharedmem_py_raise_built(
        PyExc_TimeoutError,
        Py_BuildValue("(N)", PyUnicode_FromFormat(
                                 "no write to segment %R within the timeout (version still %llu)",
                                 self->name, (unsigned long long)wait.version)),
        SHAREDMEM_E_TIMEOUT);
  }
  self->seen = wait.version;
  return PyLong_FromUnsignedLongLong((unsigned long long)wait.version);
}

PyObject* Segment_reduce(SegmentObject* self, PyObject* unused) {
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

PyObject* segment_repr(SegmentObject* self, const char* size_word) {
  PyObject* options;
  PyObject* result;
  if (self->name == NULL) return PyUnicode_FromFormat("<%s (not initialised)>", Py_TYPE(self)->tp_name);
  if (self->handle == NULL || self->closing) {
    return PyUnicode_FromFormat("<%s %R (closed)>", Py_TYPE(self)->tp_name, self->name);
  }
  options = segment_repr_options(self);
  if (options == NULL) return NULL;
  result = PyUnicode_FromFormat("%s(%R, %s=%llu%U)", Py_TYPE(self)->tp_name, self->name,
                                size_word, (unsigned long long)self->capacity, options);
  Py_DECREF(options);
  return result;
}

static PyObject* Segment_repr(SegmentObject* self) { return segment_repr(self, "capacity"); }

PyObject* Segment_get_version(SegmentObject* self, void* closure) {
  (void)closure;
  if (segment_check_open(self) < 0) return NULL;
  return PyLong_FromUnsignedLongLong((unsigned long long)sharedmem_version(self->handle));
}

PyObject* Segment_get_capacity(SegmentObject* self, void* closure) {
  (void)closure;
  if (segment_check_open(self) < 0) return NULL;
  return PyLong_FromUnsignedLongLong((unsigned long long)self->capacity);
}

PyObject* Segment_get_created(SegmentObject* self, void* closure) {
  (void)closure;
  if (segment_check_open(self) < 0) return NULL;
  return PyBool_FromLong(self->created);
}

PyObject* Segment_get_closed(SegmentObject* self, void* closure) {
  (void)closure;
  return PyBool_FromLong(self->handle == NULL || self->closing);
}

PyObject* Segment_get_read_only(SegmentObject* self, void* closure) {
  (void)closure;
  return PyBool_FromLong(self->read_only);
}

PyObject* Segment_get_access(SegmentObject* self, void* closure) {
  (void)closure;
  if (self->access == NULL) Py_RETURN_NONE;
  Py_INCREF(self->access);
  return self->access;
}

PyObject* Segment_get_name(SegmentObject* self, void* closure) {
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
    SEGMENT_SHARED_METHODS,
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Segment_getset[] = {
    {"version", (getter)Segment_get_version, NULL,
     "The current version: 0 at creation, one more per completed write.", NULL},
    {"capacity", (getter)Segment_get_capacity, NULL, "The capacity in bytes.", NULL},
    {"created", (getter)Segment_get_created, NULL,
     "True if this open created the segment (it started empty, at version 0).", NULL},
    SEGMENT_SHARED_GETSET,
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject SegmentType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sharedmem.Segment",
    SEGMENT_TYPE_SLOTS,
    .tp_repr = (reprfunc)Segment_repr,
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
    .tp_methods = Segment_methods,
    .tp_getset = Segment_getset,
    .tp_init = (initproc)Segment_init,
};

int segment_add_type(PyObject* module) {
  if (PyType_Ready(&SegmentType) < 0) return -1;
  Py_INCREF(&SegmentType);
  if (PyModule_AddObject(module, "Segment", (PyObject*)&SegmentType) < 0) {
    Py_DECREF(&SegmentType);
    return -1;
  }
  return 0;
}
