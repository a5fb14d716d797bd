#include "graph.h"
#include "ops.h"
#include "process_state.h"

#if defined(__GNUC__) || defined(__clang__)
#define MG_PREFETCH(p) __builtin_prefetch(p)
#else
#define MG_PREFETCH(p) ((void)0)
#endif


/* A loop over user input that can run for seconds (a sort or sweep of
 * millions of nodes) looks for Ctrl-C this often: a KeyboardInterrupt, and
 * what was changed is put back. */
#define SIGNAL_EVERY_MASK (((Py_ssize_t)1 << 18) - 1)

/* The sorts' scratch arrays (process_state.h) are taken and given back;
 * very large ones are not kept. */
#define KEEP_AT_MOST ((Py_ssize_t)1 << 22)

typedef struct mg_spare spare;

static void *take_spare(spare *s, size_t size, Py_ssize_t *cap)
{
    void *a = s->array;
    if (a != NULL) {
        *cap = s->cap;
        s->array = NULL;
        return a;
    }
    *cap = 256;
    return PyMem_Malloc(*cap * size);
}

static void give_back(spare *s, void *a, Py_ssize_t cap)
{
    if (s->array == NULL && cap <= KEEP_AT_MOST) {
        s->array = a;
        s->cap = cap;
    } else {
        PyMem_Free(a);
    }
}

void mg_free_order(PyObject **order, Py_ssize_t cap)
{
    give_back(&mg_sort_scratch.order, order, cap);
}

/* Grows *array (of elements of size bytes) to hold need of them, doubling
 * *cap; 0 on success. */
