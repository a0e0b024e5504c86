// SPDX-License-Identifier: MIT
// What Linux's objects can do (platform.hpp, Capabilities).
#ifndef SHAREDMEM_PLATFORM_LINUX_CAPABILITIES_LINUX_HPP
#define SHAREDMEM_PLATFORM_LINUX_CAPABILITIES_LINUX_HPP

namespace sharedmem::platform {

// /dev/shm has no sessions to be global across; its files stay when every
// user is killed, until a sweep removes them, any of them may be unlinked
// while held, /proc/locks shows who holds them, and no file has an
// integrity label.
inline constexpr Capabilities kCapabilities{/*global_scope=*/false, /*leftovers_persist=*/true,
                                            /*names_removable=*/true,
                                            /*countable_holders=*/true,
                                            /*integrity_labels=*/false};

}  // namespace sharedmem::platform

#endif  // SHAREDMEM_PLATFORM_LINUX_CAPABILITIES_LINUX_HPP
