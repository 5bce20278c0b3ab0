# The installable artifact: libopusrt.so (the C API and the public C++ API), the public headers,
# the CLI, a CMake package (find_package(opusrt) -> opusrt::opusrt) and opusrt.pc.
#
# Design: the static `opusrt` (src/) is what the tests and the CLI link (they may use internals);
# the shared `opusrt_shared` (file name libopusrt.so) is linked from the very same object files,
# so nothing is compiled twice, and exports only the public API (cmake/opusrt_exports.map).
include(CMakePackageConfigHelpers)

# The C header's version macros must be the project's (opusrt_version() returns the header's).
file(READ "${PROJECT_SOURCE_DIR}/include/opusrt/opusrt.h" _opusrt_c_header)
foreach(_part MAJOR MINOR PATCH)
  string(REGEX MATCH "#define OPUSRT_VERSION_${_part} ([0-9]+)" _match "${_opusrt_c_header}")
  if(NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION_${_part})
    message(FATAL_ERROR "include/opusrt/opusrt.h: OPUSRT_VERSION_${_part} is '${CMAKE_MATCH_1}', "
                        "the project version is ${PROJECT_VERSION}")
  endif()
endforeach()
if(NOT _opusrt_c_header MATCHES "#define OPUSRT_VERSION_STRING \"${PROJECT_VERSION}\"")
  message(FATAL_ERROR "include/opusrt/opusrt.h: OPUSRT_VERSION_STRING is not \"${PROJECT_VERSION}\"")
endif()

set(OPUSRT_EXPORTS_MAP "${CMAKE_CURRENT_LIST_DIR}/opusrt_exports.map")
add_library(opusrt_shared SHARED $<TARGET_OBJECTS:opusrt>)
add_dependencies(opusrt_shared opusrt)
add_library(opusrt::opusrt ALIAS opusrt_shared)
target_include_directories(opusrt_shared PUBLIC
  "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>"
  "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
target_link_libraries(opusrt_shared PRIVATE ${OPUSRT_PRIVATE_DEPENDENCIES})
target_link_options(opusrt_shared PRIVATE "LINKER:--version-script=${OPUSRT_EXPORTS_MAP}")
# Not with OPUSRT_FUZZ: clang leaves the sanitizer and coverage runtime to the executable, so the
# instrumented library has undefined __asan_*/__sancov_* references by design.
if(NOT OPUSRT_FUZZ)
  target_link_options(opusrt_shared PRIVATE "LINKER:--no-undefined")
endif()
# 0.x: a minor release may change the ABI, so the minor version is part of the soname.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_opusrt_soversion "0.${PROJECT_VERSION_MINOR}")
else()
  set(_opusrt_soversion "${PROJECT_VERSION_MAJOR}")
endif()
set(_opusrt_lib_rpath "$ORIGIN")
if(NOT OPUSRT_INSTALL_ONNXRUNTIME)
  list(APPEND _opusrt_lib_rpath "${ONNXRUNTIME_LIB_DIR}")
endif()
set_target_properties(opusrt_shared PROPERTIES
  OUTPUT_NAME opusrt
  EXPORT_NAME opusrt
  VERSION "${PROJECT_VERSION}"
  SOVERSION "${_opusrt_soversion}"
  LINK_DEPENDS "${OPUSRT_EXPORTS_MAP}"
  INSTALL_RPATH "${_opusrt_lib_rpath}")

# ---- install layout: bin/opusrt, lib/libopusrt.so*, include/opusrt/*.h, lib/cmake/opusrt/, lib/pkgconfig/
install(TARGETS opusrt_shared EXPORT opusrtTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(TARGETS opusrt_cli opusrt_quantize_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/opusrt" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.h")
if(OPUSRT_INSTALL_ONNXRUNTIME)
  # libonnxruntime.so, .so.1 (symlinks, kept as such) and .so.<version>, next to libopusrt.so.
  file(GLOB _opusrt_ort_libs "${ONNXRUNTIME_LIB_DIR}/libonnxruntime.so*")
  install(FILES ${_opusrt_ort_libs} DESTINATION "${CMAKE_INSTALL_LIBDIR}")
endif()

set(_opusrt_cmake_dir "${CMAKE_INSTALL_LIBDIR}/cmake/opusrt")
install(EXPORT opusrtTargets NAMESPACE opusrt:: DESTINATION "${_opusrt_cmake_dir}")
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/opusrtConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/opusrtConfig.cmake" INSTALL_DESTINATION "${_opusrt_cmake_dir}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/opusrtConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/opusrtConfig.cmake" "${PROJECT_BINARY_DIR}/opusrtConfigVersion.cmake"
  DESTINATION "${_opusrt_cmake_dir}")

# pkg-config: paths relative to the .pc file, so `cmake --install --prefix P` anywhere works.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  message(FATAL_ERROR "opusrt.pc needs a relative CMAKE_INSTALL_LIBDIR, got ${CMAKE_INSTALL_LIBDIR}")
endif()
file(RELATIVE_PATH OPUSRT_PC_PREFIX_FROM_PCDIR "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" OPUSRT_PC_PREFIX_FROM_PCDIR "${OPUSRT_PC_PREFIX_FROM_PCDIR}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/opusrt.pc.in" "${PROJECT_BINARY_DIR}/opusrt.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/opusrt.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
