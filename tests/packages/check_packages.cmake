# SPDX-License-Identifier: MIT
# The ctest test sharedmem.packages: builds the Debian packages of this build
# tree (cpack -G DEB, into WORK_DIR), checks each one's fields (dpkg-deb -I)
# and file list (dpkg-deb -c), then unpacks libsharedmem1 and
# libsharedmem-dev into a scratch root (dpkg -x) and builds a C program there
# with pkg-config, and runs it.
#   -DBUILD_DIR=<build tree> -DWORK_DIR=<scratch> -DLIBDIR=<CMAKE_INSTALL_LIBDIR>
#   -DVERSION=<project version> -DCONSUMER=<tests/consumer/consumer.c>
#   -DC_COMPILER=<cc> -DC_FLAGS=<flags> -DTOOLS=ON|OFF
cmake_minimum_required(VERSION 3.25)
foreach(variable BUILD_DIR WORK_DIR LIBDIR VERSION CONSUMER C_COMPILER TOOLS)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "check_packages.cmake: -D${variable}=... is required")
  endif()
endforeach()
find_program(DPKG_DEB dpkg-deb REQUIRED)
find_program(DPKG dpkg REQUIRED)
find_program(PKG_CONFIG pkg-config REQUIRED)

set(problems "")
# A function, not a macro, so that a quoted file's ${...} stays as it is.
function(problem text)
  set(problems "${problems}\n  ${text}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${CMAKE_CPACK_COMMAND} --config ${BUILD_DIR}/CPackConfig.cmake
                        -G DEB -B ${WORK_DIR}/out
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "cpack -G DEB failed:\n${output}")
endif()

set(packages libsharedmem1 libsharedmem-dev)
if(TOOLS)
  list(APPEND packages sharedmem-tools)
