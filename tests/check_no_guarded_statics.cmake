# Fails when the library has a function-local static with a guarded
# initialisation on first use ("guard variable for ..."). A signal handler
# that interrupts that first use in the same thread re-enters the guard, and
# the C++ runtime then aborts (recursive_init_error) or waits forever: the
# paths a handler may take (read, write, wait, Set/Get) must never run one,
# and the library keeps none at all, so that no new one can slip into them.
# Whatever must be computed once is computed at load or open time. (On
# Windows the same holds for an APC that runs inside a call.)
#   cmake -DLIBRARY=<file> -DNM=<nm> -P check_no_guarded_statics.cmake
execute_process(COMMAND ${NM} -C ${LIBRARY} OUTPUT_VARIABLE symbols RESULT_VARIABLE status
                ERROR_VARIABLE errors)
if(NOT status EQUAL 0 OR symbols STREQUAL "")
  message(FATAL_ERROR "cannot read the symbols of ${LIBRARY} (stripped?): ${errors}")
endif()
# A function-local static is named after its function ("f(int)::x"); the
# guards of class templates' static data members (Boost's, in the Windows
# build) have no such scope and run when the library is loaded.
string(REGEX MATCHALL "guard variable for [^\n]*\\)::[^\n]*" guarded "${symbols}")
if(guarded)
  list(REMOVE_DUPLICATES guarded)
  string(REPLACE ";" "\n  " guarded "${guarded}")
  message(FATAL_ERROR "function-local statics initialised on first use in ${LIBRARY} "
                      "(compute them at load or open time instead):\n  ${guarded}")
endif()
message(STATUS "no guarded statics in ${LIBRARY}")
