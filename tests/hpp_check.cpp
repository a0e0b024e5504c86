// SPDX-License-Identifier: MIT
// Compiled twice into one program linked to the C library alone
// (tests/CMakeLists.txt, sharedmem_hpp_check): the C++ layer stays
// header-only. A definition that is not inline breaks the link (defined
// twice); a call to anything but the C ABI breaks it too (undefined).
#include "sharedmem/sharedmem.hpp"

#ifndef SHAREDMEM_HPP_CHECK_UNIT
#error "define SHAREDMEM_HPP_CHECK_UNIT (a or b)"
#endif
#define SHAREDMEM_HPP_CHECK_CAT2(a, b) a##b
#define SHAREDMEM_HPP_CHECK_CAT(a, b) SHAREDMEM_HPP_CHECK_CAT2(a, b)

// Uses the layer's opens, the read-only option and sharedmem::access. The
// name is invalid, so nothing is opened. Returns how many opens failed.
int SHAREDMEM_HPP_CHECK_CAT(use_layer_, SHAREDMEM_HPP_CHECK_UNIT)() {
  std::error_code ec;
  sharedmem::access who;
  who.read_write = {"uid:0"};
  int failed = 0;
  failed += !sharedmem::segment::open("", 0, ec, sharedmem::read_only);
  failed += !sharedmem::raw_segment::open("", 0, ec, sharedmem::read_only);
  failed += !sharedmem::segment::open_shared("", 64, who, ec, sharedmem::mode::open_only);
  failed += !sharedmem::raw_segment::open_shared("", 64, who, ec);
  failed += !sharedmem::segment::open("", 64, ec);
  try {
    (void)sharedmem::segment::open_shared("", 64, who, sharedmem::read_only);
  } catch (const sharedmem::error&) {
    ++failed;
  }
  return failed + (who.to_native().get().read_write[1] == nullptr ? 0 : 100);
}

#if defined(SHAREDMEM_HPP_CHECK_MAIN)
int use_layer_a();
int main() { return use_layer_a() + use_layer_b() == 12 ? 0 : 1; }
#endif
