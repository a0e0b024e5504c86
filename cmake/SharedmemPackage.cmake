# Binary packages of the install tree (CPack): `cpack` in a build tree, or the
# package presets (release: .deb and .tar.gz; mingw-wine: .zip), written to
# the build directory. They hold what `cmake --install` installs: both shipped
# libraries, the headers, the CMake package and the pkg-config files.
set(CPACK_PACKAGE_NAME sharedmem)
set(CPACK_PACKAGE_VENDOR sharedmem)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "sharedmem <dev@sharedmem>")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR})
if(WIN32)
  set(CPACK_GENERATOR ZIP)
  set(CPACK_SYSTEM_NAME win64)
else()
  set(CPACK_GENERATOR DEB TGZ)
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
  # Depends: the C and C++ runtimes the libraries were linked against.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6, libstdc++6, libgcc-s1")
endif()
include(CPack)
