# SPDX-License-Identifier: MIT
# The ctest test python.pytest: installs the Python package, built from the
# libraries of this very build tree (SHAREDMEM_BUILD_DIR, see setup.py), into
# a fresh virtual environment of Debian's Python with its system site
# packages (pytest, numpy), offline, the way README.md says; checks that it
# imports from another directory; then runs its pytest suite.
#   -DPYTHON=<interpreter> -DSOURCE_DIR=<project> -DBUILD_DIR=<build tree>
#   -DLIBRARY=<the built libsharedmem> -DWORK_DIR=<scratch directory>
# With -DBENCH_OUT=<directory> it runs bench/python_bench.py into that
# directory instead of pytest (-DBENCH_SMOKE=ON: each measurement once).
cmake_minimum_required(VERSION 3.25)
foreach(variable PYTHON SOURCE_DIR BUILD_DIR LIBRARY WORK_DIR)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "run_tests.cmake: -D${variable}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${PYTHON}")
  message(FATAL_ERROR "run_tests.cmake: ${PYTHON} not found; run ./scripts/setup")
endif()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result WORKING_DIRECTORY ${WORK_DIR})
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "run_tests.cmake: ${what} failed (${result}): ${ARGN}")
  endif()
endfunction()

set(venv ${WORK_DIR}/venv)
file(REMOVE_RECURSE ${venv})
file(MAKE_DIRECTORY ${WORK_DIR})
run("creating the virtual environment" ${PYTHON} -m venv --system-site-packages ${venv})
set(venv_python ${venv}/bin/python)
run("pip install" ${CMAKE_COMMAND} -E env SHAREDMEM_BUILD_DIR=${BUILD_DIR} PIP_NO_CACHE_DIR=1
    ${venv_python} -m pip install --quiet --no-index --no-build-isolation ${SOURCE_DIR}/python)
# Imports from any directory: here from the file system's root.
execute_process(COMMAND ${venv_python} -c "import sharedmem; print(sharedmem.__file__)"
                WORKING_DIRECTORY / RESULT_VARIABLE result OUTPUT_VARIABLE where
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT result EQUAL 0 OR NOT where MATCHES "^${venv}/")
  message(FATAL_ERROR "run_tests.cmake: import sharedmem from / gave ${result} '${where}'")
endif()
message(STATUS "import sharedmem from /: ${where}")
if(DEFINED BENCH_OUT)
  set(smoke "")
  if(BENCH_SMOKE)
    set(smoke --smoke)
  endif()
  run("python_bench.py" ${venv_python} ${SOURCE_DIR}/bench/python_bench.py --out ${BENCH_OUT} ${smoke})
  return()
endif()
run("pytest" ${CMAKE_COMMAND} -E env SHAREDMEM_EXPECTED_LIBRARY=${LIBRARY}
    PYTHONDONTWRITEBYTECODE=1
    ${venv_python} -m pytest -p no:cacheprovider -v ${SOURCE_DIR}/python/tests)
