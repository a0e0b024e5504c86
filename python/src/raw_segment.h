/* SPDX-License-Identifier: MIT */
/*
 * sharedmem.RawSegment (a SegmentObject opened with SHAREDMEM_RAW), its lock
 * guard sharedmem.RawLock and sharedmem.OwnerDiedWarning.
 */
#ifndef SHAREDMEM_PYTHON_RAW_SEGMENT_H
#define SHAREDMEM_PYTHON_RAW_SEGMENT_H

#include "segment.h"

/* segment_close_now's part for a RawSegment: lets go of the mapping, which
 * closes the handle now if nothing else refers to it, else when the last
 * view goes. The library's close would release the segment's lock if held:
 * when that close is put off, the lock is released here instead (if this
 * thread holds it; an unlock by another thread is refused and changes
 * nothing). */
void raw_segment_let_go(SegmentObject* self, sharedmem_segment* handle);

/* Readies RawSegment, RawLock and OwnerDiedWarning and adds them to
 * `module`. 0, or -1. */
int raw_segment_add_types(PyObject* module);

#endif /* SHAREDMEM_PYTHON_RAW_SEGMENT_H */
