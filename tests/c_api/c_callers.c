/* Calls from C, as a C program makes them: in C any int converts to one of the header's enums,
 * values the C++ tests cannot form without undefined behaviour. Compiling this file also checks
 * that opusrt.h is valid C. */
#include <opusrt/opusrt.h>

opusrt_status c_api_test_timing_ms(const opusrt_result* result, size_t index, int timing, double* out_ms);
const char* c_api_test_status_string(int status);

opusrt_status c_api_test_timing_ms(const opusrt_result* result, size_t index, int timing, double* out_ms) {
  return opusrt_result_timing_ms(result, index, (opusrt_timing)timing, out_ms);
}

const char* c_api_test_status_string(int status) { return opusrt_status_string((opusrt_status)status); }
