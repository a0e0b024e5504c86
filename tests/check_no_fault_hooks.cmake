cmake_minimum_required(VERSION 3.25)
# Fails when a shipped library (LIBRARIES, a list) carries the test-only fault
# injection: the variable that arms it (SHAREDMEM_TEST_FAULT) or the function
# that kills at a point (fault_point). Only the *_fault test variants have them.
#
# With STRIP given, a stripped copy is scanned: what a library holds at run
# time, not the names of its debug information, where an unoptimised build
# still names the empty inline no-op that fault_injection.hpp puts in place of
# fault_point when injection is off.
foreach(library IN LISTS LIBRARIES)
  set(scanned ${library})
  if(STRIP)
    get_filename_component(name ${library} NAME)
    set(scanned ${CMAKE_CURRENT_BINARY_DIR}/no_fault_hooks/${name})
    file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/no_fault_hooks)
    execute_process(COMMAND ${STRIP} --strip-all -o ${scanned} ${library}
                    RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
      message(FATAL_ERROR "${STRIP} failed on ${library}")
    endif()
  endif()
  file(STRINGS ${scanned} found REGEX "SHAREDMEM_TEST_FAULT|fault_point")
  if(found)
    list(JOIN found "\n  " found)
    message(FATAL_ERROR "${library} has fault injection in it:\n  ${found}")
  endif()
  message(STATUS "no fault injection in ${library}")
endforeach()
