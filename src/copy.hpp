// SPDX-License-Identifier: MIT
// Byte movers between private buffers and shared slots. Reads race with
// writers by design (the seqlock in layout.hpp discards torn copies), so
// every access to slot bytes goes through these few functions.
//
// Why not plain memcpy everywhere (docs/PERFORMANCE.md has the figures):
// - From about 2 KiB up, glibc's memcpy on x86-64 uses `rep movsb`, which is
//   slow to start for copies of a few KiB and, on several CPUs, runs many
//   times slower when the destination lies 1..63 bytes after the source
//   modulo 4096 (a private buffer and a slot can be in any such layout). In
//   those two cases an explicit AVX2 (or SSE2) loop is used instead.
// Everything here is portable C++: the x86 paths are chosen by compiler
// feature checks (and AVX2 at run time), any other target uses memcpy and
// plain loops.
#ifndef SHAREDMEM_SRC_COPY_HPP
#define SHAREDMEM_SRC_COPY_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>

// Sanitizer builds check the plain path: memcpy, which they intercept.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SHAREDMEM_COPY_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer) || __has_feature(hwaddress_sanitizer)
#define SHAREDMEM_COPY_PLAIN 1
#endif
#endif

#if !defined(SHAREDMEM_COPY_PLAIN) && \
    (defined(__x86_64__) || defined(_M_X64) || (defined(__i386__) && defined(__SSE2__)))
#define SHAREDMEM_COPY_SSE2 1
#include <emmintrin.h>
// AVX2 through GCC/Clang target attributes and a run-time CPU check. Not with
// MinGW-w64, whose GCC may spill 32-byte vectors with aligned moves to a
// stack that Win64 only aligns to 16 bytes (GCC bug 54412).
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__MINGW32__)
#define SHAREDMEM_COPY_AVX2 1
#include <immintrin.h>
#endif
#endif

namespace sharedmem::detail {
namespace copy_impl {

// glibc switches memcpy to `rep movsb` at 2112 bytes on CPUs with fast short
// `rep movsb` (FSRM), 2048 and more elsewhere.
inline constexpr std::size_t kRepMovsbFrom = 2048;
// With AVX2, the explicit loop beats `rep movsb` from here up to L1-sized
// copies (measured: bench/, offset and copy groups).
inline constexpr std::size_t kVectorFrom = 3072;
inline constexpr std::size_t kVectorTo = 16384;

// True when the destination starts 1..63 bytes after the source modulo a
// 4096-byte page: the distance at which `rep movsb` can fall off a cliff.
inline bool short_page_distance(const void* destination, const void* source) {
  const std::uintptr_t distance =
      (reinterpret_cast<std::uintptr_t>(destination) - reinterpret_cast<std::uintptr_t>(source)) &
      4095u;
  return distance != 0 && distance < 64;
}

#if defined(SHAREDMEM_COPY_AVX2)
inline bool have_avx2() {
  __builtin_cpu_init();  // cheap after the first call; needed before constructors run
  return __builtin_cpu_supports("avx2") != 0;
}

// Copies n >= 64 bytes: unaligned first and last 32 bytes, aligned stores in
// between (a store that splits a cache line costs more than a load that does).
__attribute__((target("avx2"))) inline void copy_avx2(unsigned char* destination,
                                                      const unsigned char* source, std::size_t n) {
  const __m256i head = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(source));
  const __m256i tail = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(source + n - 32));
  unsigned char* const end = destination + n;
  const std::size_t skip = 32 - (reinterpret_cast<std::uintptr_t>(destination) & 31u);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(destination), head);
  unsigned char* d = destination + skip;
  const unsigned char* s = source + skip;
  for (; end - d >= 128; d += 128, s += 128) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 32));
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 64));
    const __m256i e = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 96));
    _mm256_store_si256(reinterpret_cast<__m256i*>(d), a);
    _mm256_store_si256(reinterpret_cast<__m256i*>(d + 32), b);
    _mm256_store_si256(reinterpret_cast<__m256i*>(d + 64), c);
    _mm256_store_si256(reinterpret_cast<__m256i*>(d + 96), e);
  }
  for (; end - d >= 32; d += 32, s += 32)
    _mm256_store_si256(reinterpret_cast<__m256i*>(d),
                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s)));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(end - 32), tail);
}
#endif

