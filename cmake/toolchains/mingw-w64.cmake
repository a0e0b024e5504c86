# SPDX-License-Identifier: MIT
# Cross build for 64-bit Windows with MinGW-w64 (Debian: g++-mingw-w64-x86-64),
# running programs and tests under Wine (Debian: wine64) through
# CMAKE_CROSSCOMPILING_EMULATOR, so ctest runs the suite unchanged.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

# The -posix variants: std::thread and std::mutex need the winpthreads model.
set(MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${MINGW_TRIPLE}-windres)

# Search the target's sysroot for headers and libraries, the host for programs.
set(CMAKE_FIND_ROOT_PATH /usr/${MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Everything links libgcc, libstdc++ and winpthreads statically: the programs
# need no MinGW runtime DLLs, only sharedmem's own.
foreach(kind EXE SHARED MODULE)
  set(CMAKE_${kind}_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++ -static")
endforeach()

# Boost is header-only here (Interprocess, and Boost.Test's included
# variant). The host's headers are reached through a staging directory that
# holds only a link to /usr/include/boost, so the cross compiler never sees
# the rest of the host's /usr/include. FindBoost, not Debian's BoostConfig,
# which would add /usr/include itself.
set(SHAREDMEM_HOST_BOOST_INCLUDE /usr/include/boost CACHE PATH
    "The host's Boost headers, used by the MinGW cross build")
set(_sharedmem_boost_stage ${CMAKE_BINARY_DIR}/boost-include)
if(NOT EXISTS ${_sharedmem_boost_stage}/boost)
  file(MAKE_DIRECTORY ${_sharedmem_boost_stage})
  file(CREATE_LINK ${SHAREDMEM_HOST_BOOST_INCLUDE} ${_sharedmem_boost_stage}/boost SYMBOLIC)
endif()
set(Boost_NO_BOOST_CMAKE ON)
set(Boost_NO_SYSTEM_PATHS ON)
set(Boost_INCLUDE_DIR ${_sharedmem_boost_stage} CACHE PATH "Boost headers (staged)")

# CLI11 (the sharedmem command) is header-only too: the host's headers,
# staged the same way.
set(SHAREDMEM_HOST_CLI11_INCLUDE /usr/include/CLI CACHE PATH
    "The host's CLI11 headers, used by the MinGW cross build")
set(_sharedmem_cli11_stage ${CMAKE_BINARY_DIR}/cli11-include)
if(NOT EXISTS ${_sharedmem_cli11_stage}/CLI)
  file(MAKE_DIRECTORY ${_sharedmem_cli11_stage})
  file(CREATE_LINK ${SHAREDMEM_HOST_CLI11_INCLUDE} ${_sharedmem_cli11_stage}/CLI SYMBOLIC)
endif()
set(SHAREDMEM_CLI11_INCLUDE_DIR ${_sharedmem_cli11_stage} CACHE PATH "CLI11 headers (staged)")

# Programs run under Wine, with a private prefix in the build tree.
set(CMAKE_CROSSCOMPILING_EMULATOR
    ${CMAKE_CURRENT_LIST_DIR}/wine-run.sh ${CMAKE_BINARY_DIR}/wineprefix)
