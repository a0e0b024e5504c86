/* SPDX-License-Identifier: MIT */
/*
 * The buffers a RawSegment exports. Its memory is mapped by the library
 * handle, which a separate object, the mapping (RawMappingObject), owns.
 * Every buffer over the memory refers to the mapping: `buf` is a memoryview
 * of it, and the buffers the segment itself exports name it as their owner.
 * So whatever can still reach the memory (a numpy array made with
 * buffer=seg.buf, which keeps a reference to the mapping but no buffer
 * export, as much as np.frombuffer or ctypes' from_buffer) keeps it mapped,
 * and close() never unmaps under a live view: it ends the segment object's
 * use at once and leaves closing the handle to the mapping's last reference.
 */
#ifndef SHAREDMEM_PYTHON_MAPPING_H
#define SHAREDMEM_PYTHON_MAPPING_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "sharedmem/sharedmem.h"

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

/* A mapping that owns the open raw segment `handle` from now on, over its
 * `size` bytes at `data`; NULL with an exception set (the handle is then
 * still the caller's). */
PyObject* raw_mapping_new(sharedmem_segment* handle, void* data, Py_ssize_t size, int read_only);

/* Fills `view` over the mapping's memory; the view refers to the mapping. */
int raw_mapping_getbuffer(RawMappingObject* self, Py_buffer* view, int flags);

/* Readies the mapping's type. 0, or -1. */
int raw_mapping_ready(void);

#endif /* SHAREDMEM_PYTHON_MAPPING_H */
