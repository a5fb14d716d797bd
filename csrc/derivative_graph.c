/* grad's sweep with graphs (create_graph=True): each adjoint is a Value
 * built from the engine's own ops, so it can be differentiated again.
 *
 * A node's parents push terms (coefficient, parent's adjoint) onto its list,
 * the coefficient being the parent's local derivative as a graph over the
 * parent's children and output (derivative_rules.c). When the sweep reaches
 * the node (every parent done) its adjoint is built as ONE dot node over its
 * terms, 0.0 + c0*g0 + c1*g1 + ...: the sum backward() accumulates into
 * child.grad, in its order, so where a coefficient's data is backward()'s
 * local derivative the bits are backward()'s. One term is one mul node (or
 * the parent's adjoint itself when the coefficient is 1). */
#include "derivative_graph.h"
#include "graph.h"
#include "value.h"

int mg_push_term(mg_builder *b, Py_ssize_t place, PyObject *coef, PyObject *adj)
{
    mg_term *t;
    if (!b->s->live[place])
        return 0;
    if (b->n_terms == b->cap) {
        Py_ssize_t cap = b->cap ? 2 * b->cap : 1024;
        mg_term *p = PyMem_Realloc(b->terms, (size_t)cap * sizeof(mg_term));
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->terms = p;
        b->cap = cap;
    }
    t = &b->terms[b->n_terms];
    Py_INCREF(coef);
    Py_INCREF(adj);
    t->coef = coef;
    t->adj = adj;
    t->next = -1;
    if (b->tail[place] < 0)
        b->head[place] = b->n_terms;
    else
        b->terms[b->tail[place]].next = b->n_terms;
    b->tail[place] = b->n_terms++;
    return 0;
}

/* Node i's adjoint from its terms (which it takes): a new reference in
 * *out, NULL if it has none. 0, or -1 with an exception. */
static int adjoint(mg_builder *b, Py_ssize_t i, PyObject **out)
{
    Py_ssize_t t, k = 0, n = 0;
    mg_nary *e;
    *out = NULL;
    for (t = b->head[i]; t >= 0; t = b->terms[t].next)
        n++;
    if (n == 0)
        return 0;
    t = b->head[i];
    if (n == 1) {
        mg_term *only = &b->terms[t];
        if (only->coef == b->one) {
            *out = only->adj;  /* 1.0 * g is g */
            only->adj = NULL;
        } else {
            *out = mg_new_binary(MG_MUL, only->coef, only->adj);
        }
        Py_CLEAR(only->coef);
        Py_CLEAR(only->adj);
        return *out == NULL ? -1 : 0;
    }
    *out = mg_new_nary(MG_DOT, 2 * n);
    if (*out == NULL)
        return -1;
    e = MG_NODE(*out)->u.nary;
    e->pairs = n;
    e->start = 0.0;
    for (; t >= 0; t = b->terms[t].next, k++) {  /* the references move into the dot */
        e->children[k] = b->terms[t].coef;
        e->children[n + k] = b->terms[t].adj;
        b->terms[t].coef = b->terms[t].adj = NULL;
    }
    if (mg_compute(*out) < 0) {
        Py_CLEAR(*out);
        return -1;
    }
    return 0;
}

int mg_sweep_graph(const mg_sweep *s, const mg_grad_request *r, PyObject **results)
{
    mg_builder b;
    Py_ssize_t i, k, n = s->count > 0 ? s->count : 1;
    PyObject **kept = NULL, *adj = NULL;
    int status = -1;
    memset(&b, 0, sizeof(b));
    b.s = s;
    b.head = PyMem_Malloc((size_t)n * sizeof(Py_ssize_t));
    b.tail = PyMem_Malloc((size_t)n * sizeof(Py_ssize_t));
    kept = PyMem_Calloc((size_t)n, sizeof(PyObject *));  /* the inputs' adjoints */
    if (b.head == NULL || b.tail == NULL || kept == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (i = 0; i < s->count; i++)
        b.head[i] = b.tail[i] = -1;
    b.one = mg_new_leaf(1.0);
    b.minus_one = mg_new_leaf(-1.0);
    if (b.one == NULL || b.minus_one == NULL)
        goto done;
    for (k = 0; k < r->n_outputs; k++) {  /* the seeds: 1 * seed */
        PyObject *seed = r->seed_values[k];
        int pushed;
        if (seed == NULL && (seed = mg_new_leaf(r->seed_numbers[k])) == NULL)
            goto done;
        else if (seed == r->seed_values[k])
            Py_INCREF(seed);
        pushed = mg_push_term(&b, s->out_place[k], b.one, seed);
        Py_DECREF(seed);
        if (pushed < 0)
            goto done;
    }
    for (i = s->count - 1; i >= 0; i--) {
        if (!s->live[i])
            continue;
        if (adjoint(&b, i, &adj) < 0)
            goto done;
        if (adj != NULL && mg_push_local_terms(&b, i, adj) < 0)
            goto done;
        if (s->is_input[i])
            kept[i] = adj;  /* the reference moves */
        else
            Py_XDECREF(adj);
        adj = NULL;
        if ((i & MG_SIGNAL_EVERY_MASK) == 0 && i > 0 && PyErr_CheckSignals() < 0)
            goto done;
    }
    for (k = 0; k < r->n_inputs; k++) {
        Py_ssize_t at = s->in_place[k];
        if (at < 0)
            continue;  /* unused */
        if (kept[at] != NULL) {
            Py_INCREF(kept[at]);
            results[k] = kept[at];
        } else if ((results[k] = mg_new_leaf(0.0)) == NULL) {  /* reached, but no term */
            goto done;
        }
    }
    status = 0;
done:
    Py_XDECREF(adj);
    if (status != 0)
        for (k = 0; k < r->n_inputs; k++)
            Py_CLEAR(results[k]);
    for (i = 0; i < b.n_terms; i++) {  /* what an error left unbuilt */
        Py_XDECREF(b.terms[i].coef);
        Py_XDECREF(b.terms[i].adj);
    }
    if (kept != NULL)
        for (i = 0; i < s->count; i++)
            Py_XDECREF(kept[i]);
    PyMem_Free(kept);
    PyMem_Free(b.terms);
    PyMem_Free(b.head);
    PyMem_Free(b.tail);
    Py_XDECREF(b.one);
    Py_XDECREF(b.minus_one);
    return status;
}