#if defined(SHAREDMEM_COPY_SSE2)
// The same with 16-byte vectors, for n >= 64.
inline void copy_sse2(unsigned char* destination, const unsigned char* source, std::size_t n) {
  const __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(source));
  const __m128i tail = _mm_loadu_si128(reinterpret_cast<const __m128i*>(source + n - 16));
  unsigned char* const end = destination + n;
  const std::size_t skip = 16 - (reinterpret_cast<std::uintptr_t>(destination) & 15u);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(destination), head);
  unsigned char* d = destination + skip;
  const unsigned char* s = source + skip;
  for (; end - d >= 64; d += 64, s += 64) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 32));
    const __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 48));
    _mm_store_si128(reinterpret_cast<__m128i*>(d), a);
    _mm_store_si128(reinterpret_cast<__m128i*>(d + 16), b);
    _mm_store_si128(reinterpret_cast<__m128i*>(d + 32), c);
    _mm_store_si128(reinterpret_cast<__m128i*>(d + 48), e);
  }
  for (; end - d >= 16; d += 16, s += 16)
    _mm_store_si128(reinterpret_cast<__m128i*>(d),
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(end - 16), tail);
}
#endif

#if defined(SHAREDMEM_COPY_SSE2)
// Copies 16 <= n <= 64 bytes inline with two to four overlapping 16-byte
// moves: a small value's copy costs a few instructions instead of a call
// into memcpy (with the caller's registers saved around it).
inline void copy_small_sse2(unsigned char* d, const unsigned char* s, std::size_t n) {
  const __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  const __m128i tail = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + n - 16));
  if (n > 32) {
    const __m128i second = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16));
    const __m128i before_tail = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + n - 32));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 16), second);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + n - 32), before_tail);
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d), head);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d + n - 16), tail);
}
#endif

// Copies of kRepMovsbFrom bytes and more: memcpy, except where `rep movsb`
// is slow (see the top of this file). Out of line, so that the small copies'
// callers keep a light frame.
#if defined(__GNUC__)
__attribute__((noinline))
#endif
inline void copy_large(void* destination, const void* source, std::size_t n) {
#if defined(SHAREDMEM_COPY_SSE2)
  auto* d = static_cast<unsigned char*>(destination);
  const auto* s = static_cast<const unsigned char*>(source);
  const bool hazard = short_page_distance(d, s);
#if defined(SHAREDMEM_COPY_AVX2)
  if (have_avx2()) {
    if (hazard || (n >= kVectorFrom && n <= kVectorTo)) return copy_avx2(d, s, n);
    return static_cast<void>(std::memcpy(d, s, n));
  }
#endif
  if (hazard) return copy_sse2(d, s, n);
#endif
  std::memcpy(destination, source, n);
}

// memcpy, except for small copies (inline) and where `rep movsb` is slow.
inline void copy_bytes(void* destination, const void* source, std::size_t n) {
#if defined(SHAREDMEM_COPY_SSE2)
  if (n >= 16 && n <= 64)
    return copy_small_sse2(static_cast<unsigned char*>(destination),
                           static_cast<const unsigned char*>(source), n);
#endif
  if (n >= kRepMovsbFrom) return copy_large(destination, source, n);
  if (n != 0) std::memcpy(destination, source, n);
}

}  // namespace copy_impl

// Copies a value's `size` bytes into a slot no reader takes as current.
inline void copy_in(unsigned char* slot, const void* source, std::uint64_t size) {
  copy_impl::copy_bytes(slot, source, static_cast<std::size_t>(size));
}

// Copies `size` bytes out of a slot that a writer may be changing meanwhile
// (the caller's seqlock check discards a torn copy).
inline void copy_out(void* destination, const unsigned char* slot, std::uint64_t size) {
  copy_impl::copy_bytes(destination, slot, static_cast<std::size_t>(size));
}

// Copies `size` bytes out of a slot as copy_out does, if that takes no call
// (up to 64 bytes): true; false, copying nothing, otherwise. For the read's
// common path, which stays a leaf function.
inline bool copy_out_inline(void* destination, const unsigned char* slot, std::uint64_t size) {
#if defined(SHAREDMEM_COPY_SSE2)
  if (size - 16 <= 48) {  // 16 <= size <= 64
    copy_impl::copy_small_sse2(static_cast<unsigned char*>(destination), slot,
                               static_cast<std::size_t>(size));
    return true;
  }
  return size == 0;
#else
  // Elsewhere (and in sanitizer builds, so that they run the same path):
  // memcpy, a call, for the same sizes.
  if (size > 64) return false;
  if (size != 0) std::memcpy(destination, slot, static_cast<std::size_t>(size));
  return true;
#endif
}

}  // namespace sharedmem::detail

#endif  // SHAREDMEM_SRC_COPY_HPP
