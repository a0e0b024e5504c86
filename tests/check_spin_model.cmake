# SPDX-License-Identifier: MIT
# Checks the writer lock's Promela model (platform/linux/writer_lock.pml)
# exhaustively with SPIN: generates the verifier with -D<CHECK> (and
# -D<BREAK> for a variant with one protocol step removed), compiles it and
# runs it. EXPECT "pass": no error may be found; EXPECT "fail": the broken
# variant must be caught. Without spin (Debian: spin) it says "skipped: ...",
# which the test's SKIP_REGULAR_EXPRESSION reports as skipped.
#   cmake -DSPIN=... -DCC=... -DMODEL=... -DCHECK=... [-DBREAK=...] -DEXPECT=pass|fail
#         -DWORK=<dir> -P check_spin_model.cmake
if(NOT SPIN OR NOT EXISTS "${SPIN}")
  message(FATAL_ERROR "skipped: spin is not installed (apt-get install spin)")
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
file(COPY "${MODEL}" DESTINATION "${WORK}")
get_filename_component(model_name "${MODEL}" NAME)
set(defines -D${CHECK})
if(BREAK)
  list(APPEND defines -D${BREAK})
endif()
execute_process(COMMAND "${SPIN}" ${defines} -a ${model_name} WORKING_DIRECTORY "${WORK}"
                RESULT_VARIABLE generated OUTPUT_VARIABLE spin_output ERROR_VARIABLE spin_output)
if(NOT generated EQUAL 0)
  message(FATAL_ERROR "spin -a failed:\n${spin_output}")
endif()
# Safety properties (assertions, invalid end states); COLLAPSE compresses
# states losslessly, so the search stays exhaustive.
execute_process(COMMAND "${CC}" -O2 -DSAFETY -DCOLLAPSE -o pan pan.c WORKING_DIRECTORY "${WORK}"
                RESULT_VARIABLE compiled ERROR_VARIABLE compile_output)
if(NOT compiled EQUAL 0)
  message(FATAL_ERROR "compiling the verifier failed:\n${compile_output}")
endif()
execute_process(COMMAND ./pan -m100000 WORKING_DIRECTORY "${WORK}"
                OUTPUT_VARIABLE verdict ERROR_VARIABLE verdict)
string(REGEX MATCH "errors: [0-9]+" errors "${verdict}")
string(REGEX MATCH "[0-9]+ states, stored" states "${verdict}")
message("${CHECK} ${BREAK}: ${errors}, ${states}")
if(verdict MATCHES "search depth too small" OR verdict MATCHES "max search depth too small")
  message(FATAL_ERROR "the search was cut short:\n${verdict}")
endif()
if(EXPECT STREQUAL "pass" AND NOT errors STREQUAL "errors: 0")
  message(FATAL_ERROR "the model has a counterexample:\n${verdict}")
elseif(EXPECT STREQUAL "fail")
  if(errors STREQUAL "errors: 0" OR errors STREQUAL "")
    message(FATAL_ERROR "the broken variant ${BREAK} was not caught:\n${verdict}")
  endif()
  string(REGEX MATCH "pan:1: [^\n]*" first_error "${verdict}")
  message("caught as expected: ${first_error}")
endif()
