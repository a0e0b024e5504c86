/* SPDX-License-Identifier: MIT */
/*
 * The object behind sharedmem.Segment and sharedmem.RawSegment: one struct,
 * a RawSegment being a segment opened with SHAREDMEM_RAW that also exports
 * its mapping (raw_segment.c). What segment.c defines for both types is
 * declared here: the open, the close, and the methods and getters that
 * RawSegment's tables name too. All of it requires the GIL.
 */
#ifndef SHAREDMEM_PYTHON_SEGMENT_H
#define SHAREDMEM_PYTHON_SEGMENT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "sharedmem/sharedmem.h"

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
  int busy;    /* calls running without the GIL (without_gil.h) */
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

/* 0 if the segment is open; else -1 with ValueError. Every call that uses
 * the handle checks it first (inline: it is on the path of every read). */
static inline int segment_check_open(SegmentObject* self) {
  if (self->handle == NULL || self->closing) {
    PyErr_SetString(PyExc_ValueError,
                    self->name == NULL ? "Segment.__init__ was not called"
                                       : "operation on a closed segment");
    return -1;
  }
  return 0;
}

/* __init__ of both types: parses (name, size, *, mode, access, read_only)
 * with `keywords` and `format`, and opens the segment with self->open_flags
 * added to the flags those ask for. 0, or -1 with an exception set. */
int segment_open(SegmentObject* self, PyObject* args, PyObject* kwargs, char** keywords,
                 const char* format);

/* Closes the handle now; nothing may be busy. The close itself runs without
 * the GIL (it may wait for another process's attach or detach). A
 * RawSegment lets go of its mapping instead, which closes the handle once
 * no view can reach the memory. */
void segment_close_now(SegmentObject* self);

/* "Type('name', <size_word>=N, ...)" for an open segment, with the options it
 * was opened with; "<Type 'name' (closed)>" for a closed one. */
PyObject* segment_repr(SegmentObject* self, const char* size_word);

/* Readies sharedmem.Segment and adds it to `module`. 0, or -1. */
int segment_add_type(PyObject* module);

/* Slots, methods and getters of Segment that RawSegment shares. */
void Segment_dealloc(SegmentObject* self);
PyObject* Segment_close(SegmentObject* self, PyObject* unused);
PyObject* Segment_enter(SegmentObject* self, PyObject* unused);
PyObject* Segment_exit(SegmentObject* self, PyObject* args);
PyObject* Segment_reduce(SegmentObject* self, PyObject* unused);
PyObject* Segment_wait(SegmentObject* self, PyObject* args, PyObject* kwargs);
PyObject* Segment_get_version(SegmentObject* self, void* closure);
PyObject* Segment_get_capacity(SegmentObject* self, void* closure);
PyObject* Segment_get_created(SegmentObject* self, void* closure);
PyObject* Segment_get_closed(SegmentObject* self, void* closure);
PyObject* Segment_get_name(SegmentObject* self, void* closure);
PyObject* Segment_get_read_only(SegmentObject* self, void* closure);
PyObject* Segment_get_access(SegmentObject* self, void* closure);

/* What the two type objects share: the object, its deallocation, weak
 * references, construction (tp_new, then each type's own tp_init). */
#define SEGMENT_TYPE_SLOTS                                      \
  .tp_basicsize = sizeof(SegmentObject),                        \
  .tp_dealloc = (destructor)Segment_dealloc,                    \
  .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,         \
  .tp_weaklistoffset = offsetof(SegmentObject, weakrefs),       \
  .tp_new = PyType_GenericNew

/* The rows of the method and getter tables that the two types share word
 * for word (context manager, pickling; closed, name, read_only, access). */
#define SEGMENT_SHARED_METHODS                                  \
  {"__enter__", (PyCFunction)Segment_enter, METH_NOARGS, NULL}, \
  {"__exit__", (PyCFunction)Segment_exit, METH_VARARGS, NULL},  \
  {"__reduce__", (PyCFunction)Segment_reduce, METH_NOARGS, NULL}
#define SEGMENT_SHARED_GETSET                                                           \
  {"closed", (getter)Segment_get_closed, NULL, "True once close() was called.", NULL},  \
  {"name", (getter)Segment_get_name, NULL, "The segment's name.", NULL},                \
  {"read_only", (getter)Segment_get_read_only, NULL,                                    \
   "True if opened with read_only=True: the calls that write raise "                    \
   "io.UnsupportedOperation.", NULL},                                                   \
  {"access", (getter)Segment_get_access, NULL,                                          \
   "The sharedmem.Access a shared segment was opened with; None for a private one.", NULL}

#endif /* SHAREDMEM_PYTHON_SEGMENT_H */
