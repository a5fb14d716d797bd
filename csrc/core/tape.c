#include "core/tape.h"
#include "core/graph.h"
#include "core/ops.h"


int mg_tape_forward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n, double *saved)
{
    Py_ssize_t i, j;
    int err = MG_OK;
    for (i = 0; i < n; i++) {
        mg_node *node = MG_NODE(order[i]);
        if (node->op != ops[i]) {
            err = MG_ERR_STALE_TAPE;
            break;
        }
        if (saved != NULL)
            saved[i] = node->data;
        if (node->op == MG_LEAF)
            continue;
        err = mg_forward(node);  /* leaves node->data as it was on an error */
        if (err != MG_OK)
            break;
        if ((i & MG_SIGNAL_EVERY_MASK) == 0 && i > 0 && PyErr_CheckSignals() < 0) {
            err = MG_ERR_PYTHON;
            i++;  /* node i is done: it is put back too */
            break;
        }
    }
    if (err != MG_OK && saved != NULL)
        for (j = 0; j < i; j++)
            MG_NODE(order[j])->data = saved[j];
    return err;
}

int mg_tape_backward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n, double *saved)
{
    Py_ssize_t i;
    int err = MG_OK;
    if (n == 0)
        return MG_OK;
    for (i = 0; i < n; i++) {
        mg_node *node = MG_NODE(order[i]);
        if (node->op != ops[i]) {
            n = i;  /* only these were zeroed */
            err = MG_ERR_STALE_TAPE;
            break;
        }
        saved[i] = node->grad;
        if (node->op != MG_LEAF && node->op != MG_CUSTOM)  /* a taped custom node has no children */
            node->grad = 0.0;
    }
    if (err == MG_OK)
        MG_NODE(order[n - 1])->grad = 1.0;
    for (i = n - 1; i >= 0 && err == MG_OK; i--) {
        err = mg_backward_local(MG_NODE(order[i]));
        if (err != MG_OK)
            break;
        if ((i & MG_SIGNAL_EVERY_MASK) == 0 && i > 0 && PyErr_CheckSignals() < 0) {
            err = MG_ERR_PYTHON;
            break;
        }
    }
    if (err != MG_OK)
        for (i = 0; i < n; i++)
            MG_NODE(order[i])->grad = saved[i];
    return err;
}
