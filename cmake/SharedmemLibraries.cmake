# The libraries. Each is defined by one function from one source list, and
# each function is called twice: once for what ships, once for the test
# variant with the kill points of platform/fault_injection.hpp compiled in.
#
#   sharedmem               named segments, the C API of sharedmem.h; does
#                           nothing at load or unload (shipped)
#   sharedmem_setget        SetSharedMem/GetSharedMem (setget.h) over the
#                           core's public C API; attaches its default segment
#                           at load (shipped)
#   sharedmem_fault         the core with SHAREDMEM_FAULT_INJECTION and the
#                           fault sources (tests only, never installed)
#   sharedmem_setget_fault  sharedmem_setget linked to sharedmem_fault (tests only)
#
# A variant shares its library's export header, version script, soname
# policy and options; only the sources and the definition differ.

if(WIN32)
  set(_sharedmem_os windows)
else()
  set(_sharedmem_os linux)
endif()

# The core's sources, shipped and test variant alike: edit only this list.
set(SHAREDMEM_CORE_SOURCES
  ${PROJECT_SOURCE_DIR}/src/api.cpp
  ${PROJECT_SOURCE_DIR}/src/errors.cpp
  ${PROJECT_SOURCE_DIR}/src/handle.cpp
  ${PROJECT_SOURCE_DIR}/src/inspect.cpp
  ${PROJECT_SOURCE_DIR}/src/open_close.cpp
  ${PROJECT_SOURCE_DIR}/src/raw_lock.cpp
  ${PROJECT_SOURCE_DIR}/src/reclaim.cpp
  ${PROJECT_SOURCE_DIR}/src/value.cpp
  ${PROJECT_SOURCE_DIR}/src/wait.cpp
  ${PROJECT_SOURCE_DIR}/platform/os_error.cpp
  ${PROJECT_SOURCE_DIR}/platform/writer_lock.cpp
  ${PROJECT_SOURCE_DIR}/platform/${_sharedmem_os}/inspect_${_sharedmem_os}.cpp
  ${PROJECT_SOURCE_DIR}/platform/${_sharedmem_os}/writer_lock_${_sharedmem_os}.cpp)
if(WIN32)
  list(APPEND SHAREDMEM_CORE_SOURCES ${PROJECT_SOURCE_DIR}/platform/windows/segment_windows.cpp)
else()
  # The Linux backend, one concern a file (shared internals in
  # attachment_linux.hpp).
  list(APPEND SHAREDMEM_CORE_SOURCES
       ${PROJECT_SOURCE_DIR}/platform/linux/attach_linux.cpp
       ${PROJECT_SOURCE_DIR}/platform/linux/gate_linux.cpp
       ${PROJECT_SOURCE_DIR}/platform/linux/fork_linux.cpp
       ${PROJECT_SOURCE_DIR}/platform/linux/sweep_linux.cpp
       ${PROJECT_SOURCE_DIR}/platform/linux/wait_linux.cpp
       ${PROJECT_SOURCE_DIR}/platform/linux/writer_linux.cpp
       ${PROJECT_SOURCE_DIR}/platform/linux/memory_linux.cpp
       ${PROJECT_SOURCE_DIR}/platform/linux/cgroup_linux.cpp
       ${PROJECT_SOURCE_DIR}/platform/linux/system_linux.cpp
       ${PROJECT_SOURCE_DIR}/platform/linux/access_linux.cpp)
endif()

# What the test variant of the core adds: the fault points' arming (from the
# environment) and, on Windows, how a process kills or stops itself (Linux
# has that in system_linux.cpp).
set(SHAREDMEM_FAULT_SOURCES
  ${PROJECT_SOURCE_DIR}/platform/fault_injection.cpp
  ${PROJECT_SOURCE_DIR}/platform/${_sharedmem_os}/environment_${_sharedmem_os}.cpp
  $<$<BOOL:${WIN32}>:${PROJECT_SOURCE_DIR}/platform/windows/terminate_windows.cpp>)

set(SHAREDMEM_SETGET_SOURCES
  ${PROJECT_SOURCE_DIR}/src/setget/setget.cpp
  ${PROJECT_SOURCE_DIR}/platform/${_sharedmem_os}/environment_${_sharedmem_os}.cpp
  ${PROJECT_SOURCE_DIR}/platform/${_sharedmem_os}/threads_lost_${_sharedmem_os}.cpp)

