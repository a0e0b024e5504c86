/* SPDX-License-Identifier: MIT */
/*
 * sharedmem.RawSegment and sharedmem.RawLock: a segment opened with
 * SHAREDMEM_RAW, whose memory processes share in place through the buffers
 * it exports (mapping.h), with the segment's cross-process lock, notify()
 * and wait().
 */
#include "raw_segment.h"

#include "arguments.h"
#include "errors.h"
#include "mapping.h"
#include "sliced_wait.h"

static PyObject* OwnerDiedWarning;

void raw_segment_let_go(SegmentObject* self, sharedmem_segment* handle) {
  Py_CLEAR(self->view);
  if (handle != NULL && (self->exported_itself || Py_REFCNT(self->mapping) > 1)) {
    (void)sharedmem_unlock(handle);
  }
  if (!self->exported_itself) Py_CLEAR(self->mapping);
}

static int RawSegment_init(SegmentObject* self, PyObject* args, PyObject* kwargs) {
  static char* keywords[] = {"name", "size", "mode", "access", "read_only", NULL};
  void* data;
  self->open_flags = SHAREDMEM_RAW;
  if (segment_open(self, args, kwargs, keywords, "O|O$OOp:RawSegment") < 0) return -1;
  data = sharedmem_data(self->handle);
  self->mapping = data == NULL ? NULL
                               : raw_mapping_new(self->handle, data, (Py_ssize_t)self->capacity,
                                                 self->read_only);
  if (self->mapping == NULL) {
    segment_close_now(self);
    if (data == NULL) PyErr_SetString(PyExc_OSError, "the library gave a raw segment no data");
    return -1;
  }
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
  if (raw_mapping_getbuffer((RawMappingObject*)self->mapping, view, flags) < 0) return -1;
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

static sharedmem_error lock_call(sharedmem_segment* handle, uint32_t slice_ms, void* arguments) {
  (void)arguments;
  return sharedmem_lock(handle, slice_ms);
}

static PyObject* RawSegment_lock(SegmentObject* self, PyObject* args, PyObject* kwargs) {
  static char* keywords[] = {"timeout", NULL};
  PyObject* timeout_obj = Py_None;
  double timeout_ms;
  sharedmem_error error;
  RawLockObject* guard;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:lock", keywords, &timeout_obj)) return NULL;
  if (segment_check_open(self) < 0) return NULL;
  if (parse_timeout(timeout_obj, &timeout_ms) < 0) return NULL;
  /* Made before locking, so that no failure can come between taking the
   * lock and handing it out. */
  guard = PyObject_New(RawLockObject, &RawLockType);
  if (guard == NULL) return NULL;
  guard->segment = NULL;
  guard->held = 0;
  guard->owner_died = 0;
  if (segment_wait_sliced(self, timeout_ms, lock_call, NULL, SHAREDMEM_E_OWNER_DIED, "locking",
                          &error) < 0) {
    Py_DECREF(guard);
    return NULL;
  }
  if (error == SHAREDMEM_E_TIMEOUT) {
    Py_DECREF(guard);
    return sharedmem_py_raise_built(
        PyExc_TimeoutError,
        Py_BuildValue("(N)", PyUnicode_FromFormat(
                                 "the lock of segment %R was not free within the timeout",
                                 self->name)),
        SHAREDMEM_E_TIMEOUT);
  }
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

static PyObject* RawSegment_repr(SegmentObject* self) { return segment_repr(self, "size"); }

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
    SEGMENT_SHARED_METHODS,
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
    SEGMENT_SHARED_GETSET,
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject RawSegmentType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sharedmem.RawSegment",
    SEGMENT_TYPE_SLOTS,
    .tp_repr = (reprfunc)RawSegment_repr,
    .tp_as_buffer = &RawSegment_as_buffer,
    .tp_doc = "RawSegment(name, size=0, *, mode='open_or_create', access=None, "
              "read_only=False)\n--\n\n"
              "A named raw segment: a zero-filled buffer of `size` bytes that processes share "
              "in place through `buf` (or the buffer protocol: numpy.ndarray(shape, dtype, "
              "buffer=seg.buf)), with one robust cross-process lock, notify() and wait(). "
              "Same modes, lifetime, access= and read_only= as Segment; a name lives as one "
              "kind at a time (opening a live Segment's name as raw is OSError, WRONG_KIND). "
              "With read_only=True, `buf` is a read-only memoryview (the mapping is read-only "
              "in the OS), and lock() and notify() raise io.UnsupportedOperation.",
    .tp_methods = RawSegment_methods,
    .tp_getset = RawSegment_getset,
    .tp_init = (initproc)RawSegment_init,
};

int raw_segment_add_types(PyObject* module) {
  if (PyType_Ready(&RawSegmentType) < 0 || PyType_Ready(&RawLockType) < 0 ||
      raw_mapping_ready() < 0) {
    return -1;
  }
  OwnerDiedWarning = PyErr_NewExceptionWithDoc(
      "sharedmem.OwnerDiedWarning",
      "RawSegment.lock() took a lock whose previous holder died holding it: the data may be "
      "half-updated.",
      PyExc_RuntimeWarning, NULL);
  if (OwnerDiedWarning == NULL) return -1;
  Py_INCREF(&RawSegmentType);
  Py_INCREF(&RawLockType);
  Py_INCREF(OwnerDiedWarning);
  if (PyModule_AddObject(module, "RawSegment", (PyObject*)&RawSegmentType) < 0 ||
      PyModule_AddObject(module, "RawLock", (PyObject*)&RawLockType) < 0 ||
      PyModule_AddObject(module, "OwnerDiedWarning", OwnerDiedWarning) < 0) {
    return -1;
  }
  return 0;
}
