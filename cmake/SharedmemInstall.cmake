# Install rules, the package config and the pkg-config files. What is
# installed (and packaged) is the shipped libraries only, never the
# fault-injection variants. One family of names:
# sharedmem-config.cmake, sharedmem-config-version.cmake, sharedmem-targets.cmake
# (targets sharedmem::sharedmem and sharedmem::setget), sharedmem.pc and
# sharedmem_setget.pc. Three install components, one per binary package
# (cmake/SharedmemPackage.cmake): runtime (the shared libraries), dev
# (headers, link-time files, CMake and pkg-config files) and tools (the
# command; install rules in tools/ without a COMPONENT land there too).
include(CMakePackageConfigHelpers)

set(SHAREDMEM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/sharedmem)
set(SHAREDMEM_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(TARGETS sharedmem sharedmem_setget EXPORT sharedmem-targets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(SHAREDMEM_BUILD_TOOLS)
  install(TARGETS sharedmem_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)
endif()
install(DIRECTORY include/sharedmem DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(FILES ${PROJECT_BINARY_DIR}/include/sharedmem/sharedmem_export.h
              ${PROJECT_BINARY_DIR}/include/sharedmem/sharedmem_setget_export.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sharedmem COMPONENT dev)
install(EXPORT sharedmem-targets NAMESPACE sharedmem:: DESTINATION ${SHAREDMEM_CMAKE_DIR}
  COMPONENT dev)

configure_package_config_file(cmake/sharedmem-config.cmake.in
  ${PROJECT_BINARY_DIR}/sharedmem-config.cmake
  INSTALL_DESTINATION ${SHAREDMEM_CMAKE_DIR})
# While the major version is 0 a minor release may change the API (0.2 split
# the seed API into sharedmem::setget), so only the same minor version is
# compatible. The ABI has its own version, the soname (docs/ABI.md).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sharedmem-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sharedmem-config.cmake
              ${PROJECT_BINARY_DIR}/sharedmem-config-version.cmake
  DESTINATION ${SHAREDMEM_CMAKE_DIR} COMPONENT dev)

# pkg-config: the files name the prefix they are installed to, decided when
# they are installed (`cmake --install --prefix P` writes prefix=P, the
# packages /usr), with libdir and includedir below it. Each destination has
# its own intermediate file, so that installs running at once never mix.
# The Windows .zip unpacks anywhere, so its files find the prefix from
# their own directory instead (${pcfiledir}).
if(WIN32)
  file(RELATIVE_PATH pc_to_prefix
    ${CMAKE_INSTALL_PREFIX}/${SHAREDMEM_PKGCONFIG_DIR} ${CMAKE_INSTALL_PREFIX})
  string(REGEX REPLACE "/$" "" pc_to_prefix "${pc_to_prefix}")
  set(SHAREDMEM_PC_PREFIX "\${pcfiledir}/${pc_to_prefix}")
else()
  set(SHAREDMEM_PC_PREFIX "@SHAREDMEM_PC_PREFIX@")  # left for install time
endif()
foreach(pc sharedmem sharedmem_setget)
  configure_file(cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc.in @ONLY)
  install(CODE "
    set(SHAREDMEM_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    string(MD5 destination \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
    set(pc_file \"${PROJECT_BINARY_DIR}/pkgconfig/install/\${destination}/${pc}.pc\")
    configure_file(\"${PROJECT_BINARY_DIR}/pkgconfig/${pc}.pc.in\" \"\${pc_file}\" @ONLY)
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${SHAREDMEM_PKGCONFIG_DIR}\" TYPE FILE
         FILES \"\${pc_file}\")"
    COMPONENT dev)
endforeach()

# The build tree is a package too.
export(EXPORT sharedmem-targets NAMESPACE sharedmem::
  FILE ${PROJECT_BINARY_DIR}/sharedmem-targets.cmake)
