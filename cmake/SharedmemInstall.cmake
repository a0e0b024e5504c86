# Install rules and the package config, one family of names:
# sharedmem-config.cmake, sharedmem-config-version.cmake, sharedmem-targets.cmake.
include(CMakePackageConfigHelpers)

set(SHAREDMEM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/sharedmem)

install(TARGETS sharedmem EXPORT sharedmem-targets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/sharedmem DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/sharedmem/sharedmem_export.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sharedmem)
install(EXPORT sharedmem-targets NAMESPACE sharedmem:: DESTINATION ${SHAREDMEM_CMAKE_DIR})

configure_package_config_file(cmake/sharedmem-config.cmake.in
  ${PROJECT_BINARY_DIR}/sharedmem-config.cmake
  INSTALL_DESTINATION ${SHAREDMEM_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/sharedmem-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/sharedmem-config.cmake
              ${PROJECT_BINARY_DIR}/sharedmem-config-version.cmake
  DESTINATION ${SHAREDMEM_CMAKE_DIR})

# The build tree is a package too, for consumers and the consumer tests.
export(EXPORT sharedmem-targets NAMESPACE sharedmem::
  FILE ${PROJECT_BINARY_DIR}/sharedmem-targets.cmake)
