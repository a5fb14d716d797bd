/* grad's sweep with numbers (create_graph=False): backward()'s chain rules
 * (ops.h, fused.h) with each `child->grad +=` made `adj[child's place] +=`,
 * the same arithmetic in the same order, so the same bits. The elementwise
 * cases are made from op_table.h's rows, as ops.h makes backward()'s; the
 * fused ones from fused_chain_rule.h, as fused.h makes backward()'s (a test
 * checks every op and fused op against backward() bit for bit). */
#include "derivative/derivative_sweep.h"
#include "core/graph.h"
#include "core/ops.h"
#include "core/value.h"

/* The adjoint of the node's j-th child. */
#define ADJ(j) adj[kid[j]]
#define CHILD(e, i) MG_NODE((e)->children[i])
#define KID(n, i) MG_NODE((n)->u.kids[i])

/* fused.h's chain rules (fused_chain_rule.h) over adjoints */
#define MG_CHAIN_RULE_NAME fused_numbers
#define MG_CHAIN_RULE_PARAMS , const Py_ssize_t *kid, double *adj
#define MG_GRAD(j) ADJ(j)
#include "core/fused_chain_rule.h"

/* ops.h's mg_backward_local over adjoints: node's adjoint g pushed into its
 * children's. A Python _backward never gets here (mg_sweep_open refuses it). */
int mg_local_numbers(const mg_node *node, double g, const Py_ssize_t *kid, double *adj)
{
    int status = MG_OK, *const err = &status;
#undef MG_CHILD_GRAD
#define MG_CHILD_GRAD(j) ADJ(j)
    switch ((enum mg_op)node->op) {
    MG_BINARY_OPS(MG_CHAIN_RULE_BINARY)
    MG_UNARY_OPS(MG_CHAIN_RULE_UNARY)
    MG_FUSED_OPS(MG_OP_CASE)
        return fused_numbers(node, g, kid, adj);
    case MG_CUSTOM: {  /* microgpt's local grads, or none (micrograd's no-op) */
        const mg_nary *e = node->u.nary;
        Py_ssize_t i;
        if (e != NULL && e->local_grads != NULL)
            for (i = 0; i < e->count; i++)
                ADJ(i) += PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(e->local_grads, i)) * g;
        return MG_OK;
    }
    case MG_LEAF:
        return MG_OK;
    }
    return MG_ERR_NO_CASE;
}

int mg_sweep_numbers(const mg_sweep *s, const mg_grad_request *r, PyObject **results)
{
    Py_ssize_t i, k;
    int err = MG_OK;
    mg_buffer buf;
    double *adj;
    if (mg_buffer_take(&buf, MG_SCRATCH_ADJOINTS, (size_t)(s->count + 1) * sizeof(double)) < 0) {
        mg_buffer_give(&buf);
        PyErr_NoMemory();
        return -1;
    }
    adj = buf.p;
    memset(adj, 0, (size_t)s->count * sizeof(double));
    for (k = 0; k < r->n_outputs; k++) {  /* 0.0 + 1.0: backward()'s root grad of 1.0 */
        adj[s->out_place[k]] += r->seed_values[k] != NULL ? MG_NODE(r->seed_values[k])->data
                                             : r->seed_numbers[k];
    }
    for (i = s->count - 1; i >= 0; i--) {
        if (!s->live[i])
            continue;
        err = mg_local_numbers(MG_NODE(s->order[i]), adj[i], s->kid + s->first_kid[i], adj);
        if (err != MG_OK)
            break;
        if ((i & MG_SIGNAL_EVERY_MASK) == 0 && i > 0 && PyErr_CheckSignals() < 0) {
            err = MG_ERR_PYTHON;
            break;
        }
    }
    err = mg_leaves_of(s, r, adj, err, results);
    mg_buffer_give(&buf);
    return err;
}

int mg_leaves_of(const mg_sweep *s, const mg_grad_request *r, const double *numbers, int err,
                 PyObject **results)
{
    Py_ssize_t k;
    for (k = 0; k < r->n_inputs && err == MG_OK; k++) {
        Py_ssize_t at = s->in_place[k];
        if (at >= 0 && (results[k] = mg_new_leaf(numbers[at])) == NULL)
            err = MG_ERR_PYTHON;
    }
    if (err == MG_OK)
        return 0;
    for (k = 0; k < r->n_inputs; k++)
        Py_CLEAR(results[k]);
    return mg_raise(err);
}
