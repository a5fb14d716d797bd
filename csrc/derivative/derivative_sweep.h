/* What both sweeps of grad share (derivative.h): the nodes reached from the
 * outputs in one topological order (backward()'s, for one output), with
 * each node's children as places in that order, so that a sweep indexes
 * arrays instead of looking nodes up, and which of them are live (between
 * the outputs and the inputs). */
#ifndef MG_DERIVATIVE_SWEEP_H
#define MG_DERIVATIVE_SWEEP_H

#include "derivative/derivative.h"
#include "derivative/derivative_scratch.h"
#include "core/node.h"

typedef struct mg_sweep {
    PyObject **order;       /* every node reached from an output, children first
                               (borrowed: the outputs hold them) */
    Py_ssize_t count;       /* nodes in order (the temporary root not counted) */
    PyObject *root;         /* a temporary node over the outputs, sorted from */
    Py_ssize_t *first_kid;  /* node i's children are kid[first_kid[i] .. first_kid[i+1]) */
    Py_ssize_t *kid;        /* a child's place in order */
    unsigned char *live;    /* reached from an output and reaches an input */
    unsigned char *is_input;
    Py_ssize_t *out_place;  /* each output's place */
    Py_ssize_t *in_place;   /* each input's place, -1: no output reaches it */
    mg_buffer order_buf, first_kid_buf, kid_buf, marks_buf;  /* what the arrays live in */
} mg_sweep;

/* Sorts, indexes and marks; refuses (MG_GRAD_CUSTOM_OP, MG_GRAD_NUMBERS_ONLY
 * with a new reference in *bad) what the mode cannot sweep. 0, -1 with an
 * exception, or a refusal; the sweep is closed again unless 0. */
int mg_sweep_open(mg_sweep *s, const mg_grad_request *r, PyObject **bad);
void mg_sweep_close(mg_sweep *s);

/* The sweeps, on an open sweep: results as mg_grad's. 0 or -1 with an
 * exception (results all NULL then). */
int mg_sweep_numbers(const mg_sweep *s, const mg_grad_request *r, PyObject **results);
int mg_sweep_graph(const mg_sweep *s, const mg_grad_request *r, PyObject **results);
/* hvp (r->tangents set): fresh leaves holding (H v) per input */
int mg_sweep_hvp(const mg_sweep *s, const mg_grad_request *r, PyObject **results);

/* The numbers sweeps' results: for each reached input a fresh leaf holding
 * numbers[its place], if err (the sweep's outcome) is MG_OK. 0, or -1 with
 * an exception (err's, or the allocator's) and every results[k] NULL. */
int mg_leaves_of(const mg_sweep *s, const mg_grad_request *r, const double *numbers, int err,
                 PyObject **results);

/* The numbers sweep's chain rule: node's adjoint g times each local slope,
 * added into adj at its children's places (kid). MG_OK or an error code. */
int mg_local_numbers(const mg_node *node, double g, const Py_ssize_t *kid, double *adj);

#endif
