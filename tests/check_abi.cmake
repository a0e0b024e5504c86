cmake_minimum_required(VERSION 3.25)
# Compares the ABI of LIBRARY (as built) with BASELINE (abidw's XML of the
# released ABI, abi/<library>.abi, written by scripts/update-abi-baseline)
# with libabigail's abidiff. The baseline holds the exported functions and the
# types they reach, with the opaque sharedmem_segment as a declaration only,
# so its definition in src/ may change freely.
#   the same ABI                      passes
#   only additions                    passes, saying to update the baseline
#                                     deliberately: new functions, and what
#                                     abidiff calls harmless (enumerators
#                                     appended to an enum)
#   anything removed or changed       fails with abidiff's report: a function,
#                                     a struct's layout (fields reordered,
#                                     resized, removed), the soname...
#   a library without debug info      prints "ABI check skipped", which ctest
#                                     reports as skipped (abidiff could only
#                                     compare symbol names, as the exports
#                                     check does already); so does a machine
#                                     without abidiff
find_program(ABIDIFF abidiff)
find_program(READELF readelf REQUIRED)
if(NOT ABIDIFF)
  message(STATUS "ABI check skipped: no abidiff (Debian package abigail-tools, which "
                 "scripts/setup installs)")
  return()
endif()

execute_process(COMMAND ${READELF} -S --wide ${LIBRARY} OUTPUT_VARIABLE sections
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "readelf failed on ${LIBRARY}")
endif()
if(NOT sections MATCHES "\\.debug_info")
  message(STATUS "ABI check skipped: ${LIBRARY} has no debug info (build it with -g, "
                 "as the linux-debug preset does)")
  return()
endif()

execute_process(COMMAND ${ABIDIFF} --no-corpus-path ${BASELINE} ${LIBRARY}
                OUTPUT_VARIABLE report ERROR_VARIABLE report RESULT_VARIABLE status)
# abidiff's status is a bit set: 1 error, 2 usage error, 4 an ABI change,
# 8 an incompatible ABI change.
if(NOT status MATCHES "^[0-9]+$" OR status GREATER 15)
  message(FATAL_ERROR "abidiff failed on ${BASELINE} and ${LIBRARY}:\n${report}")
endif()
math(EXPR failed "${status} & 11")  # error, usage error or incompatible change
# An addition shows only in the "Added" counts of the summaries and in what
# abidiff filters out as harmless; any other nonzero count, or a change of
# the soname or architecture, is a break.
string(REGEX MATCHALL "[1-9][0-9]* (Removed|Changed)" breaks "${report}")
if(failed OR breaks OR report MATCHES "SONAME changed|architecture changed")
  message(FATAL_ERROR "The ABI of ${LIBRARY} differs from the released one (${BASELINE}): "
                      "something was removed or changed, which breaks programs built "
                      "against it. Put it back; or, for a new ABI version (a new soname, "
                      "docs/ABI.md), update the baseline deliberately with "
                      "scripts/update-abi-baseline.\n${report}")
endif()
if(status EQUAL 0 AND NOT report MATCHES "[1-9][0-9]* filtered out")
  message(STATUS "ABI of ${LIBRARY} matches ${BASELINE}")
  return()
endif()
message(STATUS "ABI of ${LIBRARY} only adds to ${BASELINE} (compatible). Once the "
               "additions are meant to stay, record them deliberately with "
               "scripts/update-abi-baseline and commit abi/.\n${report}")
