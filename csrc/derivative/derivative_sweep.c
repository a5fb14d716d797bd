/* grad's order and indexes (derivative_sweep.h), and mg_grad itself.
 *
 * The sort is graph.c's (the same walk, so the same order: backward()'s
 * accumulation order), with one change: it stamps each node's epoch with
 * base + 1 + its place instead of one epoch for all, so that a node's
 * children's places are read from their stamps when it finishes (a child
 * always finishes first), with no hash. The sorts' epoch then moves past
 * every stamp, so to every other sort these are old epochs, as any. A
 * signal handler that sorts meanwhile is caught as graph.c catches it. */
#include "derivative/derivative_sweep.h"
#include "core/graph.h"
#include "core/grad_mode.h"
#include "core/value.h"

#define EXPANDED ((uintptr_t)1)  /* a stack entry whose children are pushed */

/* Room for need elements of size bytes in b, its array in *array. */
static inline int grow(mg_buffer *b, void *array, Py_ssize_t need, size_t size)
{
    if ((size_t)need * size <= b->cap)  /* the common case, inline */
        return 0;
    if (mg_buffer_reserve(b, (size_t)need * size) < 0)
        return -1;
    *(void **)array = b->p;
    return 0;
}

/* Appends n (finished) to the order with its children's places; 0 or -1. */
static inline int finish(mg_sweep *s, PyObject *o, uint64_t base)
{
    mg_node *n = MG_NODE(o);
    PyObject *const *kids;
    Py_ssize_t j, nkids = mg_children(n, &kids), edges = s->first_kid[s->count];
    if (grow(&s->order_buf, &s->order, s->count + 1, sizeof(PyObject *))
        || grow(&s->first_kid_buf, &s->first_kid, s->count + 2, sizeof(Py_ssize_t))
        || grow(&s->kid_buf, &s->kid, edges + nkids, sizeof(Py_ssize_t)))
        return -1;
    for (j = 0; j < nkids; j++)
        s->kid[edges + j] = (Py_ssize_t)(MG_NODE(kids[j])->epoch - base - 1);
    n->epoch = base + 1 + (uint64_t)s->count;
    s->order[s->count++] = o;
    s->first_kid[s->count] = edges + nkids;
    return 0;
}

/* Sorts from s->root, as graph.c's sort walks. 0, or -1 with an exception. */
static int sort(mg_sweep *s, uint64_t base)
{
    Py_ssize_t depth = 0, expanded = 0;
    mg_buffer stack_buf;
    PyObject **stack = NULL, *next = s->root;
    int status = -1;
    if (mg_buffer_take(&stack_buf, MG_SCRATCH_STACK, 256 * sizeof(PyObject *)) < 0)
        goto no_memory;
    stack = stack_buf.p;
    for (;;) {
        mg_node *n = MG_NODE(next);
        PyObject *const *kids;
        Py_ssize_t i, nkids;
        n->epoch = base;  /* reached, not finished */
        nkids = mg_children(n, &kids);
        if ((++expanded & MG_SIGNAL_EVERY_MASK) == 0) {
            if (PyErr_CheckSignals() < 0)
                goto failed;
            if (mg_sort_scratch.epoch != base)
                goto resorted;
        }
        if (nkids == 0) {
            if (finish(s, next, base) < 0)
                goto no_memory;
        } else {
            if (grow(&stack_buf, &stack, depth + nkids + 1, sizeof(PyObject *)))
                goto no_memory;
            stack[depth++] = (PyObject *)((uintptr_t)next | EXPANDED);
            for (i = nkids - 1; i >= 1; i--)
                if (MG_NODE(kids[i])->epoch < base)
                    stack[depth++] = kids[i];
            if (MG_NODE(kids[0])->epoch < base) {
                next = kids[0];
                continue;
            }
        }
        for (;;) {
            PyObject *top;
            if (depth == 0) {
                status = 0;
                goto done;
            }
            top = stack[--depth];
            if ((uintptr_t)top & EXPANDED) {
                if (finish(s, (PyObject *)((uintptr_t)top & ~EXPANDED), base) < 0)
                    goto no_memory;
            } else if (MG_NODE(top)->epoch < base) {
                next = top;
                break;
            }
        }
    }
resorted:
    PyErr_SetString(PyExc_RuntimeError, "a signal handler sorted a graph while grad sorted "
                    "this one: call it again");
    goto failed;
no_memory:
    PyErr_NoMemory();
failed:
done:
    mg_buffer_give(&stack_buf);
    return status;
}

/* The refusal a live node calls for, if any (grad_checks.custom_op,
 * numbers_only). */
static int refusal(const mg_node *n, int create_graph)
{
    if (n->op != MG_CUSTOM || n->u.nary == NULL)
        return 0;
    if (n->u.nary->backward != NULL)
        return MG_GRAD_CUSTOM_OP;
    if (create_graph && n->u.nary->local_grads != NULL)
        return MG_GRAD_NUMBERS_ONLY;
    return 0;
}

