cmake_minimum_required(VERSION 3.25)
# Fails unless README carries, between its lines "<!-- errors:begin -->" and
# "<!-- errors:end -->", exactly the table that PROGRAM (error_table.c) prints
# from the library. With -DUPDATE=ON it writes that table into README instead.
execute_process(COMMAND ${PROGRAM} OUTPUT_VARIABLE table RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} failed")
endif()
file(READ ${README} text)
set(begin "<!-- errors:begin -->\n")
set(end "<!-- errors:end -->")
string(FIND "${text}" "${begin}" first)
string(FIND "${text}" "${end}" last)
if(first EQUAL -1 OR last EQUAL -1 OR last LESS first)
  message(FATAL_ERROR "${README} has no '<!-- errors:begin -->' ... '<!-- errors:end -->' "
                      "block for the error table")
endif()
string(LENGTH "${begin}" begin_length)
math(EXPR start "${first} + ${begin_length}")
math(EXPR length "${last} - ${start}")
string(SUBSTRING "${text}" ${start} ${length} carried)
if(carried STREQUAL table)
  message(STATUS "README's error table is the library's")
  return()
endif()
if(UPDATE)
  string(SUBSTRING "${text}" 0 ${start} before)
  string(SUBSTRING "${text}" ${last} -1 after)
  file(WRITE ${README} "${before}${table}${after}")
  message(STATUS "README's error table rewritten from the library")
  return()
endif()
message(FATAL_ERROR "README's error table differs from the library's. The library's "
                    "(sharedmem_error_name, sharedmem_strerror):\n${table}\nREADME has:\n"
                    "${carried}\nRewrite it with: cmake -DPROGRAM=${PROGRAM} -DREADME=${README} "
                    "-DUPDATE=ON -P ${CMAKE_CURRENT_LIST_FILE}")
