/* Replaying a batched program (batch_program.h) over a batch: the chunks,
 * the threads, what forward keeps for backward, and the errors.
 *
 * The batch is cut into chunks of C examples, C a function of B and of the
 * program's size only (never of the thread count); chunks are handed out in
 * any order to any thread, and a chunk's numbers depend on nothing else, so
 * forward and evaluate give the same bits on any number of threads.
 * Backward's per-example shares of a shared slot's adjoint are summed per
 * lane across a fixed group of consecutive chunks, the lanes then summed in
 * order per group, and the groups in order: the grouping, too, depends on B
 * only, so the gradients are the same bits on 1 thread or 16.
 *
 * None of these functions touches a Python object or needs the GIL; the
 * caller fills the shared leaves' values first and applies the gradients
 * after, holding it. */
#ifndef MG_BATCH_RUN_H
#define MG_BATCH_RUN_H

#include "batch/batch_program.h"
#include "batch/batch_pool.h"

/* A thread's working memory, made for a chunk size C. */
typedef struct mg_bscratch {
    double *block;   /* evaluate's chunk of per-example values */
    double *pa;      /* per-example adjoints of a chunk */
    double *lanes;   /* the shared values per-example code reads, broadcast */
    double *ga;      /* their per-lane adjoint sums */
    double *ls;      /* each lane's value, one number */
    double *gls;     /* each lane's adjoint summed over a group's examples */
    double *tmp;
    const double **P;
    double **GP;
    struct mg_bterm *terms;
} mg_bscratch;


typedef struct mg_bstate {
    const mg_bprog *p;
    int threads;
    mg_bscratch *scratch;   /* one per thread */
    Py_ssize_t scratch_C;   /* the chunk size the scratch is made for */
    /* what the last forward keeps for backward */
    Py_ssize_t B, C;
    double *saved;          /* per chunk: n_per slots of C doubles */
    size_t saved_cap;       /* doubles */
    double *sv;             /* the shared values of that forward */
    double *sv_eval;        /* evaluate's own (forward's are kept) */
    double *sg;             /* shared adjoints: backward's result */
    double *partial;        /* backward's per group, per lane sums */
    size_t partial_cap;     /* doubles */
    int has_forward;
    struct mg_bone *one;    /* the one-row program (batch_one.c), made when first used */
} mg_bstate;

/* A replay's failure: the lowest failing row (-1: no row, out of memory). */
typedef struct mg_berror {
    Py_ssize_t row;
    int code;
} mg_berror;

mg_bstate *mg_bstate_new(const mg_bprog *p, int threads);
/* Each thread's scratch made for chunks of C (0, or -1: out of memory),
 * and the chunk size for a batch of B (batch_state.c). */
int mg_bscratch_ready(mg_bstate *s, Py_ssize_t C);
Py_ssize_t mg_bchunk_size(const mg_bprog *p, Py_ssize_t B);
void mg_bstate_free(mg_bstate *s);

/* The examples' roots into root_out[0..B), X being B rows of n_inputs;
 * s->sv holds the shared leaves' values (the caller's). On success it keeps
 * what backward needs; on an error, nothing (has_forward is 0). */
mg_berror mg_batch_forward(mg_bstate *s, const double *X, Py_ssize_t B, double *root_out);

/* Forward over X into Y (B rows of n_out): output k is the node of order
 * index outs[k]. Uses s->sv_eval (filled by the caller); keeps nothing. */
mg_berror mg_batch_evaluate(mg_bstate *s, const double *X, Py_ssize_t B,
                            const Py_ssize_t *outs, Py_ssize_t n_out, double *Y);

/* The sum over the last forward's examples of d root / d slot, for every
 * shared slot, into s->sg (the caller adds s->sg[leaf_slot] to the leaves). */
mg_berror mg_batch_backward(mg_bstate *s);

/* A batch of one row (batch_one.c): the flat program run as the scalar
 * tape runs, one double per slot, over sv (forward: what backward reads),
 * sv_eval (evaluate) and sg, each n_shared + n_per long. They read the
 * shared leaves themselves (order: the tape's nodes; with the GIL), give
 * the same results and errors as the functions above for B = 1 (row 0);
 * backward's adjoints of the shared leaves start from their .grad, and
 * mg_bone_set_grads writes them back: the scalar tape's sums, bit for bit. */
mg_berror mg_bone_forward(mg_bstate *s, PyObject *const *order, const double *X,
                          double *root_out);
mg_berror mg_bone_evaluate(mg_bstate *s, PyObject *const *order, const double *X,
                           const Py_ssize_t *outs, Py_ssize_t n_out, double *Y);
mg_berror mg_bone_backward(mg_bstate *s);
void mg_bone_set_grads(const mg_bstate *s);
void mg_bone_free(mg_bstate *s);

#endif
