/* SPDX-License-Identifier: MIT */
/*
 * Waiting that Ctrl-C and close() interrupt: Segment.wait() and
 * RawSegment.lock() sleep in the library in slices, and between two slices
 * take the GIL back to run signal handlers (a KeyboardInterrupt) and to see
 * close() from another thread.
 */
#ifndef SHAREDMEM_PYTHON_SLICED_WAIT_H
#define SHAREDMEM_PYTHON_SLICED_WAIT_H

#include "segment.h"

/* The longest slice in milliseconds: how late a signal or close() is seen.
 * What the wait is for (a write, an unlock) ends a slice at once. */
#define WAIT_SLICE_MS 50u

/* A library call that waits on a segment's handle at most `slice_ms`
 * milliseconds, returning SHAREDMEM_E_TIMEOUT when the slice passed. */
typedef sharedmem_error (*SlicedCall)(sharedmem_segment* handle, uint32_t slice_ms,
                                      void* arguments);

/* Runs call(self->handle, slice, arguments) without the GIL, the segment
 * busy, slice after slice until it returns anything but SHAREDMEM_E_TIMEOUT
 * or `timeout_ms` (negative: no limit) has passed; never returns early (a
 * slice that times out has waited its full length, so the time left is
 * counted down by slices). `doing` names the wait for close()'s ValueError:
 * "the segment was closed while <doing>".
 * Returns 0 with *outcome set to SHAREDMEM_OK or `accepted` (what the call
 * returned) or to SHAREDMEM_E_TIMEOUT (the time passed: nothing raised, the
 * caller says what did not come); -1 with an exception set: the call's
 * other errors, a signal handler's exception, or that ValueError. */
int segment_wait_sliced(SegmentObject* self, double timeout_ms, SlicedCall call, void* arguments,
                        sharedmem_error accepted, const char* doing, sharedmem_error* outcome);

#endif /* SHAREDMEM_PYTHON_SLICED_WAIT_H */
