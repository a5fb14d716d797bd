/* grad's order and indexes (derivative_sweep.h), and mg_grad itself.
 *
 * The sort is graph.c's (the same walk, so the same order: backward()'s
 * accumulation order), with one change: it stamps each node's epoch with
 * base + 1 + its place instead of one epoch for all, so that a node's
 * children's places are read from their stamps when it finishes (a child
 * always finishes first), with no hash. The sorts' epoch then moves past
 * every stamp, so to every other sort these are old epochs, as any. A
 * signal handler that sorts meanwhile is caught as graph.c catches it. */
#include "derivative_sweep.h"
#include "graph.h"
#include "grad_mode.h"
#include "value.h"

#define EXPANDED ((uintptr_t)1)  /* a stack entry whose children are pushed */

static int grow(void **array, Py_ssize_t *cap, Py_ssize_t need, size_t size)
{
    Py_ssize_t new_cap = *cap > 0 ? *cap : 256;
    void *p;
    if (need <= *cap)
        return 0;
    while (new_cap < need)
        new_cap *= 2;
    p = PyMem_Realloc(*array, (size_t)new_cap * size);
    if (p == NULL)
        return -1;
    *array = p;
    *cap = new_cap;
    return 0;
}

/* The capacities of the sweep's growing arrays. */
typedef struct caps { Py_ssize_t first_kid, kid; } caps;

/* Appends n (finished) to the order with its children's places; 0 or -1. */
static int finish(mg_sweep *s, PyObject *o, uint64_t base, caps *c)
{
    mg_node *n = MG_NODE(o);
    PyObject *const *kids;
    Py_ssize_t j, nkids = mg_children(n, &kids), edges = s->first_kid[s->count];
    if (grow((void **)&s->order, &s->order_cap, s->count + 1, sizeof(PyObject *))
        || grow((void **)&s->first_kid, &c->first_kid, s->count + 2, sizeof(Py_ssize_t))
        || grow((void **)&s->kid, &c->kid, edges + nkids, sizeof(Py_ssize_t)))
        return -1;
    for (j = 0; j < nkids; j++)
        s->kid[edges + j] = (Py_ssize_t)(MG_NODE(kids[j])->epoch - base - 1);
    n->epoch = base + 1 + (uint64_t)s->count;
    s->order[s->count++] = o;
    s->first_kid[s->count] = edges + nkids;
    return 0;
}

/* Sorts from s->root. 0, or -1 with an exception. */
static int sort(mg_sweep *s, uint64_t base)
{
    Py_ssize_t stack_cap = 0, depth = 0, expanded = 0;
    caps c = {0, 0};
    PyObject **stack = NULL, *next = s->root;
    int status = -1;
    if (grow((void **)&stack, &stack_cap, 256, sizeof(PyObject *))
        || grow((void **)&s->first_kid, &c.first_kid, 256, sizeof(Py_ssize_t)))
        goto no_memory;
    s->first_kid[0] = 0;
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
            if (finish(s, next, base, &c) < 0)
                goto no_memory;
        } else {
            if (grow((void **)&stack, &stack_cap, depth + nkids + 1, sizeof(PyObject *)))
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
                if (finish(s, (PyObject *)((uintptr_t)top & ~EXPANDED), base, &c) < 0)
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
    PyMem_Free(stack);
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
    base = ++mg_sort_scratch.epoch;
    sorted = sort(s, base);
    if (mg_sort_scratch.epoch < base + 1 + (uint64_t)s->count)  /* past every stamp */
        mg_sort_scratch.epoch = base + 1 + (uint64_t)s->count;
    if (sorted < 0)
        goto failed;
    s->count--;  /* the root, last, is no node of the graph */
    s->live = PyMem_Calloc((size_t)s->count + 1, 1);
    s->is_input = PyMem_Calloc((size_t)s->count + 1, 1);
    s->out_place = PyMem_Malloc((size_t)r->n_outputs * sizeof(Py_ssize_t));
    s->in_place = PyMem_Malloc((size_t)r->n_inputs * sizeof(Py_ssize_t) + 1);
    if (s->live == NULL || s->is_input == NULL || s->out_place == NULL || s->in_place == NULL) {
        PyErr_NoMemory();
        goto failed;
    }
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
    PyMem_Free(s->order);
    PyMem_Free(s->first_kid);
    PyMem_Free(s->kid);
    PyMem_Free(s->live);
    PyMem_Free(s->is_input);
    PyMem_Free(s->out_place);
    PyMem_Free(s->in_place);
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
    status = mg_sweep_open(&s, &req, bad);
    if (status != 0)
        return status;
    status = req.create_graph ? mg_sweep_graph(&s, &req, results)
                              : mg_sweep_numbers(&s, &req, results);
    mg_sweep_close(&s);
    return status;
}
