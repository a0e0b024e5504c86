/* SPDX-License-Identifier: MIT */
/* Waiting that Ctrl-C and close() interrupt (sliced_wait.h). */
#include "sliced_wait.h"

#include "without_gil.h"

int segment_wait_sliced(SegmentObject* self, double timeout_ms, SlicedCall call, void* arguments,
                        sharedmem_error accepted, const char* doing, sharedmem_error* outcome) {
  double remaining_ms = timeout_ms;
  sharedmem_error error;
  segment_enter(self);
  for (;;) {
    uint32_t slice = WAIT_SLICE_MS;
    if (remaining_ms >= 0.0 && remaining_ms < (double)WAIT_SLICE_MS) {
      slice = (uint32_t)remaining_ms;
      if ((double)slice < remaining_ms) slice += 1; /* round up: never return early */
    }
    Py_BEGIN_ALLOW_THREADS
    error = call(self->handle, slice, arguments);
    Py_END_ALLOW_THREADS
    if (error == SHAREDMEM_OK || error == accepted) break;
    if (error != SHAREDMEM_E_TIMEOUT) {
      sharedmem_py_raise(error, self->name);
      segment_leave(self);
      return -1;
    }
    if (remaining_ms >= 0.0) {
      remaining_ms -= (double)slice;
      if (remaining_ms <= 0.0) break;
    }
    if (PyErr_CheckSignals() < 0) {
      segment_leave(self);
      return -1;
    }
    if (self->closing) {
      segment_leave(self);
      PyErr_Format(PyExc_ValueError, "the segment was closed while %s", doing);
      return -1;
    }
  }
  segment_leave(self);
  *outcome = error;
  return 0;
}
