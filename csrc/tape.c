#include "tape.h"
#include "ops.h"

int mg_tape_forward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n)
{
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        mg_node *node = MG_NODE(order[i]);
        int err;
        if (node->op != ops[i])
            return MG_ERR_STALE_TAPE;
        if (node->op == MG_LEAF)
            continue;
        err = mg_forward(node);
        if (err != MG_OK)
            return err;
    }
    return MG_OK;
}

int mg_tape_backward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n)
{
    Py_ssize_t i;
    if (n == 0)
        return MG_OK;
    for (i = 0; i < n; i++) {
        mg_node *node = MG_NODE(order[i]);
        if (node->op != ops[i])
            return MG_ERR_STALE_TAPE;
        if (node->op != MG_LEAF && node->op != MG_CUSTOM)  /* a taped custom node has no children */
            node->grad = 0.0;
    }
    MG_NODE(order[n - 1])->grad = 1.0;
    for (i = n - 1; i >= 0; i--) {
        int err = mg_backward_local(MG_NODE(order[i]));
        if (err != MG_OK)
            return err;
    }
    return MG_OK;
}
