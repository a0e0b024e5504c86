# Runs PROGRAM with the comma-separated ARGUMENTS and writes its standard output to
# OUTPUT, failing the build if the program fails: how the man page and the
# completion scripts are generated from the command itself.
string(REPLACE "," ";" ARGUMENTS "${ARGUMENTS}")
execute_process(COMMAND ${PROGRAM} ${ARGUMENTS} OUTPUT_FILE ${OUTPUT}.new
                RESULT_VARIABLE result ERROR_VARIABLE error)
if(NOT result EQUAL 0)
  file(REMOVE ${OUTPUT}.new)
  message(FATAL_ERROR "${PROGRAM} ${ARGUMENTS} failed (${result}): ${error}")
endif()
file(RENAME ${OUTPUT}.new ${OUTPUT})
