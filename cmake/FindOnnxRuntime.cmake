# Finds ONNX Runtime: -DONNXRUNTIME_ROOT=<dir with include/ and lib/> for a user's own install,
# else the copy scripts/bootstrap.sh puts in third_party/onnxruntime.
set(ONNXRUNTIME_ROOT "" CACHE PATH "ONNX Runtime install prefix (include/ and lib/)")
set(_ort_hints "${ONNXRUNTIME_ROOT}" "${PROJECT_SOURCE_DIR}/third_party/onnxruntime")

find_path(ONNXRUNTIME_INCLUDE_DIR onnxruntime_cxx_api.h
  HINTS ${_ort_hints}
  PATH_SUFFIXES include include/onnxruntime include/onnxruntime/core/session
  NO_DEFAULT_PATH)
find_library(ONNXRUNTIME_LIBRARY NAMES onnxruntime libonnxruntime.so.1
  HINTS ${_ort_hints} PATH_SUFFIXES lib lib64 NO_DEFAULT_PATH)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OnnxRuntime
  REQUIRED_VARS ONNXRUNTIME_LIBRARY ONNXRUNTIME_INCLUDE_DIR
  FAIL_MESSAGE "ONNX Runtime not found: run scripts/bootstrap.sh or pass -DONNXRUNTIME_ROOT=<prefix>")

if(OnnxRuntime_FOUND AND NOT TARGET OnnxRuntime::OnnxRuntime)
  get_filename_component(ONNXRUNTIME_LIB_DIR "${ONNXRUNTIME_LIBRARY}" DIRECTORY)
  add_library(OnnxRuntime::OnnxRuntime SHARED IMPORTED)
  set_target_properties(OnnxRuntime::OnnxRuntime PROPERTIES
    IMPORTED_LOCATION "${ONNXRUNTIME_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${ONNXRUNTIME_INCLUDE_DIR}")
endif()
