#include "core/graph.h"
#include "core/ops.h"
#include "core/process_state.h"

#if defined(__GNUC__) || defined(__clang__)
#define MG_PREFETCH(p) __builtin_prefetch(p)
#else
#define MG_PREFETCH(p) ((void)0)
#endif



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

/* A stack entry is a node, with the low bit set once its children have been
 * pushed: popping such an entry finishes the node without reading it again,
 * so each node's memory is read once per sort. */
#define EXPANDED ((uintptr_t)1)

/* Whether n's chain rule can fail: return an error code, or run Python code
 * that may raise. backward() keeps a graph's grads to put them back only
 * when one of its nodes can (every code is listed: a new op must say). */
static inline int chain_rule_can_fail(const mg_node *n)
{
    switch ((enum mg_op)n->op) {
    case MG_LEAF: case MG_ADD: case MG_MUL: case MG_RELU: case MG_TANH: case MG_EXP:
    case MG_SIGMOID: case MG_SIN: case MG_COS: case MG_ABS: case MG_SQRT: case MG_DOT:
    case MG_SUM: case MG_STEP: case MG_SIGN:
        return 0;
    case MG_CUSTOM:  /* microgpt's local grads cannot fail; a Python _backward can */
        return n->u.nary != NULL && n->u.nary->backward != NULL;
    case MG_POW: case MG_POWV: case MG_LOG: case MG_RMS_SCALE: case MG_EXPSUM:
    case MG_SOFTMAX: case MG_LOG_SOFTMAX: case MG_NLL: case MG_EMBED:
        return 1;
    }
    return 1;  /* not an op code: mg_backward_local says so */
}

/* The sort, as mg_topo_order; *fallible (if not NULL) is set when a node's
 * chain rule can fail. Inlined into its two callers. Looks for Ctrl-C now
 * and then: -1 with the exception, nothing changed but epochs. */
static MG_ALWAYS_INLINE Py_ssize_t sort(PyObject *root, PyObject ***order_out,
                                        Py_ssize_t *order_cap_out, int *fallible)
{
    const uint64_t epoch = ++mg_sort_scratch.epoch;
    Py_ssize_t stack_cap, order_cap, depth = 0, count = 0, expanded = 0;
    int can_fail = 0;
    PyObject *next;
    PyObject **stack = take_spare(&mg_sort_scratch.stack, sizeof(PyObject *), &stack_cap);
    PyObject **order = take_spare(&mg_sort_scratch.order, sizeof(PyObject *), &order_cap);
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
        if (fallible != NULL)
            can_fail |= chain_rule_can_fail(n);
        if ((++expanded & MG_SIGNAL_EVERY_MASK) == 0) {
            if (PyErr_CheckSignals() < 0)
                goto failed;
            if (mg_sort_scratch.epoch != epoch)  /* a handler sorted a graph: its marks are not ours */
                goto failed_resorted;
        }
        if (nkids == 0) {
            if (count == order_cap && grow((void **)&order, &order_cap, count + 1, sizeof(PyObject *)))
                goto no_memory;
            order[count++] = next;
        } else {
            if (depth + nkids + 1 > stack_cap
                    && grow((void **)&stack, &stack_cap, depth + nkids + 1, sizeof(PyObject *)))
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
                if (count == order_cap && grow((void **)&order, &order_cap, count + 1, sizeof(PyObject *)))
                    goto no_memory;
                order[count++] = (PyObject *)((uintptr_t)top & ~EXPANDED);
            } else if (MG_NODE(top)->epoch != epoch) {  /* else reached meanwhile */
                next = top;
                break;
            }
        }
    }
done:
    give_back(&mg_sort_scratch.stack, stack, stack_cap);
    *order_out = order;
    *order_cap_out = order_cap;
    if (fallible != NULL)
        *fallible = can_fail;
    return count;

failed_resorted:
    PyErr_SetString(PyExc_RuntimeError, "a signal handler sorted a graph while backward() or "
                    "topo_order sorted this one: call it again");
    goto failed;
no_memory:
    PyErr_NoMemory();
failed:
    PyMem_Free(stack);
    PyMem_Free(order);
    return -1;
}

Py_ssize_t mg_topo_order(PyObject *root, PyObject ***order_out, Py_ssize_t *order_cap_out)
{
    return sort(root, order_out, order_cap_out, NULL);
}

/* All or nothing. A graph whose chain rules cannot fail (add, mul, the
 * unary ops but pow and log, dot, sum) is swept through: a Ctrl-C there is
 * seen by the sort, which reads every node too, or right after the sweep,
 * which takes no longer. Any other graph's grads are kept first (in the
 * order's sequence, prefetched) and put back after an error or a Ctrl-C
 * in the sweep. Keeping them costs a pass over the nodes, which the
 * commonest graphs (MLPs of add, mul, relu, tanh, dot) do not pay. */
int mg_backward(PyObject *root)
{
    PyObject **order;
    Py_ssize_t i, cap, saved_cap = 0;
    double *saved = NULL;
    int fallible, err = MG_OK;
    Py_ssize_t n = sort(root, &order, &cap, &fallible);
    if (n < 0)
        return MG_ERR_PYTHON;
    if (fallible) {
        saved = take_spare(&mg_sort_scratch.saved_grads, sizeof(double), &saved_cap);
        if (saved == NULL || grow((void **)&saved, &saved_cap, n, sizeof(double))) {
            PyMem_Free(saved);
            mg_free_order(order, cap);
            return MG_ERR_NO_MEMORY;
        }
        for (i = 0; i < n; i++) {
            if (i + 16 < n)
                MG_PREFETCH(MG_NODE(order[i + 16]));
            saved[i] = MG_NODE(order[i])->grad;
        }
    }
    MG_NODE(root)->grad = 1.0;
    for (i = n - 1; i >= 0; i--) {
        if (i >= 16)  /* the sweep's next nodes are scattered: ask for them early */
            MG_PREFETCH(MG_NODE(order[i - 16]));
        err = mg_backward_local(MG_NODE(order[i]));
        if (err != MG_OK)
            break;
        if (saved != NULL && (i & MG_SIGNAL_EVERY_MASK) == 0 && i > 0 && PyErr_CheckSignals() < 0) {
            err = MG_ERR_PYTHON;
            break;
        }
    }
    if (err != MG_OK && saved != NULL)  /* every grad of the graph as it was before the call */
        for (i = 0; i < n; i++)
            MG_NODE(order[i])->grad = saved[i];
    mg_free_order(order, cap);
    if (saved != NULL)
        give_back(&mg_sort_scratch.saved_grads, saved, saved_cap);
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
        mg_op_changes++;
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
