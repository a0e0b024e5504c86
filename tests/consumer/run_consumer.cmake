# Installs the build tree to a scratch prefix, builds the consumers in
# tests/consumer against it (same compilers and flags, so sanitizer builds
# match) and runs them:
#   METHOD=find_package  with CMake and find_package(sharedmem)
#   METHOD=pkg_config    with the compilers and pkg-config --cflags --libs
#                        sharedmem_setget (C) and sharedmem (C++)
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
                RESULT_VARIABLE status OUTPUT_QUIET)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "install failed")
endif()

function(run program)
  execute_process(COMMAND ${program} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${program} failed")
  endif()
endfunction()

if(METHOD STREQUAL "find_package")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G Ninja
                          -DCMAKE_PREFIX_PATH=${prefix}
                          -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
                          "-DCMAKE_C_FLAGS=${C_FLAGS}" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
                          -DCMAKE_BUILD_RPATH=${prefix}/${LIBDIR}
                  RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "configuring the consumer with find_package(sharedmem) failed")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "building the consumer failed")
  endif()
  run(${WORK_DIR}/build/consumer_c)
  run(${WORK_DIR}/build/consumer_cpp)
elseif(METHOD STREQUAL "pkg_config")
  find_program(PKG_CONFIG pkg-config REQUIRED)
  # The installed .pc files only: none of the machine's.
  file(GLOB_RECURSE pc_files ${prefix}/*/sharedmem.pc)
  if(NOT pc_files)
    message(FATAL_ERROR "sharedmem.pc was not installed under ${prefix}")
  endif()
  list(GET pc_files 0 pc_file)
  get_filename_component(pc_dir ${pc_file} DIRECTORY)
  set(ENV{PKG_CONFIG_LIBDIR} ${pc_dir})
  unset(ENV{PKG_CONFIG_PATH})
  file(MAKE_DIRECTORY ${WORK_DIR}/build)
  foreach(spec "consumer_c;consumer.c;sharedmem_setget;C"
               "consumer_cpp;consumer.cpp;sharedmem;CXX")
    list(GET spec 0 program)
    list(GET spec 1 source)
    list(GET spec 2 package)
    list(GET spec 3 language)
    execute_process(COMMAND ${PKG_CONFIG} --cflags --libs ${package}
                    OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
      message(FATAL_ERROR "pkg-config --cflags --libs ${package} failed")
    endif()
    message(STATUS "pkg-config --cflags --libs ${package}: ${flags}")
    # The libraries' directory, from pkg-config, for the run-time search path.
    execute_process(COMMAND ${PKG_CONFIG} --variable=libdir ${package}
                    OUTPUT_VARIABLE libdir OUTPUT_STRIP_TRAILING_WHITESPACE)
    separate_arguments(flags UNIX_COMMAND "${flags}")
    separate_arguments(language_flags UNIX_COMMAND "${${language}_FLAGS}")
    if(language STREQUAL "CXX")
      list(PREPEND language_flags -std=c++17)
    endif()
    execute_process(COMMAND ${${language}_COMPILER} ${language_flags}
                            ${SOURCE_DIR}/${source} -o ${WORK_DIR}/build/${program}
                            ${flags} -Wl,-rpath,${libdir}
                    RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
      message(FATAL_ERROR "building ${program} with pkg-config ${package} failed")
    endif()
    run(${WORK_DIR}/build/${program})
  endforeach()
else()
  message(FATAL_ERROR "METHOD must be find_package or pkg_config")
endif()
