/* The graph sweep's builder (derivative_graph.c) and the per-op rules that
 * push terms onto it (derivative_rules.c). */
#ifndef MG_DERIVATIVE_GRAPH_H
#define MG_DERIVATIVE_GRAPH_H

#include "derivative/derivative_sweep.h"
#include "core/value.h"

/* coefficient * adjoint, one term of a node's adjoint; strong references */
typedef struct mg_term {
    PyObject *coef, *adj;
} mg_term;

/* Each node's terms are contiguous: terms[first[i] .. fill[i]), with room
 * up to first[i + 1], counted before the sweep from the node's live
 * parents' edges (one term per edge; a cross-entropy's logits two, for the
 * target's -1), so that a node's adjoint reads its terms in one run. */
typedef struct mg_builder {
    const mg_sweep *s;
    mg_term *terms;
    Py_ssize_t *first, *fill;
    /* per node, its dot's data summed as the terms come (0.0 + c0*g0 + ...,
     * the dot's forward order, so the same bits), and whether a term is
     * GC-tracked: the dot is made without reading its children again */
    double *sum;
    unsigned char *tracked;
    /* per expsum node, its sum of exps rebuilt as nodes from its children
     * (a sum node over exp(x_i + -shift), the shift a constant leaf): made
     * by the first rule that needs it, so that the expsum's rule and every
     * softmax over it read the same nodes with the same shift; released
     * once the expsum's own rule ran */
    PyObject **rebuilt;
    PyObject *one, *minus_one, *zero;  /* leaves shared by the call's coefficients */
    int kinks_as_numbers;              /* the request's (derivative.h) */
    mg_buffer terms_buf, first_buf, fill_buf, kept_buf, sums_buf, rebuilt_buf;
} mg_builder;

/* Appends (coef, adj) to the terms of the node at place (borrowed
 * references; nothing if that node is not live). 0, or -1 with an exception.
 * Inline: it runs once per edge. */
static inline int mg_push_term(mg_builder *b, Py_ssize_t place, PyObject *coef, PyObject *adj)
{
    mg_term *t;
    if (!b->s->live[place])
        return 0;
    if (b->fill[place] == b->first[place + 1]) {  /* more terms than edges: a bug */
        PyErr_SetString(PyExc_SystemError, "grad: a node got more terms than it has parents");
        return -1;
    }
    t = &b->terms[b->fill[place]++];
    Py_INCREF(coef);
    Py_INCREF(adj);
    t->coef = coef;
    t->adj = adj;
    b->sum[place] = b->sum[place] + MG_NODE(coef)->data * MG_NODE(adj)->data;
    b->tracked[place] |= mg_is_tracked(coef) | mg_is_tracked(adj);
    return 0;
}


/* Pushes, for each live child of the node at place i whose adjoint is adj,
 * the terms of its chain rule. 0, or -1 with an exception. */
int mg_push_local_terms(mg_builder *b, Py_ssize_t i, PyObject *adj);

#endif
