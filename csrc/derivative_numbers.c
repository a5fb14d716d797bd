/* grad's sweep with numbers (create_graph=False): backward()'s chain rules
 * (ops.h, fused.h) with each `child->grad +=` made `adj[child's place] +=`,
 * the same arithmetic in the same order, so the same bits. The elementwise
 * cases are made from op_table.h's rows, as ops.h makes backward()'s; the
 * fused ones mirror fused.h's mg_fused_backward line by line (a test checks
 * every op and fused op against backward() bit for bit). */
#include "derivative_sweep.h"
#include "graph.h"
#include "ops.h"
#include "value.h"

/* The adjoint of the node's j-th child. */
#define ADJ(j) adj[kid[j]]
#define CHILD(e, i) MG_NODE((e)->children[i])
#define KID(n, i) MG_NODE((n)->u.kids[i])

#define NUMBERS_BINARY(code, name, layout, forward, local_a, local_b)              \
    case code: {                                                                    \
        MG_OPERANDS_A_B(layout);                                                    \
        MG_RESULT;                                                                  \
        const double d_a = (local_a), d_b = (local_b);                              \
        if (status != MG_OK)                                                        \
            return status;                                                          \
        ADJ(0) += d_a * g;                                                          \
        if (layout == MG_TWO_CHILDREN)                                              \
            ADJ(1) += d_b * g;                                                      \
        return MG_OK;                                                               \
    }
#define NUMBERS_UNARY(code, name, layout, forward, local_a, doc)                   \
    case code: {                                                                    \
        MG_OPERAND_A(layout);                                                       \
        MG_RESULT;                                                                  \
        const double d_a = (local_a);                                               \
        if (status != MG_OK)                                                        \
            return status;                                                          \
        ADJ(0) += d_a * g;                                                          \
        return MG_OK;                                                               \
    }

/* fused.h's mg_fused_backward over adjoints. */
static int fused_numbers(const mg_node *out, double g, const Py_ssize_t *kid, double *adj)
{
    int err = MG_OK;
    const mg_nary *e = mg_op_layout[out->op] == MG_CHILD_LIST ? out->u.nary : NULL;
    Py_ssize_t i = 0, n, t;
    double a, total;
    switch ((enum mg_op)out->op) {
    case MG_DOT:
        n = e->pairs;
        for (i = 0; i < n; i++) {
            ADJ(i) += CHILD(e, n + i)->data * g;
            ADJ(n + i) += CHILD(e, i)->data * g;
        }
        if (e->count > 2 * n)
            ADJ(2 * n) += g;
        return MG_OK;
    case MG_SUM:
        for (i = 0; i < e->count; i++)
            ADJ(i) += g;
        return MG_OK;
    case MG_RMS_SCALE:
        a = (-0.5 * mg_pow(e->rms.mean_square + e->rms.eps, -1.5, &err)) * g;
        a = mg_pow((double)e->count, -1.0, &err) * a;
        if (err != MG_OK)
            return err;
        for (i = 0; i < e->count; i++) {
            ADJ(i) += CHILD(e, i)->data * a;
            ADJ(i) += CHILD(e, i)->data * a;
        }
        return MG_OK;
    case MG_EXPSUM:
        for (i = 0; i < e->count; i++)
            ADJ(i) += mg_shifted_exp(CHILD(e, i), e->exps.shift, &err) * g;
        return err;
    case MG_NLL:
        n = e->count - 1;
        err = mg_as_index(CHILD(e, n)->data, n, &i);
        if (err != MG_OK)
            return err;
        a = g / e->exps.total;
        for (t = 0; t < n; t++)
            ADJ(t) += mg_shifted_exp(CHILD(e, t), e->exps.shift, &err) * a;
        ADJ(i) += -1.0 * g;
        return err;
    case MG_SOFTMAX:
        a = mg_softmax_numerator(out, &err);
        if (err != MG_OK)
            return err;
        total = KID(out, 1)->data;
        ADJ(0) += a * (mg_pow(total, -1.0, &err) * g);
        ADJ(1) += (-1.0 * mg_pow(total, -2.0, &err)) * (a * g);
        return err;
    case MG_LOG_SOFTMAX:
        if (mg_expsum_of(out, &err) == NULL)
            return err;
        ADJ(0) += g;
        ADJ(1) += (-1.0 * g) / KID(out, 1)->data;
        return MG_OK;
    case MG_EMBED:
        n = e->count - 1;
        err = mg_as_index(CHILD(e, n)->data, n, &i);
        if (err == MG_OK)
            ADJ(i) += g;
        return err;
    MG_BINARY_OPS(MG_OP_CASE)
    MG_UNARY_OPS(MG_OP_CASE)
    case MG_LEAF:
    case MG_CUSTOM:
        break;
    }
    return MG_ERR_NO_CASE;
}

/* ops.h's mg_backward_local over adjoints: node's adjoint g pushed into its
 * children's. A Python _backward never gets here (mg_sweep_open refuses it). */
static int local_numbers(const mg_node *node, double g, const Py_ssize_t *kid, double *adj)
{
    int status = MG_OK, *const err = &status;
    switch ((enum mg_op)node->op) {
    MG_BINARY_OPS(NUMBERS_BINARY)
    MG_UNARY_OPS(NUMBERS_UNARY)
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
        err = local_numbers(MG_NODE(s->order[i]), adj[i], s->kid + s->first_kid[i], adj);
        if (err != MG_OK)
            break;
        if ((i & MG_SIGNAL_EVERY_MASK) == 0 && i > 0 && PyErr_CheckSignals() < 0) {
            err = MG_ERR_PYTHON;
            break;
        }
    }
    for (k = 0; k < r->n_inputs && err == MG_OK; k++) {
        Py_ssize_t at = s->in_place[k];
        if (at >= 0 && (results[k] = mg_new_leaf(adj[at])) == NULL)
            err = MG_ERR_PYTHON;
    }
    mg_buffer_give(&buf);
    if (err == MG_OK)
        return 0;
    for (k = 0; k < r->n_inputs; k++)
        Py_CLEAR(results[k]);
    return mg_raise(err);
}
