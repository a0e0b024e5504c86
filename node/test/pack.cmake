# The ctest test node.pack: `npm pack` of node/ (its prepack, scripts/build.js,
# takes the addons from this build tree), then, in an empty directory, an
# offline `npm install` of the tarball with an empty npm cache, a require of
# the package from there, and its producer/consumer examples.
#   -DNODE=<node> -DNPM=<npm> -DSOURCE_DIR=<node/> -DBUILD_DIR=<build tree> -DWORK_DIR=<scratch>
cmake_minimum_required(VERSION 3.25)
foreach(variable NODE NPM SOURCE_DIR BUILD_DIR WORK_DIR)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "pack.cmake: -D${variable}=... is required")
  endif()
endforeach()

function(run what directory)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${directory} RESULT_VARIABLE result
                  OUTPUT_VARIABLE output ERROR_VARIABLE output)
  message(STATUS "${what}:\n${output}")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "pack.cmake: ${what} failed (${result}): ${ARGN}")
  endif()
  set(output "${output}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(source ${WORK_DIR}/source)
set(app ${WORK_DIR}/app)
file(MAKE_DIRECTORY ${source} ${app} ${WORK_DIR}/tarballs)
# The package's own files, as a fresh clone has them (no node_modules, no lib/).
file(COPY ${SOURCE_DIR}/package.json ${SOURCE_DIR}/package-lock.json ${SOURCE_DIR}/index.js
          ${SOURCE_DIR}/index.d.ts ${SOURCE_DIR}/README.md ${SOURCE_DIR}/examples ${SOURCE_DIR}/scripts
     DESTINATION ${source})
set(npm ${CMAKE_COMMAND} -E env npm_config_cache=${WORK_DIR}/npm-cache npm_config_update_notifier=false
    npm_config_fund=false npm_config_audit=false ${NPM})
run("npm pack" ${source} ${CMAKE_COMMAND} -E env SHAREDMEM_BUILD_DIR=${BUILD_DIR}
    ${npm} pack --pack-destination ${WORK_DIR}/tarballs)
file(GLOB tarballs ${WORK_DIR}/tarballs/sharedmem-*.tgz)
list(LENGTH tarballs count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "pack.cmake: npm pack made ${count} tarballs: ${tarballs}")
endif()
execute_process(COMMAND tar tzf ${tarballs} OUTPUT_VARIABLE listing)
foreach(file package/index.js package/index.d.ts package/README.md package/examples/consumer.js
             package/lib/linux-x64/sharedmem.node package/lib/linux-x64/sharedmem_setget.node
             package/lib/linux-x64/libsharedmem.so.1 package/lib/linux-x64/libsharedmem_setget.so.1)
  if(NOT listing MATCHES "(^|\n)${file}\n")
    message(FATAL_ERROR "pack.cmake: the tarball has no ${file}:\n${listing}")
  endif()
endforeach()

# Offline, with a cache that has never seen the registry.
file(WRITE ${app}/package.json "{ \"name\": \"app\", \"version\": \"1.0.0\", \"private\": true }\n")
run("npm install --offline" ${app} ${npm} install --offline --no-package-lock ${tarballs})
# (No semicolon in the script: CMake would split the argument there.)
run("require" ${app} ${NODE} -e "console.log(require.resolve('sharedmem'), require('sharedmem').backend)")
if(NOT output MATCHES "^${app}/node_modules/sharedmem/index.js posix")
  message(FATAL_ERROR "pack.cmake: require('sharedmem') loaded ${output}")
endif()
file(COPY ${app}/node_modules/sharedmem/examples/producer.js ${app}/node_modules/sharedmem/examples/consumer.js
     DESTINATION ${app})
string(RANDOM LENGTH 8 suffix)
run("the examples" ${app} ${NODE} ${SOURCE_DIR}/test/run_examples.js ${app} node_pack_${suffix})
