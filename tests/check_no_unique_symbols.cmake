# Fails when the library has an STB_GNU_UNIQUE symbol, which makes dlclose a no-op.
find_program(READELF readelf REQUIRED)
execute_process(COMMAND ${READELF} -Ws --dyn-syms ${LIBRARY} OUTPUT_VARIABLE symbols
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "readelf failed on ${LIBRARY}")
endif()
string(REGEX MATCHALL "[^\n]* UNIQUE [^\n]*" unique "${symbols}")
if(unique)
  string(REPLACE ";" "\n" unique "${unique}")
  message(FATAL_ERROR "STB_GNU_UNIQUE symbols in ${LIBRARY} keep it loaded after dlclose:\n${unique}")
endif()
message(STATUS "no UNIQUE symbols in ${LIBRARY}")
