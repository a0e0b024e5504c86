# Install rules, the package config and the pkg-config files. What is
# installed (and packaged) is the shipped libraries only, never the
# fault-injection variants. One family of names:
# sharedmem-config.cmake, sharedmem-config-version.cmake, sharedmem-targets.cmake
# (targets sharedmem::sharedmem and sharedmem::setget), sharedmem.pc and
# sharedmem_setget.pc.
include(CMakePackageConfigHelpers)

set(SHAREDMEM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/sharedmem)
set(SHAREDMEM_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(TARGETS sharedmem sharedmem_setget EXPORT sharedmem-targets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(SHAREDMEM_BUILD_TOOLS)
  install(TARGETS sharedmem_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY include/sharedmem DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/sharedmem/sharedmem_export.h
              ${PROJECT_BINARY_DIR}/include/sharedmem/version.h
              ${PROJECT_BINARY_DIR}/include/sharedmem/sharedmem_setget_export.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sharedmem)
install(EXPORT sharedmem-targets NAMESPACE sharedmem:: DESTINATION ${SHAREDMEM_CMAKE_DIR})

configure_package_config_file(cmake/sharedmem-config.cmake.in
  ${PROJECT_BINARY_DIR}/sharedmem-config.cmake
  INSTALL_DESTINATION ${SHAREDMEM_CMAKE_DIR})
# From 1.0 on, a release of the same major version keeps the API and ABI
# (only additions), so find_package(sharedmem 1.0) accepts any 1.x at or
# above it. The ABI has its own version, the soname (docs/ABI.md).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sharedmem-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sharedmem-config.cmake
              ${PROJECT_BINARY_DIR}/sharedmem-config-version.cmake
  DESTINATION ${SHAREDMEM_CMAKE_DIR})

# pkg-config: the files locate the prefix from their own directory
# (${pcfiledir}), so they are right wherever the tree is installed or
# unpacked (cmake --install --prefix, the .deb's /usr, a .tar.gz anywhere).
file(RELATIVE_PATH SHAREDMEM_PC_TO_PREFIX
  ${CMAKE_INSTALL_PREFIX}/${SHAREDMEM_PKGCONFIG_DIR} ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" SHAREDMEM_PC_TO_PREFIX "${SHAREDMEM_PC_TO_PREFIX}")
foreach(pc sharedmem sharedmem_setget)
  configure_file(cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc DESTINATION ${SHAREDMEM_PKGCONFIG_DIR})
endforeach()

# The build tree is a package too.
export(EXPORT sharedmem-targets NAMESPACE sharedmem::
  FILE ${PROJECT_BINARY_DIR}/sharedmem-targets.cmake)