# What every library and variant shares. <base_name> is the shipped
# library's name: it names the export header and its macro
# (sharedmem/<base_name>_export.h, <BASE_NAME>_EXPORT) and the version script
# (cmake/<base_name>.map), and a variant defines <base_name>_EXPORTS as the
# shipped library does, so that the one header exports from both.
function(_sharedmem_finish_library target base_name)
  set_target_properties(${target} PROPERTIES
    DEFINE_SYMBOL ${base_name}_EXPORTS
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    VERSION ${PROJECT_VERSION}
    SOVERSION ${SHAREDMEM_ABI_VERSION})
  if(target STREQUAL base_name)
    generate_export_header(${target}
      BASE_NAME ${base_name}
      EXPORT_FILE_NAME ${PROJECT_BINARY_DIR}/include/sharedmem/${base_name}_export.h)
  endif()
  target_include_directories(${target}
    PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
      $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE
      ${PROJECT_SOURCE_DIR}/src
      ${PROJECT_SOURCE_DIR}/platform)
  target_compile_features(${target} PUBLIC cxx_std_17)
  # The backend's build-time facts (platform.hpp, Capabilities).
  target_compile_definitions(${target} PRIVATE
    "SHAREDMEM_PLATFORM_CAPABILITIES=\"${_sharedmem_os}/capabilities_${_sharedmem_os}.hpp\"")
  sharedmem_set_warnings(${target})

  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT WIN32)
    # A single STB_GNU_UNIQUE symbol (libstdc++ and Boost templates make them
    # easily) makes dlclose keep the library loaded, breaking the lifetime rule.
    target_compile_options(${target} PRIVATE -fno-gnu-unique)
  endif()
  if(UNIX AND NOT APPLE)
    # Exports exactly the functions the map lists, under a versioned node.
    set(map ${PROJECT_SOURCE_DIR}/cmake/${base_name}.map)
    target_link_options(${target} PRIVATE "LINKER:--version-script=${map}")
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${map})
  endif()
  if(WIN32)
    # sharedmem.dll with every toolchain (MinGW would say libsharedmem.dll); the
    # import library is sharedmem.lib (MSVC) or libsharedmem.dll.a (MinGW).
    # The export header's __declspec(dllexport) on the API is the export list.
    set_target_properties(${target} PROPERTIES PREFIX "")
  endif()
  if(MINGW)
    # No libgcc/libstdc++ DLLs to ship next to ours.
    target_link_options(${target} PRIVATE -static-libgcc -static-libstdc++ -static)
  endif()
endfunction()

# sharedmem_add_core_library(<target> [FAULT_INJECTION])
function(sharedmem_add_core_library target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "FAULT_INJECTION" "" "")
  add_library(${target} SHARED ${SHAREDMEM_CORE_SOURCES})
  if(arg_FAULT_INJECTION)
    target_sources(${target} PRIVATE ${SHAREDMEM_FAULT_SOURCES})
    target_compile_definitions(${target} PRIVATE SHAREDMEM_FAULT_INJECTION)
  endif()
  if(WIN32)
    # Windows 7 API level: what windows_shared_memory and the SDDL calls need.
    target_compile_definitions(${target} PRIVATE _WIN32_WINNT=0x0601 WIN32_LEAN_AND_MEAN NOMINMAX)
    target_link_libraries(${target} PRIVATE advapi32)
  else()
    target_link_libraries(${target} PRIVATE Threads::Threads)
  endif()
  target_link_libraries(${target} PRIVATE Boost::headers)
  _sharedmem_finish_library(${target} sharedmem)
endfunction()

# sharedmem_add_setget_library(<target> CORE <core target>)
function(sharedmem_add_setget_library target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "CORE" "")
  add_library(${target} SHARED ${SHAREDMEM_SETGET_SOURCES})
  # Public: setget.h includes sharedmem.h, and its users get sharedmem_strerror.
  target_link_libraries(${target} PUBLIC ${arg_CORE})
  _sharedmem_finish_library(${target} sharedmem_setget)
endfunction()
