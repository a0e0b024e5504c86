/* SPDX-License-Identifier: MIT */
/* Calls on a segment that run without the GIL (without_gil.h). */
#include "without_gil.h"

void segment_enter(SegmentObject* self) { self->busy += 1; }

void segment_leave(SegmentObject* self) {
  self->busy -= 1;
  if (self->busy == 0 && self->closing) segment_close_now(self);
}

sharedmem_error segment_call_without_gil(SegmentObject* self, SegmentCall call, void* arguments,
                                         sharedmem_error accepted) {
  sharedmem_error error;
  segment_enter(self);
  Py_BEGIN_ALLOW_THREADS
  error = call(self->handle, arguments);
  Py_END_ALLOW_THREADS
  if (error != SHAREDMEM_OK && error != accepted) sharedmem_py_raise(error, self->name);
  segment_leave(self);
  return error;
}

void close_without_gil(sharedmem_segment* handle) {
  Py_BEGIN_ALLOW_THREADS
  sharedmem_close(handle);
  Py_END_ALLOW_THREADS
}
