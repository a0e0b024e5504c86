cmake_minimum_required(VERSION 3.25)
# Fails unless README.md's first screen names the demo command and the test
# command that CI runs, so that what the README promises is what CI checks. The test
# command is taken from .ci/run (its `test_command=` line), not repeated here.
file(STRINGS ${SOURCE_DIR}/.ci/run ci_lines REGEX "^test_command=")
if(NOT ci_lines MATCHES "^test_command='([^']+)'$")
  message(FATAL_ERROR ".ci/run has no line test_command='<command>'")
endif()
set(test_command "${CMAKE_MATCH_1}")
file(STRINGS ${SOURCE_DIR}/.ci/run ci_all)
if(NOT test_command IN_LIST ci_all)
  message(FATAL_ERROR ".ci/run names '${test_command}' but has no line that runs it")
endif()
set(demo_command "    ./scripts/setup && cmake --workflow --preset demo")
set(ci_command "    ${test_command}")

# The first screen: both commands, each on a line of its own (indented four
# spaces, a code block), within the first 25 lines.
file(STRINGS ${SOURCE_DIR}/README.md readme LIMIT_COUNT 25)
set(problems "")
if(NOT demo_command IN_LIST readme)
  string(APPEND problems "\n  no line '${demo_command}'")
endif()
if(NOT ci_command IN_LIST readme)
  string(APPEND problems "\n  no line '${ci_command}' (from .ci/run)")
endif()
if(problems)
  message(FATAL_ERROR "README.md's first 25 lines no longer name the demo and CI's test command:${problems}")
endif()
message(STATUS "README.md names the demo and CI's test command: ${test_command}")
