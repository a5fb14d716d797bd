/* The engine's process-wide C state: what outlives a call and is shared by
 * every thread. Defined in process_state.c, used by the file named at each.
 * (The Cython layer keeps a few module globals of its own, under the same
 * GIL: tape.pxi's walk counter, value.pxi's grad_property_seen.)
 *
 * It relies on the GIL: only the thread holding it reads or writes any of
 * this, and no C code lets the GIL go while it works on it. Free-threaded
 * builds (Py_GIL_DISABLED) are unsupported: the module does not declare
 * itself free-threading safe, so such an interpreter turns the GIL back on
 * when it imports it.
 *
 * Besides these, a few things are set once, at import (under the GIL), and
 * only read after: mg_value_type and the interned "data" and "grad" (value.c),
 * the op ids (op_table.c), the unary ops' method type (unary_methods.c).
 *
 * One piece of process-wide state does not rely on the GIL, as its worker
 * threads run without it: the batched tapes' thread pool (batch_pool.c),
 * behind its own mutexes.
 */
#ifndef MG_PROCESS_STATE_H
#define MG_PROCESS_STATE_H

#include <Python.h>
#include <stdint.h>

/* The module's own: not exported from the shared object, so its code
 * reaches these directly rather than through the symbol table's GOT. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(hidden)
#endif

/* value.h, value.c: freed Values kept for reuse. An op whose result dies at
 * once (a + b in a loop, the temporaries of a training step) then costs no
 * trip through the allocator and the GC's allocation count. */
#define MG_FREE_VALUES_MAX 65536  /* at most 5 MB kept */
extern PyObject *mg_free_values[MG_FREE_VALUES_MAX];
extern int mg_free_values_count;

/* value.c: children whose last reference a dealloc dropped, freed in a loop
 * by the outermost dealloc (draining), so that freeing a 10^7-deep chain
 * does not recurse once per node. */
extern struct mg_deferred_frees {
    PyObject **values;  /* references owned by the list */
    Py_ssize_t count, cap;
    int draining;
} mg_deferred_frees;

/* attributes.c: each Value with attributes (MG_HAS_ATTRIBUTES) and its
 * attribute dict, an open-addressing table keyed by the Value's address. */
struct mg_attribute_entry {
    PyObject *key;    /* the Value, not a reference */
    PyObject *attrs;  /* its dict, a strong reference */
};
extern struct mg_attribute_table {
    struct mg_attribute_entry *slots;
    size_t capacity, used;  /* capacity: 0 or a power of two */
} mg_attribute_table;

/* graph.c: how many nodes have become another op since they were made (a
 * _backward assigned): a batched tape walks its nodes for a stale op only
 * when this moved since its last look (batch_tape.pxi). */
extern uint64_t mg_op_changes;

/* batch_pass.h: whether the batched kernels run their AVX2 build where the
 * CPU has AVX2 (1), or the baseline build (0: tests hold it to the same
 * bits; set only while no replay runs, read by the replays' threads). */
extern int mg_avx2_kernels;

/* grad_mode.c: whether this thread is inside no_grad (per thread), and how
 * many threads are, so that ops ask one plain global in the common case. */
extern _Thread_local int mg_recording_off;
extern int mg_threads_without_grad;

/* operators.c: the last reciprocal v / x took (x ** -1, as Python takes
 * it): a loop divides by the same number again and again. */
extern struct mg_last_reciprocal {
    double x, reciprocal;
} mg_last_reciprocal;

/* graph.c: the sorts' epoch (each sort stamps the nodes it reaches with a
 * fresh one: a visited mark with nothing to clear) and the scratch arrays a
 * sort takes and gives back, so that a training loop's backward() neither
 * allocates nor faults in fresh pages (NULL while a sort holds them);
 * backward() also keeps the grads it saves for its way back after an error. */
struct mg_spare { void *array; Py_ssize_t cap; };
extern struct mg_sort_scratch {
    uint64_t epoch;
    struct mg_spare stack, order;  /* the nodes of a sort */
    struct mg_spare saved_grads;   /* backward's grads, kept to put back after an error */
} mg_sort_scratch;

/* derivative_scratch.c: grad's scratch arrays, one per slot, kept from one
 * call to the next (NULL while a grad holds it), so that a loop of grad
 * calls neither maps fresh pages nor regrows its arrays each time. */
enum {
    MG_SCRATCH_ORDER, MG_SCRATCH_FIRST_KID, MG_SCRATCH_KID, MG_SCRATCH_STACK,
    MG_SCRATCH_MARKS, MG_SCRATCH_TERMS, MG_SCRATCH_OFFSETS, MG_SCRATCH_FILLS,
    MG_SCRATCH_KEPT, MG_SCRATCH_ADJOINTS, MG_SCRATCH_SUMS, MG_SCRATCH_REBUILT,
    MG_SCRATCH_COUNT
};
extern struct mg_grad_scratch {
    struct { void *p; size_t cap; /* bytes */ } slots[MG_SCRATCH_COUNT];
} mg_grad_scratch;

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#endif
