# Binary packages of the install tree (CPack): `cpack` in a build tree, or the
# package presets (release: three .debs and a .tar.gz; mingw-wine: .zip),
# written to the build directory. They hold what `cmake --install` installs,
# nothing built for testing. On Linux, one Debian package per install
# component (cmake/SharedmemInstall.cmake):
#   libsharedmem1      runtime: the shared libraries (soname ABI version 1)
#   libsharedmem-dev   dev: headers, .so links, CMake package, pkg-config
#   sharedmem-tools    tools: the sharedmem command, its man page and
#                      completions (whatever tools/ installs)
# each with /usr/share/doc/<package>/copyright and changelog.gz.
set(SHAREDMEM_PACKAGE_MAINTAINER
    "sharedmem maintainers <maintainers@users.noreply.r-seed-44cf5be5.example>"
    CACHE STRING "The Maintainer field of the .deb packages (name <address>)")

set(CPACK_PACKAGE_NAME sharedmem)
set(CPACK_PACKAGE_VENDOR sharedmem)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "${SHAREDMEM_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR})
if(WIN32)
  set(CPACK_GENERATOR ZIP)
  set(CPACK_SYSTEM_NAME win64)
else()
  set(CPACK_GENERATOR DEB TGZ)
  # Installed as into /usr (DESTDIR), so that the pkg-config files name the
  # prefix the packages install to.
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  set(CPACK_INSTALL_PREFIX /usr)
  set(CPACK_SET_DESTDIR ON)
  set(CPACK_DEB_COMPONENT_INSTALL ON)
  set(CPACK_COMPONENTS_ALL runtime dev)
  if(SHAREDMEM_BUILD_TOOLS)
    list(APPEND CPACK_COMPONENTS_ALL tools)
  endif()
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SHAREDMEM_PACKAGE_MAINTAINER}")
  set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
  # Depends from the binaries themselves (dpkg-shlibdeps), and a shlibs file
  # for the libraries.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # The command's libsharedmem.so.1 is in another package: dpkg-shlibdeps
  # reads it from the build tree.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR})
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY "=")

  set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libsharedmem${SHAREDMEM_ABI_VERSION})
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
  set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
      "The libraries libsharedmem and libsharedmem_setget: named segments that live while a process holds them, values replaced atomically, raw buffers with a robust lock.")
  # The loader's cache is refreshed after the libraries are unpacked (CPack's
  # shlibs support adds postinst/postrm calls to ldconfig as well).
  set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/debian/triggers)

  set(CPACK_DEBIAN_DEV_PACKAGE_NAME libsharedmem-dev)
  set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
  set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
      "libsharedmem${SHAREDMEM_ABI_VERSION} (= ${PROJECT_VERSION})")
  set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)
  set(CPACK_DEBIAN_DEV_DESCRIPTION
      "Development files: the C and C++ headers, the CMake package (find_package(sharedmem)) and the pkg-config files of libsharedmem and libsharedmem_setget.")

  set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME sharedmem-tools)
  set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)
  # The command links libsharedmem1 of this very version (found in another
  # component's tree, which dpkg-shlibdeps cannot see).
  set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS
      "libsharedmem${SHAREDMEM_ABI_VERSION} (= ${PROJECT_VERSION})")
  set(CPACK_DEBIAN_TOOLS_DESCRIPTION
      "The sharedmem command: lists, inspects, reads, writes, watches and holds named segments from a shell.")

  # /usr/share/doc/<package>/copyright and changelog.gz for each package.
  string(TIMESTAMP SHAREDMEM_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)  # SOURCE_DATE_EPOCH wins
  set(doc_dir ${PROJECT_BINARY_DIR}/debian-doc)
  configure_file(cmake/debian/copyright.in ${doc_dir}/copyright @ONLY)
  if(EXISTS ${PROJECT_SOURCE_DIR}/CHANGELOG.md)
    configure_file(${PROJECT_SOURCE_DIR}/CHANGELOG.md ${doc_dir}/changelog COPYONLY)
  else()
    configure_file(cmake/debian/changelog.in ${doc_dir}/changelog @ONLY)
  endif()
  find_program(SHAREDMEM_GZIP gzip REQUIRED)
  execute_process(COMMAND ${SHAREDMEM_GZIP} -9nf ${doc_dir}/changelog RESULT_VARIABLE gzip_status)
  if(NOT gzip_status EQUAL 0)
    message(FATAL_ERROR "gzip ${doc_dir}/changelog failed")
  endif()
  foreach(component IN LISTS CPACK_COMPONENTS_ALL)
    string(TOUPPER ${component} upper)
    set(package ${CPACK_DEBIAN_${upper}_PACKAGE_NAME})
    install(FILES ${doc_dir}/copyright ${doc_dir}/changelog.gz
      DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component})
  endforeach()
endif()
include(CPack)
