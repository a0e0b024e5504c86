# SPDX-License-Identifier: MIT
# Included by ctest (TEST_INCLUDE_FILES) with `executable`, `emulator` and
# `default_segment` set: adds one test sharedmem.case.<name> per case of the
# test executable that carries the label "conditional" (support/
# conditions.hpp). Each runs that case alone; when its condition does not
# hold, Boost.Test skips it with the reason, and ctest reports it SKIPPED.
execute_process(COMMAND ${emulator} "${executable}" --list_content=DOT
                OUTPUT_VARIABLE listing_out ERROR_VARIABLE listing RESULT_VARIABLE status)
string(APPEND listing "${listing_out}")
if(NOT status EQUAL 0)
  add_test(sharedmem.conditional_cases "${CMAKE_COMMAND}" -E echo
           "cannot list the cases of ${executable}: exit ${status}")
  set_tests_properties(sharedmem.conditional_cases PROPERTIES WILL_FAIL TRUE)
  return()
endif()
# A case's node in Boost.Test's DOT listing: label="<name>|<file>(<line>)|labels: @a @b"
string(REGEX MATCHALL "label=\"[A-Za-z0-9_]+\\|[^\"]*labels:[^\"]*@conditional[^\"]*\"" nodes
       "${listing}")
foreach(node IN LISTS nodes)
  string(REGEX REPLACE "^label=\"([A-Za-z0-9_]+)\\|.*$" "\\1" case "${node}")
  add_test(sharedmem.case.${case} ${emulator} "${executable}" "--run_test=*/${case}"
           --log_level=test_suite)
  set_tests_properties(sharedmem.case.${case} PROPERTIES
    ENVIRONMENT "SHAREDMEM_DEFAULT_SEGMENT=${default_segment}_${case}"
    SKIP_REGULAR_EXPRESSION "is skipped because precondition failed"
    TIMEOUT 300)
endforeach()
