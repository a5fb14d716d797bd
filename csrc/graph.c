#include "graph.h"
#include "ops.h"
#include "process_state.h"

#if defined(__GNUC__) || defined(__clang__)
#define MG_PREFETCH(p) __builtin_prefetch(p)
#else
#define MG_PREFETCH(p) ((void)0)
#endif


/* Scratch arrays kept between sorts (process_state.h), so that a training
 * loop's backward() neither allocates nor faults in fresh pages. A sort takes
 * them (leaving NULL, so a nested or concurrent sort allocates its own) and
 * gives them back. Very large ones are not kept. */
#define KEEP_AT_MOST ((Py_ssize_t)1 << 22)

static PyObject **take_spare(PyObject ***spare, Py_ssize_t *spare_cap, Py_ssize_t *cap)
{
    PyObject **a = *spare;
    if (a != NULL) {
        *cap = *spare_cap;
        *spare = NULL;
        return a;
    }
    *cap = 256;
    return PyMem_Malloc(*cap * sizeof(PyObject *));
}

static void give_back(PyObject ***spare, Py_ssize_t *spare_cap, PyObject **a, Py_ssize_t cap)
{
    if (*spare == NULL && cap <= KEEP_AT_MOST) {
        *spare = a;
        *spare_cap = cap;
    } else {
        PyMem_Free(a);
    }
}

void mg_free_order(PyObject **order, Py_ssize_t cap)
{
    give_back(&mg_sort_scratch.order, &mg_sort_scratch.order_cap, order, cap);
}

/* Doubles *cap until it holds need elements; 0 on success. */
static int grow(PyObject ***array, Py_ssize_t *cap, Py_ssize_t need)
{
    Py_ssize_t new_cap = *cap;
    PyObject **p;
    if (need <= *cap)
        return 0;
    while (new_cap < need)
        new_cap *= 2;
    p = PyMem_Realloc(*array, (size_t)new_cap * sizeof(PyObject *));
    if (p == NULL)
        return -1;
    *array = p;
    *cap = new_cap;
    return 0;
}

/* A stack entry is a node, with the low bit set once its children have been
 * pushed: popping such an entry finishes the node without reading it again,
 * so each node's memory is read once per sort. */
#define EXPANDED ((uintptr_t)1)

Py_ssize_t mg_topo_order(PyObject *root, PyObject ***order_out, Py_ssize_t *order_cap_out)
{
    const uint64_t epoch = ++mg_sort_scratch.epoch;  /* a fresh visited mark: 48 bits never wrap */
    Py_ssize_t stack_cap, order_cap, depth = 0, count = 0;
    PyObject *next;
    PyObject **stack = take_spare(&mg_sort_scratch.stack, &mg_sort_scratch.stack_cap, &stack_cap);
    PyObject **order = take_spare(&mg_sort_scratch.order, &mg_sort_scratch.order_cap, &order_cap);
    if (stack == NULL || order == NULL)
        goto no_memory;

    next = root;
    for (;;) {
        /* next is reached for the first time: mark it and expand it */
        mg_node *n = MG_NODE(next);
        PyObject *const *kids;
        Py_ssize_t i, nkids;
        n->epoch = epoch;
        nkids = mg_children(n, &kids);
        if (nkids == 0) {
            if (count == order_cap && grow(&order, &order_cap, count + 1))
                goto no_memory;
            order[count++] = next;
        } else {
            if (depth + nkids + 1 > stack_cap && grow(&stack, &stack_cap, depth + nkids + 1))
                goto no_memory;
            /* the first child is walked at once; the others wait on the stack
             * in reverse, so children finish in turn, as in the recursive sort */
            stack[depth++] = (PyObject *)((uintptr_t)next | EXPANDED);
            for (i = nkids - 1; i >= 1; i--) {
                if (MG_NODE(kids[i])->epoch != epoch)
                    stack[depth++] = kids[i];
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
            top = stack[--depth];
            if ((uintptr_t)top & EXPANDED) {
                if (count == order_cap && grow(&order, &order_cap, count + 1))
                    goto no_memory;
                order[count++] = (PyObject *)((uintptr_t)top & ~EXPANDED);
            } else if (MG_NODE(top)->epoch != epoch) {  /* else reached meanwhile */
                next = top;
                break;
            }
        }
    }
done:
    give_back(&mg_sort_scratch.stack, &mg_sort_scratch.stack_cap, stack, stack_cap);
    *order_out = order;
    *order_cap_out = order_cap;
    return count;

no_memory:
    PyMem_Free(stack);
    PyMem_Free(order);
    return -1;
}

int mg_backward(PyObject *root)
{
    PyObject **order;
    Py_ssize_t i, cap, n = mg_topo_order(root, &order, &cap);
    int err = MG_OK;
    if (n < 0)
        return MG_ERR_NO_MEMORY;
    MG_NODE(root)->grad = 1.0;
    for (i = n - 1; i >= 0 && err == MG_OK; i--) {
        if (i >= 16)  /* the sweep's next nodes are scattered: ask for them early */
            MG_PREFETCH(MG_NODE(order[i - 16]));
        err = mg_backward_local(MG_NODE(order[i]));
    }
    mg_free_order(order, cap);
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