endif()
file(GLOB debs ${WORK_DIR}/out/*.deb)
list(LENGTH debs count)
list(LENGTH packages expected_count)
if(NOT count EQUAL expected_count)
  problem("expected ${expected_count} packages (${packages}), cpack wrote: ${debs}")
endif()

# Per package: the files it must hold, and patterns no file of it may match.
set(lib ./usr/${LIBDIR})
set(must_libsharedmem1 ${lib}/libsharedmem.so.1 ${lib}/libsharedmem.so.${VERSION}
    ${lib}/libsharedmem_setget.so.1 ${lib}/libsharedmem_setget.so.${VERSION}
    ./usr/share/doc/libsharedmem1/copyright ./usr/share/doc/libsharedmem1/changelog.gz)
set(never_libsharedmem1 "/include/" "\\.so$" "/bin/" "pkgconfig" "/cmake/")
set(must_libsharedmem-dev ./usr/include/sharedmem/sharedmem.h ./usr/include/sharedmem/sharedmem.hpp
    ./usr/include/sharedmem/setget.h ./usr/include/sharedmem/sharedmem_export.h
    ${lib}/libsharedmem.so ${lib}/libsharedmem_setget.so
    ${lib}/pkgconfig/sharedmem.pc ${lib}/pkgconfig/sharedmem_setget.pc
    ${lib}/cmake/sharedmem/sharedmem-config.cmake
    ./usr/share/doc/libsharedmem-dev/copyright ./usr/share/doc/libsharedmem-dev/changelog.gz)
set(never_libsharedmem-dev "\\.so\\.[0-9]" "/bin/")
set(must_sharedmem-tools ./usr/bin/sharedmem
    ./usr/share/doc/sharedmem-tools/copyright ./usr/share/doc/sharedmem-tools/changelog.gz)
set(never_sharedmem-tools "/include/" "\\.so" "pkgconfig")
set(never_all "fault" "_test" "^\\./usr/lib/lib" "^\\./usr/local")

foreach(package IN LISTS packages)
  file(GLOB deb ${WORK_DIR}/out/${package}_*.deb)
  if(NOT deb)
    problem("no ${package}_*.deb")
    continue()
  endif()
  set(deb_${package} ${deb})
  execute_process(COMMAND ${DPKG_DEB} -c ${deb} OUTPUT_VARIABLE listing RESULT_VARIABLE status)
  execute_process(COMMAND ${DPKG_DEB} -I ${deb} OUTPUT_VARIABLE info)
  message(STATUS "${package}:\n${info}${listing}")
  # The paths: the last field of each line of the listing (symlinks: "a -> b").
  string(REGEX REPLACE "[^\n]* (\\./[^ \n]*)( -> [^\n]*)?" "\\1" paths "${listing}")
  string(REPLACE "\n" ";" paths "${paths}")
  foreach(path IN LISTS must_${package})
    if(NOT path IN_LIST paths)
      problem("${package} lacks ${path}")
    endif()
  endforeach()
  foreach(pattern IN LISTS never_${package} never_all)
    foreach(path IN LISTS paths)
      if(path MATCHES "${pattern}" AND NOT path MATCHES "/$")
        problem("${package} holds ${path} (matches '${pattern}')")
      endif()
    endforeach()
  endforeach()
  # Fields.
  if(NOT info MATCHES "\n Package: ${package}\n")
    problem("${package}: the Package field is not ${package}")
  endif()
  if(NOT info MATCHES "\n Version: ${VERSION}\n")
    problem("${package}: the Version field is not ${VERSION}")
  endif()
  if(NOT info MATCHES "\n Maintainer: [^<\n]+ <[^@>\n]+@[^>\n]+>\n")
    problem("${package}: no Maintainer of the form 'name <address>'")
  endif()
  if(info MATCHES "dev@sharedmem>")
    problem("${package}: the Maintainer is the old placeholder")
  endif()
endforeach()

# expect(<package> <option> <member> <regex> <what>): the output of
# `dpkg-deb <option> <the package's .deb> <member>` (-f: a control field,
# -I: a control file) matches <regex>.
function(expect package option member regex what)
  if(deb_${package})
    execute_process(COMMAND ${DPKG_DEB} ${option} ${deb_${package}} ${member}
                    OUTPUT_VARIABLE output ERROR_QUIET)
    if(NOT output MATCHES "${regex}")
      set(problems "${problems}\n  ${package}: ${what} (${member}: '${output}')" PARENT_SCOPE)
    endif()
  endif()
endfunction()
expect(libsharedmem1 -f Depends "libc6 \\(>= " "no versioned libc6 from dpkg-shlibdeps")
expect(libsharedmem1 -I triggers "activate-noawait ldconfig" "no ldconfig trigger")
expect(libsharedmem1 -I shlibs "libsharedmem 1 libsharedmem1" "no shlibs entry for libsharedmem 1")
expect(libsharedmem-dev -f Depends "libsharedmem1 \\(= ${VERSION}\\)"
       "does not depend on libsharedmem1 of its own version")
expect(sharedmem-tools -f Depends "libsharedmem1 \\(= ${VERSION}\\).*libstdc\\+\\+6"
       "does not depend on libsharedmem1 of its own version and the C++ runtime")

# The -dev package in a scratch root: its pkg-config file names /usr, with
# no relative paths, and a C program built from it runs.
set(root ${WORK_DIR}/root)
foreach(package libsharedmem1 libsharedmem-dev)
  if(deb_${package})
    execute_process(COMMAND ${DPKG} -x ${deb_${package}} ${root} RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
      problem("dpkg -x ${package} failed")
    endif()
  endif()
endforeach()
set(pc_dir ${root}/usr/${LIBDIR}/pkgconfig)
if(EXISTS ${pc_dir}/sharedmem.pc)
  file(READ ${pc_dir}/sharedmem.pc pc)
  if(NOT pc MATCHES "(^|\n)prefix=/usr\n" OR pc MATCHES "\\.\\." OR
     NOT pc MATCHES "\nincludedir=\\\${prefix}/include\n")
    problem("sharedmem.pc does not name prefix=/usr with includedir under it, without '..':\n${pc}")
  endif()
  set(ENV{PKG_CONFIG_LIBDIR} ${pc_dir})
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${root})
  unset(ENV{PKG_CONFIG_PATH})
  execute_process(COMMAND ${PKG_CONFIG} --cflags --libs sharedmem_setget
                  OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE status)
  message(STATUS "pkg-config --cflags --libs sharedmem_setget (sysroot ${root}): ${flags}")
  separate_arguments(flags UNIX_COMMAND "${flags}")
  separate_arguments(c_flags UNIX_COMMAND "${C_FLAGS}")
  execute_process(COMMAND ${C_COMPILER} ${c_flags} ${CONSUMER} -o ${WORK_DIR}/consumer ${flags}
                  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT status EQUAL 0)
    problem("building ${CONSUMER} with pkg-config from libsharedmem-dev failed:\n${output}")
  else()
    # Not a system prefix: the loader is told where the libraries are.
    execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${root}/usr/${LIBDIR}
                            ${WORK_DIR}/consumer
                    RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
    if(NOT status EQUAL 0)
      problem("the consumer built from libsharedmem-dev failed (${status}):\n${output}")
    endif()
  endif()
else()
  problem("libsharedmem-dev has no ${LIBDIR}/pkgconfig/sharedmem.pc")
endif()

if(problems)
  message(FATAL_ERROR "The Debian packages are not right:${problems}")
endif()
message(STATUS "The Debian packages hold what they should: ${packages}")
