/* grad's order and indexes (derivative_sweep.h), and mg_grad itself. */
#include "derivative_sweep.h"
#include "graph.h"
#include "grad_mode.h"
#include "value.h"

/* Fibonacci hashing of a node's address: the low bits of an address are
 * alignment, the multiply spreads the rest over the top bits. */
static inline size_t slot_of(const mg_sweep *s, PyObject *node)
{
    return (size_t)(((uint64_t)(uintptr_t)node * 0x9E3779B97F4A7C15ull) >> s->hash_shift);
}

Py_ssize_t mg_sweep_place(const mg_sweep *s, PyObject *node)
{
    size_t h = slot_of(s, node);
    for (;;) {
        Py_ssize_t at = s->slots[h];
        if (at == 0)
            return -1;
        if (s->order[at - 1] == node)
            return at - 1;
        h = (h + 1) & s->mask;
    }
}

static int build_hash(mg_sweep *s)
{
    Py_ssize_t i;
    int bits = 4;
    while (((Py_ssize_t)1 << bits) < 2 * s->count)  /* at most half full */
        bits++;
    s->mask = ((size_t)1 << bits) - 1;
    s->hash_shift = 64 - bits;
    s->slots = PyMem_Calloc((size_t)1 << bits, sizeof(Py_ssize_t));
    if (s->slots == NULL)
        return -1;
    for (i = 0; i < s->count; i++) {  /* every node is in the order once */
        size_t h = slot_of(s, s->order[i]);
        while (s->slots[h] != 0)
            h = (h + 1) & s->mask;
        s->slots[h] = i + 1;
    }
    return 0;
}

/* Each node's children as places; a child comes before its parent. */
static int index_children(mg_sweep *s)
{
    Py_ssize_t i, j, edges = 0;
    for (i = 0; i < s->count; i++) {
        PyObject *const *kids;
        edges += mg_children(MG_NODE(s->order[i]), &kids);
    }
    s->first_kid = PyMem_Malloc((size_t)(s->count + 1) * sizeof(Py_ssize_t));
    s->kid = PyMem_Malloc((size_t)(edges > 0 ? edges : 1) * sizeof(Py_ssize_t));
    if (s->first_kid == NULL || s->kid == NULL)
        return -1;
    edges = 0;
    for (i = 0; i < s->count; i++) {
        PyObject *const *kids;
        Py_ssize_t n = mg_children(MG_NODE(s->order[i]), &kids);
        s->first_kid[i] = edges;
        for (j = 0; j < n; j++)
            s->kid[edges++] = mg_sweep_place(s, kids[j]);
    }
    s->first_kid[s->count] = edges;
    return 0;
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

int mg_sweep_open(mg_sweep *s, const mg_grad_request *r, PyObject **bad)
{
    Py_ssize_t i, j, n;
    mg_nary *e;
    memset(s, 0, sizeof(*s));
    /* one sort over every output: a sum node over them, never computed,
     * freed at close (for one output the order is backward()'s) */
    s->root = mg_new_nary(MG_SUM, r->n_outputs);
    if (s->root == NULL)
        return -1;
    e = MG_NODE(s->root)->u.nary;
    for (i = 0; i < r->n_outputs; i++) {
        Py_INCREF(r->outputs[i]);
        e->children[i] = r->outputs[i];
    }
    n = mg_topo_order(s->root, &s->order, &s->order_cap);
    if (n < 0) {
        s->order = NULL;
        goto failed;
    }
    s->count = n - 1;  /* the root is last */
    s->live = PyMem_Calloc((size_t)n, 1);
    s->is_input = PyMem_Calloc((size_t)n, 1);
    if (s->live == NULL || s->is_input == NULL || build_hash(s) < 0 || index_children(s) < 0) {
        PyErr_NoMemory();
        goto failed;
    }
    for (i = 0; i < r->n_inputs; i++) {
        Py_ssize_t at = mg_sweep_place(s, r->inputs[i]);
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
    if (s->order != NULL)
        mg_free_order(s->order, s->order_cap);
    PyMem_Free(s->first_kid);
    PyMem_Free(s->kid);
    PyMem_Free(s->live);
    PyMem_Free(s->is_input);
    PyMem_Free(s->slots);
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
