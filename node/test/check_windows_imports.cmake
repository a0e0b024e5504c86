# The ctest test node.windows_imports (MinGW cross build): each addon loads
# with what the package bundles and what node.exe and Windows provide: it
# imports Node-API from node.exe, the library from its DLL beside it, and
# otherwise only system DLLs (the C++ runtime is linked in).
#   -DADDON=<the .node> -DLIBRARY=<the DLL it must import> -DOBJDUMP=<objdump>
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${OBJDUMP} -p ${ADDON} OUTPUT_VARIABLE dump RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "check_windows_imports: ${OBJDUMP} -p ${ADDON} failed (${result})")
endif()
string(REGEX MATCHALL "DLL Name: [^\n]+" names "${dump}")
string(REPLACE "DLL Name: " "" names "${names}")
message(STATUS "${ADDON} imports from: ${names}")
foreach(required node.exe ${LIBRARY})
  if(NOT required IN_LIST names)
    message(FATAL_ERROR "check_windows_imports: ${ADDON} does not import from ${required}")
  endif()
endforeach()
foreach(name IN LISTS names)
  string(TOLOWER "${name}" lower)
  if(NOT lower MATCHES "^(kernel32|msvcrt|advapi32|ucrtbase|api-ms-win-.*)\\.dll$" AND
     NOT name STREQUAL "node.exe" AND NOT name STREQUAL "${LIBRARY}")
    message(FATAL_ERROR "check_windows_imports: ${ADDON} needs ${name}, which the package does not bundle")
  endif()
endforeach()
if(NOT dump MATCHES "napi_create_threadsafe_function" AND ADDON MATCHES "sharedmem\\.node$")
  message(FATAL_ERROR "check_windows_imports: ${ADDON} imports no napi_create_threadsafe_function from node.exe")
endif()