/* An input's place from its stamp (read before anything can sort again). */
static Py_ssize_t place_of(PyObject *o, uint64_t base, Py_ssize_t count)
{
    uint64_t e = MG_NODE(o)->epoch;
    return e > base && e <= base + (uint64_t)count ? (Py_ssize_t)(e - base - 1) : -1;
}

int mg_sweep_open(mg_sweep *s, const mg_grad_request *r, PyObject **bad)
{
    Py_ssize_t i, j, at;
    uint64_t base;
    mg_nary *e;
    int sorted;
    memset(s, 0, sizeof(*s));
    /* one sort over every output: a sum node over them, never computed */
    s->root = mg_new_nary(MG_SUM, r->n_outputs);
    if (s->root == NULL)
        return -1;
    e = MG_NODE(s->root)->u.nary;
    for (i = 0; i < r->n_outputs; i++) {
        Py_INCREF(r->outputs[i]);
        e->children[i] = r->outputs[i];
    }
    if (mg_buffer_take(&s->order_buf, MG_SCRATCH_ORDER, 0) < 0
        || mg_buffer_take(&s->kid_buf, MG_SCRATCH_KID, 0) < 0
        || mg_buffer_take(&s->first_kid_buf, MG_SCRATCH_FIRST_KID, sizeof(Py_ssize_t)) < 0) {
        PyErr_NoMemory();
        goto failed;
    }
    s->order = s->order_buf.p;
    s->kid = s->kid_buf.p;
    s->first_kid = s->first_kid_buf.p;
    s->first_kid[0] = 0;
    base = ++mg_sort_scratch.epoch;
    sorted = sort(s, base);
    if (mg_sort_scratch.epoch < base + 1 + (uint64_t)s->count)  /* past every stamp */
        mg_sort_scratch.epoch = base + 1 + (uint64_t)s->count;
    if (sorted < 0)
        goto failed;
    s->count--;  /* the root, last, is no node of the graph */
    /* one buffer: live and is_input per node, then the outputs' and inputs' places */
    if (mg_buffer_take(&s->marks_buf, MG_SCRATCH_MARKS,
                       (size_t)(r->n_outputs + r->n_inputs) * sizeof(Py_ssize_t)
                       + 2 * (size_t)(s->count + 1)) < 0) {
        PyErr_NoMemory();
        goto failed;
    }
    s->out_place = s->marks_buf.p;
    s->in_place = s->out_place + r->n_outputs;
    s->live = (unsigned char *)(s->in_place + r->n_inputs);
    s->is_input = s->live + s->count + 1;
    memset(s->live, 0, 2 * (size_t)(s->count + 1));
    for (i = 0; i < r->n_outputs; i++)  /* the root's children */
        s->out_place[i] = s->kid[s->first_kid[s->count] + i];
    for (i = 0; i < r->n_inputs; i++) {
        s->in_place[i] = at = place_of(r->inputs[i], base, s->count);
        if (at >= 0)
            s->is_input[at] = s->live[at] = 1;
    }
    for (i = 0; i < s->count; i++) {  /* children first: a node is live if a child is */
        int why;
        for (j = s->first_kid[i]; j < s->first_kid[i + 1] && !s->live[i]; j++)
            s->live[i] = s->live[s->kid[j]];
        if (s->live[i] && (why = refusal(MG_NODE(s->order[i]), r->create_graph)) != 0) {
            Py_INCREF(s->order[i]);
            *bad = s->order[i];
            mg_sweep_close(s);
            return why;
        }
    }
    return 0;
failed:
    mg_sweep_close(s);
    return -1;
}

void mg_sweep_close(mg_sweep *s)
{
    mg_buffer_give(&s->order_buf);
    mg_buffer_give(&s->first_kid_buf);
    mg_buffer_give(&s->kid_buf);
    mg_buffer_give(&s->marks_buf);
    Py_XDECREF(s->root);
    memset(s, 0, sizeof(*s));
}

int mg_grad(const mg_grad_request *r, PyObject **results, PyObject **bad)
{
    mg_sweep s;
    Py_ssize_t i;
    int status;
    mg_grad_request req = *r;
    for (i = 0; i < r->n_inputs; i++)
        results[i] = NULL;
    *bad = NULL;
    /* under no_grad nothing is recorded, so create_graph has no graph to
     * build: the numbers, as PyTorch gives them */
    if (!mg_grad_enabled())
        req.create_graph = 0;
    if (req.tangents != NULL)  /* second derivatives: create_graph's refusals */
        req.create_graph = 1;
    status = mg_sweep_open(&s, &req, bad);
    if (status != 0)
        return status;
    status = req.tangents != NULL ? mg_sweep_hvp(&s, &req, results)
           : req.create_graph ? mg_sweep_graph(&s, &req, results)
                              : mg_sweep_numbers(&s, &req, results);
    mg_sweep_close(&s);
    return status;
}
