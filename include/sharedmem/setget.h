/* SPDX-License-Identifier: MIT */
/*
 * sharedmem_setget: the seed's SetSharedMem/GetSharedMem, a separate library
 * (libsharedmem_setget.so, sharedmem_setget.dll; CMake target
 * sharedmem::setget, pkg-config sharedmem_setget) over sharedmem's public C
 * API. It is the one that does work at load and unload: it attaches its
 * default segment when loaded and detaches when unloaded. Link it only if you
 * use these functions; named segments need only sharedmem.
 *
 * Plain C, like sharedmem.h, which it includes.
 */
#ifndef SHAREDMEM_SETGET_H
#define SHAREDMEM_SETGET_H

#include "sharedmem/sharedmem.h"
#include "sharedmem/sharedmem_setget_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The seed's API, over the library's default segment. The library attaches
 * the default segment when it is loaded and detaches when it is unloaded, so
 * its content lives exactly as long as some process has the library loaded.
 * The default segment is named "dllmemfilemap" (or the value of the
 * SHAREDMEM_DEFAULT_SEGMENT environment variable at load time, which lets
 * test runs and tools isolate themselves) and holds 4096 bytes: at most
 * SHAREDMEM_DEFAULT_CAPACITY_CHARS characters plus a terminator. */
#define SHAREDMEM_DEFAULT_SEGMENT_NAME "dllmemfilemap"
#define SHAREDMEM_DEFAULT_CAPACITY_BYTES 4096u
#define SHAREDMEM_DEFAULT_CAPACITY_CHARS (SHAREDMEM_DEFAULT_CAPACITY_BYTES / sizeof(wchar_t) - 1u)

/* Copies the null-terminated `text` into the default segment, truncated to
 * SHAREDMEM_DEFAULT_CAPACITY_CHARS characters. Null `text` is a no-op. */
SHAREDMEM_SETGET_EXPORT void SHAREDMEM_CALL SetSharedMem(const wchar_t* text);

/* Copies the default segment's string to `buffer`: at most cch - 1
 * characters and a terminator. cch == 0 or a null buffer writes nothing. */
SHAREDMEM_SETGET_EXPORT void SHAREDMEM_CALL GetSharedMem(wchar_t* buffer, uint32_t cch);

/* Tells whether the default segment was attached at load: SHAREDMEM_OK, or
 * why it was not (Set/Get are then no-ops and Get yields an empty string). */
SHAREDMEM_SETGET_EXPORT sharedmem_error SHAREDMEM_CALL sharedmem_default_status(void);

/* The default segment's handle, borrowed: for the named-segment API
 * (sharedmem_version, sharedmem_read_versioned, ...) on the segment that
 * SetSharedMem and GetSharedMem use. Null when it is not attached (see
 * sharedmem_default_status). Never close it; it is valid until this library
 * is unloaded. */
SHAREDMEM_SETGET_EXPORT sharedmem_segment* SHAREDMEM_CALL sharedmem_default_segment(void);

#ifdef __cplusplus
}
#endif

#endif /* SHAREDMEM_SETGET_H */
