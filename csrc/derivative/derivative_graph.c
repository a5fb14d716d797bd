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
#include "derivative/derivative_graph.h"
#include "core/graph.h"
#include "core/value.h"

/* Counts each live node's room for terms into b->first (as offsets), and
 * sets fill. 0, or -1 with an exception. */
static int make_room(mg_builder *b, const mg_grad_request *r)
{
    const mg_sweep *s = b->s;
    Py_ssize_t i, j, total = 0, n = s->count;
    if (mg_buffer_take(&b->first_buf, MG_SCRATCH_OFFSETS, (size_t)(n + 1) * sizeof(Py_ssize_t)) < 0
        || mg_buffer_take(&b->fill_buf, MG_SCRATCH_FILLS, (size_t)(n + 1) * sizeof(Py_ssize_t)) < 0)
        goto no_memory;
    b->first = b->first_buf.p;
    b->fill = b->fill_buf.p;
    memset(b->fill, 0, (size_t)(n + 1) * sizeof(Py_ssize_t));  /* counts first */
    for (i = 0; i < n; i++) {
        Py_ssize_t per_edge = MG_NODE(s->order[i])->op == MG_NLL ? 2 : 1;
        if (!s->live[i])
            continue;
        for (j = s->first_kid[i]; j < s->first_kid[i + 1]; j++)
            b->fill[s->kid[j]] += per_edge;
    }
    for (i = 0; i < r->n_outputs; i++)
        b->fill[s->out_place[i]]++;
    for (i = 0; i < n; i++) {  /* counts to offsets */
        b->first[i] = total;
        total += s->live[i] ? b->fill[i] : 0;
        b->fill[i] = b->first[i];
    }
    b->first[n] = total;
    if (mg_buffer_take(&b->terms_buf, MG_SCRATCH_TERMS, (size_t)(total + 1) * sizeof(mg_term)) < 0
        || mg_buffer_take(&b->sums_buf, MG_SCRATCH_SUMS, (size_t)(n + 1) * (sizeof(double) + 1)) < 0)
        goto no_memory;
    b->terms = b->terms_buf.p;
    b->sum = b->sums_buf.p;
    b->tracked = (unsigned char *)(b->sum + n + 1);
    memset(b->sum, 0, (size_t)(n + 1) * (sizeof(double) + 1));  /* 0.0 is all zero bits */
    return 0;
no_memory:
    PyErr_NoMemory();
    return -1;
}

/* Node i's adjoint from its terms (which it takes): a new reference in
 * *out, NULL if it has none. 0, or -1 with an exception. */
static int adjoint(mg_builder *b, Py_ssize_t i, PyObject **out)
{
    mg_term *t = b->terms + b->first[i];
    Py_ssize_t k, n = b->fill[i] - b->first[i];
    mg_nary *e;
    *out = NULL;
    b->fill[i] = b->first[i];  /* the terms are taken (on any outcome) */
    if (n == 0)
        return 0;
    if (n == 1) {
        /* 1.0 * g is g and c * 1.0 is c, bit for bit: no node; but an
         * input's adjoint is what grad returns, so it is a node of its own
         * (a fresh leaf for the constant 1, c * 1 for a node c of the graph) */
        if (t->coef == b->one && !(b->s->is_input[i] && t->adj == b->one)) {
            *out = t->adj;
            t->adj = NULL;
        } else if (t->coef == b->one) {
            *out = mg_new_leaf(1.0);
        } else if (t->adj == b->one && !b->s->is_input[i]) {
            *out = t->coef;
            t->coef = NULL;
        } else {
            *out = mg_new_binary(MG_MUL, t->coef, t->adj);
        }
        Py_CLEAR(t->coef);
        Py_XDECREF(t->adj);
        t->adj = NULL;
        return *out == NULL ? -1 : 0;
    }
    *out = mg_new_nary(MG_DOT, 2 * n);
    if (*out == NULL) {
        for (k = 0; k < n; k++) {
            Py_CLEAR(t[k].coef);
            Py_CLEAR(t[k].adj);
        }
        return -1;
    }
    e = MG_NODE(*out)->u.nary;
    e->pairs = n;
    e->start = 0.0;
    for (k = 0; k < n; k++) {  /* the references move into the dot */
        e->children[k] = t[k].coef;
        e->children[n + k] = t[k].adj;
    }
    /* what mg_compute would do (grad is enabled: create_graph runs only
     * then), from what the pushes gathered */
    MG_NODE(*out)->data = b->sum[i];
    if (b->tracked[i])
        PyObject_GC_Track(*out);
    return 0;
}

int mg_sweep_graph(const mg_sweep *s, const mg_grad_request *r, PyObject **results)
{
    mg_builder b;
    Py_ssize_t i, k, n = s->count;
    PyObject **kept = NULL, *adj = NULL;
    int status = -1;
    memset(&b, 0, sizeof(b));
    b.s = s;
    b.kinks_as_numbers = r->kinks_as_numbers;
    if (make_room(&b, r) < 0)
        goto done;
    if (mg_buffer_take(&b.kept_buf, MG_SCRATCH_KEPT, (size_t)(n + 1) * sizeof(PyObject *)) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    kept = b.kept_buf.p;  /* the inputs' adjoints */
    memset(kept, 0, (size_t)(n + 1) * sizeof(PyObject *));
    if (mg_buffer_take(&b.rebuilt_buf, MG_SCRATCH_REBUILT, (size_t)(n + 1) * sizeof(PyObject *)) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    b.rebuilt = b.rebuilt_buf.p;
    memset(b.rebuilt, 0, (size_t)(n + 1) * sizeof(PyObject *));
    b.one = mg_new_leaf(1.0);
    b.minus_one = mg_new_leaf(-1.0);
    b.zero = mg_new_leaf(0.0);
    if (b.one == NULL || b.minus_one == NULL || b.zero == NULL)
        goto done;
    for (k = 0; k < r->n_outputs; k++) {  /* the seeds: 1 * seed */
        /* a Value seed as it is (the result depends on it), a number as a
         * leaf: 1.0 (the default) the shared one, so that c * 1 costs no node */
        PyObject *seed = r->seed_values[k];
        int pushed;
        if (seed == NULL && r->seed_numbers[k] == 1.0)
            seed = b.one;
        if (seed != NULL)
            Py_INCREF(seed);
        else if ((seed = mg_new_leaf(r->seed_numbers[k])) == NULL)
            goto done;
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
        Py_CLEAR(b.rebuilt[i]);  /* an expsum's: every reader of it is done */
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
    if (b.terms != NULL)  /* what an error left unbuilt */
        for (i = 0; i < n; i++)
            for (k = b.first[i]; k < b.fill[i]; k++) {
                Py_XDECREF(b.terms[k].coef);
                Py_XDECREF(b.terms[k].adj);
            }
    if (kept != NULL)
        for (i = 0; i < n; i++)
            Py_XDECREF(kept[i]);
    if (b.rebuilt != NULL)
        for (i = 0; i < n; i++)
            Py_XDECREF(b.rebuilt[i]);
    mg_buffer_give(&b.terms_buf);
    mg_buffer_give(&b.first_buf);
    mg_buffer_give(&b.fill_buf);
    mg_buffer_give(&b.kept_buf);
    mg_buffer_give(&b.sums_buf);
    mg_buffer_give(&b.rebuilt_buf);
    Py_XDECREF(b.one);
    Py_XDECREF(b.minus_one);
    Py_XDECREF(b.zero);
    return status;
}