static int grow(void **array, Py_ssize_t *cap, Py_ssize_t need, size_t size)
{
    Py_ssize_t new_cap = *cap;
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

/* An array and, when saving, a parallel array of grads, grown together. */
typedef struct column {
    PyObject **nodes;
    double *grads;  /* NULL unless saving */
    Py_ssize_t cap, grads_cap;
} column;

static int column_grow(column *c, Py_ssize_t need)
{
    if (grow((void **)&c->nodes, &c->cap, need, sizeof(PyObject *)))
        return -1;
    return c->grads != NULL && grow((void **)&c->grads, &c->grads_cap, c->cap, sizeof(double));
}

/* A stack entry is a node, with the low bit set once its children have been
 * pushed: popping such an entry finishes the node without reading it again,
 * so each node's memory is read once per sort. */
#define EXPANDED ((uintptr_t)1)

/* The sort, as mg_topo_order; with saving, *order also carries each node's
 * grad as it was when the sort reached it (read then, while its memory is
 * at hand: backward's way back after an error). Inlined into its two
 * callers, so the plain sort carries none of it. */
static MG_ALWAYS_INLINE Py_ssize_t sort(PyObject *root, column *order, int saving)
{
    const uint64_t epoch = ++mg_sort_scratch.epoch;
    Py_ssize_t depth = 0, count = 0, expanded = 0;
    PyObject *next;
    column stack = {NULL, NULL, 0, 0};
    stack.nodes = take_spare(&mg_sort_scratch.stack, sizeof(PyObject *), &stack.cap);
    order->nodes = take_spare(&mg_sort_scratch.order, sizeof(PyObject *), &order->cap);
    order->grads = NULL;
    if (saving) {
        stack.grads = take_spare(&mg_sort_scratch.stack_grads, sizeof(double), &stack.grads_cap);
        order->grads = take_spare(&mg_sort_scratch.order_grads, sizeof(double), &order->grads_cap);
        if (stack.grads == NULL || order->grads == NULL
                || grow((void **)&stack.grads, &stack.grads_cap, stack.cap, sizeof(double))
                || grow((void **)&order->grads, &order->grads_cap, order->cap, sizeof(double)))
            goto no_memory;
    }
    if (stack.nodes == NULL || order->nodes == NULL)
        goto no_memory;

    next = root;
    for (;;) {
        /* next is reached for the first time: mark it and expand it */
        mg_node *n = MG_NODE(next);
        PyObject *const *kids;
        Py_ssize_t i, nkids;
        n->epoch = epoch;
        nkids = mg_children(n, &kids);
        if ((++expanded & SIGNAL_EVERY_MASK) == 0 && PyErr_CheckSignals() < 0)
            goto failed;
        if (nkids == 0) {
            if (count == order->cap && column_grow(order, count + 1))
                goto no_memory;
            if (saving)
                order->grads[count] = n->grad;
            order->nodes[count++] = next;
        } else {
            if (depth + nkids + 1 > stack.cap && column_grow(&stack, depth + nkids + 1))
                goto no_memory;
            /* the first child is walked at once; the others wait on the stack
             * in reverse, so children finish in turn, as in the recursive sort */
            if (saving)
                stack.grads[depth] = n->grad;
            stack.nodes[depth++] = (PyObject *)((uintptr_t)next | EXPANDED);
            for (i = nkids - 1; i >= 1; i--) {
                if (MG_NODE(kids[i])->epoch != epoch)
                    stack.nodes[depth++] = kids[i];
            }
            if (MG_NODE(kids[0])->epoch != epoch) {
                next = kids[0];
                continue;
            }
        }
        /* unwind: finish expanded nodes until one not yet reached turns up */
        for (;;) {
            PyObject *top;
            if (depth == 0)
                goto done;
            top = stack.nodes[--depth];
            if ((uintptr_t)top & EXPANDED) {
                if (count == order->cap && column_grow(order, count + 1))
                    goto no_memory;
                if (saving)
                    order->grads[count] = stack.grads[depth];
                order->nodes[count++] = (PyObject *)((uintptr_t)top & ~EXPANDED);
            } else if (MG_NODE(top)->epoch != epoch) {  /* else reached meanwhile */
                next = top;
                break;
            }
        }
    }
done:
    give_back(&mg_sort_scratch.stack, stack.nodes, stack.cap);
    if (saving)
        give_back(&mg_sort_scratch.stack_grads, stack.grads, stack.grads_cap);
    return count;

no_memory:
    PyErr_NoMemory();
failed:
    PyMem_Free(stack.nodes);
    PyMem_Free(stack.grads);
    PyMem_Free(order->nodes);
    PyMem_Free(order->grads);
    return -1;
}

Py_ssize_t mg_topo_order(PyObject *root, PyObject ***order_out, Py_ssize_t *order_cap_out)
{
    column order;
    Py_ssize_t n = sort(root, &order, 0);
    *order_out = order.nodes;
    *order_cap_out = order.cap;
    return n;
}

int mg_backward(PyObject *root)
{
    column order;
    Py_ssize_t i, n = sort(root, &order, 1);
    int err = MG_OK;
    if (n < 0)
        return MG_ERR_PYTHON;
    MG_NODE(root)->grad = 1.0;
    for (i = n - 1; i >= 0; i--) {
        if (i >= 16)  /* the sweep's next nodes are scattered: ask for them early */
            MG_PREFETCH(MG_NODE(order.nodes[i - 16]));
        err = mg_backward_local(MG_NODE(order.nodes[i]));
        if (err != MG_OK)
            break;
        if ((i & SIGNAL_EVERY_MASK) == 0 && i > 0 && PyErr_CheckSignals() < 0) {
            err = MG_ERR_PYTHON;
            break;
        }
    }
    if (err != MG_OK)  /* every grad of the graph as it was before the call */
        for (i = 0; i < n; i++)
            MG_NODE(order.nodes[i])->grad = order.grads[i];
    mg_free_order(order.nodes, order.cap);
    give_back(&mg_sort_scratch.order_grads, order.grads, order.grads_cap);
    return err;
}

mg_nary *mg_nary_new(Py_ssize_t count)
{
    mg_nary *e;
    if (count < 0 || (size_t)count > (PY_SSIZE_T_MAX - sizeof(mg_nary)) / sizeof(PyObject *))
        return NULL;
    e = PyMem_Calloc(1, sizeof(mg_nary) + (size_t)count * sizeof(PyObject *));
    if (e != NULL)
        e->count = count;
    return e;
}

int mg_set_custom_backward(mg_node *n, PyObject *fn, PyObject *op_name)
{
    PyObject *old;
    if (n->op != MG_CUSTOM) {
        PyObject *const *kids;
        Py_ssize_t i, nkids = mg_children(n, &kids);
        mg_nary *e = mg_nary_new(nkids);
        if (e == NULL)
            return MG_ERR_NO_MEMORY;
        for (i = 0; i < nkids; i++)  /* the references move into e */
            e->children[i] = kids[i];
        if (mg_op_layout[n->op] == MG_CHILD_LIST)
            PyMem_Free(n->u.nary);
        Py_INCREF(op_name);
        e->op_name = op_name;
        n->u.nary = e;
        n->op = MG_CUSTOM;
    }
    if (n->u.nary == NULL) {
        n->u.nary = mg_nary_new(0);
        if (n->u.nary == NULL)
            return MG_ERR_NO_MEMORY;
    }
    old = n->u.nary->backward;
    Py_XINCREF(fn);
    n->u.nary->backward = fn;
    Py_XDECREF(old);
    return MG_OK;
}

static void drop_reference(PyObject *o)
{
    Py_DECREF(o);
}

void mg_release_children(mg_node *n)
{
    mg_release_children_with(n, drop_reference);
}

int mg_traverse_children(mg_node *n, visitproc visit, void *arg)
{
    PyObject *const *kids;
    Py_ssize_t i, nkids = mg_children(n, &kids);
    for (i = 0; i < nkids; i++)
        Py_VISIT(kids[i]);
    if (n->op == MG_CUSTOM && n->u.nary != NULL)
        Py_VISIT(n->u.nary->backward);  /* op_name and local_grads: strs and floats */
    return 0;
}

void mg_clear_closure(mg_node *n)
{
    if (n->op == MG_CUSTOM && n->u.nary != NULL)
        Py_CLEAR(n->u.nary->backward);
}
