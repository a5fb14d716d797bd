/* A batched tape's flat program (compile(root, batch=inputs)): the scalar
 * tape's topological order turned once into two instruction lists over
 * numbered slots, so that a replay reads no node and touches no Python
 * object (it runs without the GIL, on several threads).
 *
 * Every node (and every extra number a fused op keeps, "aux": an rmsnorm's
 * mean square, an expsum's max and exps) is a slot, either
 *   shared       it depends on shared leaves only (parameters, constants):
 *                one number per replay, computed once by the shared program;
 *   per-example  it depends on an input: one number per example, kept
 *                structure-of-arrays, C consecutive doubles per slot in a
 *                chunk of C examples, computed by the per-example program.
 * An instruction's operand is a ref: ref >= 0 is a slot of the program's own
 * space (the chunk's per-example slots; in the shared program the shared
 * slots), ref < 0 is lane -ref-1: a shared slot that per-example
 * instructions read, broadcast to C doubles per thread, so that every
 * kernel's operands are arrays of C doubles (no stride-0 loops), and whose
 * per-example adjoints are summed in lane arrays of C doubles.
 */
#ifndef MG_BATCH_PROGRAM_H
#define MG_BATCH_PROGRAM_H

#include "core/node.h"

enum {
    MG_BI_START_IS_CHILD = 1,  /* MG_SUM: args[0] is the start */
    MG_BI_NOT_EXPSUM = 2,      /* softmax/log_softmax whose kid 1 is no expsum:
                                  every replay fails as the scalar tape's does */
    MG_BI_HAS_BIAS = 4,        /* MG_DOT: args[2 * pairs] is the bias */
    /* two per-example dots of a layer (every weight a shared number, the
     * same per-example inputs in the same order, the second later in the
     * program, by pair): the first computes both ones' 16-lane blocks, each
     * input block loaded once (the second's output is made early: no one
     * reads it before its turn, and a dot cannot fail) */
    MG_BI_PAIR_FIRST = 8,
    MG_BI_PAIR_SECOND = 16,
};

typedef struct mg_binstr {
    uint8_t op;             /* enum mg_op */
    uint8_t flags;
    int32_t out;            /* the result's slot (always in the own space) */
    int32_t a, b;           /* elementwise operands; softmax: x and the expsum */
    int32_t c;              /* softmax, log_softmax: the expsum's max (aux) */
    int32_t d, e;           /* softmax: the expsum's total ** -1 and ** -2 (aux) */
    int32_t args, nargs;    /* n-ary: refs args_of[args .. args + nargs) */
    int32_t aux;            /* own-space slot of the first aux number */
    int32_t pairs;          /* MG_DOT: (w, x) pairs */
    int32_t pair;           /* MG_BI_PAIR_FIRST: the second is this + pair */
    Py_ssize_t topo;        /* the node's index in the scalar tape's order */
    double k;               /* MG_POW: exponent; dot, sum: start; rmsnorm: eps */
} mg_binstr;

typedef struct mg_bprog {
    Py_ssize_t n_nodes;     /* the scalar tape's order */
    Py_ssize_t n_shared;    /* shared slots (values sv[], adjoints sg[]) */
    Py_ssize_t n_per;       /* per-example slots per example */
    Py_ssize_t n_lanes;     /* shared slots that per-example code reads */
    mg_binstr *shared;      /* the shared program, in topological order */
    Py_ssize_t n_shared_code;
    mg_binstr *per;         /* the per-example program, in topological order */
    Py_ssize_t n_per_code;
    int32_t *args_of;       /* n-ary operands of both programs */
    int32_t *lane_slot;     /* lane -> its shared slot */
    /* the lanes some kernel reads or writes C doubles at a time (the rest,
     * a dot's weights and biases and an embedding's table, are read and
     * summed as one number: no broadcast, no lane array to sum) */
    int32_t *array_lanes;
    Py_ssize_t n_array_lanes;
    uint8_t *lane_is_array; /* per lane: one of those (then every kernel uses
                               its lane array, so each shared slot has one
                               running sum, added in the scalar tape's order) */
    Py_ssize_t max_args;    /* the widest n-ary instruction */
    /* per node of the order: its slot, as a ref of the per-example space
     * (shared nodes: -(shared slot) - 1, a space of its own for the caller) */
    int32_t *node_slot;
    uint8_t *node_shared;
    Py_ssize_t n_leaves;    /* shared leaves: order index and shared slot */
    Py_ssize_t *leaf_node;
    int32_t *leaf_slot;
    Py_ssize_t n_inputs;    /* per input: its per-example slot, or -1 (unreached) */
    int32_t *input_slot;
    Py_ssize_t root;        /* order index of the root (n_nodes - 1) */
    /* node pointer -> order index, for evaluate's outputs */
    PyObject **map_keys;
    Py_ssize_t *map_index;
    Py_ssize_t map_mask;
} mg_bprog;

/* Builds the program of order[0..n) (a scalar tape's nodes, custom ops
 * already refused) whose per-example leaves are inputs[0..n_in) (leaves;
 * those not in order are unreached). Reads the nodes; call with the GIL.
 * NULL if memory ran out. */
mg_bprog *mg_bprog_build(PyObject *const *order, Py_ssize_t n, PyObject *const *inputs,
                         Py_ssize_t n_in);
void mg_bprog_free(mg_bprog *p);

/* With the GIL: the shared leaves' data into sv (their shared slots); and
 * sg's gradients added to their .grad, divided by divisor (1: the sum, B:
 * the mean), written through the node as the scalar tape writes them. */
void mg_bprog_read_leaves(const mg_bprog *p, PyObject *const *order, double *sv);
void mg_bprog_add_grads(const mg_bprog *p, PyObject *const *order, const double *sg,
                        double divisor);

/* The first node of order[0..n) whose op is not ops[i] any more (a
 * _backward assigned since it was recorded), or -1. */
static inline Py_ssize_t mg_bprog_first_stale(PyObject *const *order, const uint8_t *ops,
                                              Py_ssize_t n)
{
    Py_ssize_t i;
    for (i = 0; i < n; i++)
        if (MG_NODE(order[i])->op != ops[i])
            return i;
    return -1;
}

/* The order index of node, or -1 if it is not on the tape. */
Py_ssize_t mg_bprog_find(const mg_bprog *p, PyObject *node);

#endif
