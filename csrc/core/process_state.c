/* The definitions of process_state.h's state, which says what each is. */
#include "core/process_state.h"

PyObject *mg_free_values[MG_FREE_VALUES_MAX];
int mg_free_values_count = 0;
int mg_avx2_kernels = 1;
uint64_t mg_op_changes = 0;

struct mg_deferred_frees mg_deferred_frees = {NULL, 0, 0, 0};

struct mg_attribute_table mg_attribute_table = {NULL, 0, 0};

_Thread_local int mg_recording_off = 0;
int mg_threads_without_grad = 0;

struct mg_last_reciprocal mg_last_reciprocal = {1.0, 1.0};

struct mg_sort_scratch mg_sort_scratch = {0, {NULL, 0}, {NULL, 0}, {NULL, 0}};

struct mg_grad_scratch mg_grad_scratch;  /* zero: every slot empty */
