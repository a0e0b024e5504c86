/* SPDX-License-Identifier: MIT */
/* The buffers a RawSegment exports (mapping.h). */
#include "mapping.h"

#include "without_gil.h"

static void RawMapping_dealloc(RawMappingObject* self) {
  sharedmem_segment* handle = self->handle;
  self->handle = NULL;
  if (handle != NULL) close_without_gil(handle);
  PyObject_Free(self);
}

int raw_mapping_getbuffer(RawMappingObject* self, Py_buffer* view, int flags) {
  return PyBuffer_FillInfo(view, (PyObject*)self, self->data, self->size, self->read_only, flags);
}

static PyBufferProcs RawMapping_as_buffer = {(getbufferproc)raw_mapping_getbuffer, NULL};

static PyTypeObject RawMappingType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sharedmem.RawMapping",
    .tp_basicsize = sizeof(RawMappingObject),
    .tp_dealloc = (destructor)RawMapping_dealloc,
    .tp_as_buffer = &RawMapping_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The memory of a RawSegment, as the base of arrays and views made from it: it "
              "stays mapped, and the segment held by this process, while any of them lives.",
};

PyObject* raw_mapping_new(sharedmem_segment* handle, void* data, Py_ssize_t size, int read_only) {
  RawMappingObject* mapping = PyObject_New(RawMappingObject, &RawMappingType);
  if (mapping == NULL) return NULL;
  mapping->handle = handle;
  mapping->data = data;
  mapping->size = size;
  mapping->read_only = read_only;
  return (PyObject*)mapping;
}

int raw_mapping_ready(void) { return PyType_Ready(&RawMappingType); }
