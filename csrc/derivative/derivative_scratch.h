/* grad's scratch arrays, kept from one call to the next (as graph.c keeps
 * backward()'s): a loop of grad calls then neither maps fresh pages nor
 * regrows its arrays each time. A buffer is taken from its slot (the slot
 * is empty while taken, so a grad re-entered from a signal handler just
 * allocates its own) and given back; very large ones are freed. */
#ifndef MG_DERIVATIVE_SCRATCH_H
#define MG_DERIVATIVE_SCRATCH_H

#include <Python.h>
#include "core/process_state.h"  /* the slots (MG_SCRATCH_*) and their arrays */

typedef struct mg_buffer {
    void *p;
    size_t cap;  /* bytes */
    int slot;
} mg_buffer;

/* The slot's array (or none) with room for at least need bytes: 0, or -1
 * (out of memory, no exception set; b is then empty but can be given back). */
int mg_buffer_take(mg_buffer *b, int slot, size_t need);

/* Room for need bytes, doubling: 0, or -1 (out of memory, b unchanged). */
int mg_buffer_reserve(mg_buffer *b, size_t need);

void mg_buffer_give(mg_buffer *b);

#endif
