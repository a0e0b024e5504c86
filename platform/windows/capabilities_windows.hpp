// SPDX-License-Identifier: MIT
// What Windows' objects can do (platform.hpp, Capabilities).
#ifndef SHAREDMEM_PLATFORM_WINDOWS_CAPABILITIES_WINDOWS_HPP
#define SHAREDMEM_PLATFORM_WINDOWS_CAPABILITIES_WINDOWS_HPP

namespace sharedmem::platform {

// Global\ is visible from every session; a kernel object and its name die
// with its last handle, even when every holder is killed, and not before;
// nothing tells how many handles an object has; every object has an
// integrity label.
inline constexpr Capabilities kCapabilities{/*global_scope=*/true, /*leftovers_persist=*/false,
                                            /*names_removable=*/false,
                                            /*countable_holders=*/false,
                                            /*integrity_labels=*/true};

}  // namespace sharedmem::platform

#endif  // SHAREDMEM_PLATFORM_WINDOWS_CAPABILITIES_WINDOWS_HPP
