#include "derivative/derivative_scratch.h"

/* Kept at most this big: a one-off huge grad does not pin its memory. */
#define KEEP_AT_MOST ((size_t)64 << 20)

/* The arrays kept live in process_state.h's mg_grad_scratch (under the GIL). */

int mg_buffer_take(mg_buffer *b, int slot, size_t need)
{
    b->slot = slot;
    b->p = mg_grad_scratch.slots[slot].p;
    b->cap = mg_grad_scratch.slots[slot].cap;
    mg_grad_scratch.slots[slot].p = NULL;
    mg_grad_scratch.slots[slot].cap = 0;
    return mg_buffer_reserve(b, need);
}

int mg_buffer_reserve(mg_buffer *b, size_t need)
{
    size_t cap = b->cap > 0 ? b->cap : 4096;
    void *p;
    if (need <= b->cap)
        return 0;
    while (cap < need)
        cap *= 2;
    p = PyMem_Realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

void mg_buffer_give(mg_buffer *b)
{
    if (b->p != NULL && mg_grad_scratch.slots[b->slot].p == NULL && b->cap <= KEEP_AT_MOST) {
        mg_grad_scratch.slots[b->slot].p = b->p;
        mg_grad_scratch.slots[b->slot].cap = b->cap;
    } else {
        PyMem_Free(b->p);
    }
    b->p = NULL;
    b->cap = 0;
}
