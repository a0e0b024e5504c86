# SPDX-License-Identifier: MIT
# The ctest test python.sdist: the package's sdist builds outside the source
# tree. Makes the sdist from python/ (setup.py sdist, which adds the
# library's sources as library/), unpacks it into a fresh directory outside
# the tree, installs it from there into a fresh virtual environment of
# Debian's Python (pip runs CMake on the carried sources; no
# SHAREDMEM_BUILD_DIR), and uses the installed package.
#   -DPYTHON=<interpreter> -DSOURCE_DIR=<project> -DWORK_DIR=<scratch directory>
cmake_minimum_required(VERSION 3.25)
foreach(variable PYTHON SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "sdist_test.cmake: -D${variable}=... is required")
  endif()
endforeach()

function(run what directory)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result WORKING_DIRECTORY ${directory})
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "sdist_test.cmake: ${what} failed (${result}): ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/dist)
# setuptools' scratch files (egg-info) go to the work directory, not the tree.
run("setup.py sdist" ${SOURCE_DIR}/python ${CMAKE_COMMAND} -E env PYTHONDONTWRITEBYTECODE=1
    ${PYTHON} setup.py -q egg_info --egg-base ${WORK_DIR} sdist --dist-dir ${WORK_DIR}/dist)
file(GLOB archives ${WORK_DIR}/dist/*.tar.gz)
list(LENGTH archives count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "sdist_test.cmake: expected one sdist in ${WORK_DIR}/dist, found '${archives}'")
endif()
message(STATUS "sdist: ${archives}")

# Outside the source tree: a directory of its own under the system's
# temporary directory, removed at the end.
if(DEFINED ENV{TMPDIR})
  set(temporary $ENV{TMPDIR})
else()
  set(temporary /tmp)
endif()
string(RANDOM LENGTH 8 suffix)
set(outside ${temporary}/sharedmem-sdist-${suffix})
file(MAKE_DIRECTORY ${outside})
get_filename_component(archive_name ${archives} NAME)
file(COPY ${archives} DESTINATION ${outside})
file(ARCHIVE_EXTRACT INPUT ${outside}/${archive_name} DESTINATION ${outside}/unpacked)
file(GLOB unpacked LIST_DIRECTORIES true ${outside}/unpacked/*)
# Every file of the extensions' sources (src/: the C files setup.py lists
# and the headers they include), beside the library's sources.
file(GLOB extension_sources RELATIVE ${SOURCE_DIR}/python ${SOURCE_DIR}/python/src/*)
foreach(carried library/CMakeLists.txt library/include/sharedmem/sharedmem.h library/src
        ${extension_sources} README.md)
  if(NOT EXISTS ${unpacked}/${carried})
    message(FATAL_ERROR "sdist_test.cmake: the sdist lacks ${carried}")
  endif()
endforeach()

run("creating the virtual environment" ${outside} ${PYTHON} -m venv --system-site-packages
    ${outside}/venv)
run("pip install of the sdist" ${outside} ${CMAKE_COMMAND} -E env --unset=SHAREDMEM_BUILD_DIR
    PIP_NO_CACHE_DIR=1 ${outside}/venv/bin/python -m pip install --quiet --no-index
    --no-build-isolation ${outside}/${archive_name})
run("using the installed package" ${outside} ${outside}/venv/bin/python -c
    "import sharedmem, os, sys
assert sharedmem.__file__.startswith(sys.argv[1]), sharedmem.__file__
name = 'sdist_' + str(os.getpid())
with sharedmem.Segment(name, 64) as seg, sharedmem.RawSegment(name + 'r', 64) as raw:
    seg.write(b'from the sdist')
    raw.buf[0] = 1
    assert seg.read() == b'from the sdist' and raw.buf[0] == 1
import importlib.metadata
print('installed', importlib.metadata.version('sharedmem-ipc'), 'at', sharedmem.__file__)"
    ${outside}/venv)
file(REMOVE_RECURSE ${outside})
