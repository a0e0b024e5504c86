/* SPDX-License-Identifier: MIT */
/*
 * Calls on a segment that run without the GIL: waits, copies of BIG_COPY
 * bytes or more, open and close. Such a call marks its segment busy, so that
 * close() from another thread never frees the handle under it: close() then
 * only marks the segment closing, and the last busy call to finish closes
 * the handle.
 */
#ifndef SHAREDMEM_PYTHON_WITHOUT_GIL_H
#define SHAREDMEM_PYTHON_WITHOUT_GIL_H

#include "errors.h"
#include "segment.h"

/* Copies from this size on run without the GIL: below it, releasing and
 * taking the GIL back costs more than the copy. */
#define BIG_COPY ((Py_ssize_t)65536)

/* Brackets a call that runs without the GIL. segment_leave closes the handle
 * if close() came meanwhile and no other call is busy: raise a call's error
 * before it, while sharedmem_last_system_error() still describes that call. */
void segment_enter(SegmentObject* self);
void segment_leave(SegmentObject* self);

/* One call of the library on a segment's handle, with what it reads and
 * writes in `arguments`. */
typedef sharedmem_error (*SegmentCall)(sharedmem_segment* handle, void* arguments);

/* segment_copy's part for BIG_COPY bytes or more. */
sharedmem_error segment_call_without_gil(SegmentObject* self, SegmentCall call, void* arguments,
                                         sharedmem_error accepted);

/* Runs call(self->handle, arguments), which copies `bytes` bytes: without the
 * GIL, the segment busy, from BIG_COPY bytes on; with it below. Raises the
 * exception for an error other than `accepted` (SHAREDMEM_OK: none) and
 * returns the error. Inline, so that a small copy (the common case, a few
 * tens of nanoseconds) pays no call through a pointer. */
static inline sharedmem_error segment_copy(SegmentObject* self, Py_ssize_t bytes,
                                           SegmentCall call, void* arguments,
                                           sharedmem_error accepted) {
  sharedmem_error error;
  if (bytes >= BIG_COPY) return segment_call_without_gil(self, call, arguments, accepted);
  error = call(self->handle, arguments);
  if (error != SHAREDMEM_OK && error != accepted) sharedmem_py_raise(error, self->name);
  return error;
}

/* Closes `handle` (not NULL) without the GIL: a close may wait for another
 * process's attach or detach. */
void close_without_gil(sharedmem_segment* handle);

#endif /* SHAREDMEM_PYTHON_WITHOUT_GIL_H */
