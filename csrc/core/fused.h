/* The fused ops: one node where written-out scalar code makes many, with
 * that code's arithmetic in that code's order, so the forward gives the same
 * bits; their chain rules give the same gradients to rounding. ops.h
 * dispatches here. The written-out code each one replaces:
 *
 *   dot       sum((w * x for w, x in zip(ws, xs)), start)
 *   sum       sum(values, start)
 *   rmsnorm   (sum(x * x for x in xs) / len(xs) + eps) ** -0.5, the scale of
 *             microgpt's rmsnorm (its outputs are x * scale: plain products)
 *   expsum    sum((x - max_x).exp() for x in xs), max_x = max(x.data ...),
 *             the max taken here, in the node, so a tape replays it
 *   softmax   e / total: e = (x_i - max_x).exp(), total the expsum
 *   log_softmax  (x_i - max_x) - total.log()
 *   cross_entropy  total.log() - (x_t - max_x), t the target Value's data
 *   embedding  table[int(index.data)][j], one node per column j
 */
#ifndef MG_FUSED_H
#define MG_FUSED_H

#include "ops/float_math.h"

#define KID(n, i) MG_NODE((n)->u.kids[i])
#define CHILD(e, i) MG_NODE((e)->children[i])

/* The codes ops.h handles itself and never passes here. The switches below
 * list them anyway, so that each names every code: a fused op without a
 * case is a compile error (-Werror=switch), never a silent default. */
#define MG_NOT_FUSED_CASES                                                          \
    MG_BINARY_OPS(MG_OP_CASE)                                                       \
    MG_UNARY_OPS(MG_OP_CASE)                                                        \
    case MG_LEAF:                                                                   \
    case MG_CUSTOM

/* Python's max(): the first of the largest; NaN if the first is NaN. */
static inline double mg_children_max(const mg_nary *e, Py_ssize_t count)
{
    Py_ssize_t i;
    double top = CHILD(e, 0)->data;
    for (i = 1; i < count; i++)
        if (CHILD(e, i)->data > top)
            top = CHILD(e, i)->data;
    return top;
}

/* x as an index in [0, n): MG_OK, or why it is not one. */
static inline int mg_as_index(double x, Py_ssize_t n, Py_ssize_t *index)
{
    if (isnan(x) || (isfinite(x) && x != floor(x)))
        return MG_ERR_NOT_INTEGRAL;
    if (!(x >= 0.0 && x < (double)n))
        return MG_ERR_INDEX_RANGE;
    *index = (Py_ssize_t)x;
    return MG_OK;
}

/* exp(x - shift) as the written-out code has it: x + (-shift), then exp */
static inline double mg_shifted_exp(const mg_node *x, double shift, int *err)
{
    return mg_exp(x->data + (-shift), err);
}

/* The sum of exp(x - shift) over the first count children, left to right
 * from micrograd's start of 0. */
static inline double mg_sum_of_exps(const mg_nary *e, Py_ssize_t count, double shift, int *err)
{
    Py_ssize_t i;
    double total = 0.0;
    for (i = 0; i < count; i++)
        total = total + mg_shifted_exp(CHILD(e, i), shift, err);
    return total;
}

/* The expsum node a softmax output reads (its second child). */
static inline const mg_nary *mg_expsum_of(const mg_node *out, int *err)
{
    if (KID(out, 1)->op != MG_EXPSUM) {
        *err = MG_ERR_NOT_EXPSUM;
        return NULL;
    }
    return KID(out, 1)->u.nary;
}

/* A softmax output's numerator, exp(x_i - max); *err set (and NaN) if its
 * expsum node is not one any more. */
static inline double mg_softmax_numerator(const mg_node *out, int *err)
{
    const mg_nary *z = mg_expsum_of(out, err);
    return z == NULL ? NAN : mg_shifted_exp(KID(out, 0), z->exps.shift, err);
}

static inline int mg_fused_forward(mg_node *out, double *r)
{
    int err = MG_OK;
    const mg_nary *z;
    mg_nary *e = mg_op_layout[out->op] == MG_CHILD_LIST ? out->u.nary : NULL;
    Py_ssize_t i = 0, n;
    double acc, shift, total;
    switch ((enum mg_op)out->op) {
    case MG_DOT:
        n = e->pairs;
        acc = e->count > 2 * n ? CHILD(e, 2 * n)->data : e->start;
        for (i = 0; i < n; i++)
            acc = acc + CHILD(e, i)->data * CHILD(e, n + i)->data;
        *r = acc;
        return MG_OK;
    case MG_SUM:
        i = 0;
        acc = (out->flags & MG_START_IS_CHILD) ? CHILD(e, i++)->data : e->start;
        for (; i < e->count; i++)
            acc = acc + CHILD(e, i)->data;
        *r = acc;
        return MG_OK;
    case MG_RMS_SCALE:
        acc = 0.0;
        for (i = 0; i < e->count; i++)
            acc = acc + CHILD(e, i)->data * CHILD(e, i)->data;
        acc = acc * mg_pow((double)e->count, -1.0, &err);
        *r = mg_pow(acc + e->rms.eps, -0.5, &err);
        if (err == MG_OK)
            e->rms.mean_square = acc;
        return err;
    case MG_EXPSUM:
    case MG_NLL:
        n = out->op == MG_NLL ? e->count - 1 : e->count;
        if (out->op == MG_NLL)
            err = mg_as_index(CHILD(e, n)->data, n, &i);
        shift = mg_children_max(e, n);
        total = mg_sum_of_exps(e, n, shift, &err);
        if (err != MG_OK)
            return err;
        e->exps.shift = shift;
        e->exps.total = total;
        *r = out->op == MG_NLL ? mg_log(total, &err) + (CHILD(e, i)->data + (-shift)) * -1.0 : total;
        return err;
    case MG_SOFTMAX:
        acc = mg_softmax_numerator(out, &err);
        if (err != MG_OK)
            return err;
        *r = acc * mg_pow(KID(out, 1)->data, -1.0, &err);
        return err;
    case MG_LOG_SOFTMAX:
        z = mg_expsum_of(out, &err);
        if (z == NULL)
            return err;
        *r = (KID(out, 0)->data + (-z->exps.shift)) + mg_log(KID(out, 1)->data, &err) * -1.0;
        return err;
    case MG_EMBED:
        n = e->count - 1;
        err = mg_as_index(CHILD(e, n)->data, n, &i);
        if (err == MG_OK)
            *r = CHILD(e, i)->data;
        return err;
    MG_NOT_FUSED_CASES:
        break;
    }
    return MG_ERR_NO_CASE;
}

/* backward()'s: each child's grad (fused_chain_rule.h) */
#define MG_CHAIN_RULE_NAME mg_fused_chain_rule
#define MG_CHAIN_RULE_PARAMS
#define MG_GRAD(j) MG_NODE(kids[j])->grad
#include "core/fused_chain_rule.h"

static inline int mg_fused_backward(mg_node *out)
{
    return mg_fused_chain_rule(out, out->grad);
}

/* d out / d child, for each child, into d[0..count) (see ops.h). */
static inline int mg_fused_local_grads(const mg_node *out, double *d)
{
    int err = MG_OK;
    const mg_nary *e = mg_op_layout[out->op] == MG_CHILD_LIST ? out->u.nary : NULL;
    Py_ssize_t i, n, t = -1;
    double a;
    switch ((enum mg_op)out->op) {
    case MG_DOT:
        n = e->pairs;
        for (i = 0; i < n; i++) {
            d[i] = CHILD(e, n + i)->data;
            d[n + i] = CHILD(e, i)->data;
        }
        if (e->count > 2 * n)
            d[2 * n] = 1.0;
        return MG_OK;
    case MG_SUM:
        for (i = 0; i < e->count; i++)
            d[i] = 1.0;
        return MG_OK;
    case MG_RMS_SCALE:
        a = mg_pow((double)e->count, -1.0, &err)
            * (-0.5 * mg_pow(e->rms.mean_square + e->rms.eps, -1.5, &err));
        for (i = 0; i < e->count; i++)
            d[i] = 2.0 * CHILD(e, i)->data * a;
        return err;
    case MG_EXPSUM:
        for (i = 0; i < e->count; i++)
            d[i] = mg_shifted_exp(CHILD(e, i), e->exps.shift, &err);
        return err;
    case MG_NLL:
        n = e->count - 1;
        err = mg_as_index(CHILD(e, n)->data, n, &t);
        for (i = 0; i < n && err == MG_OK; i++)
            d[i] = mg_shifted_exp(CHILD(e, i), e->exps.shift, &err) / e->exps.total - (i == t);
        d[n] = 0.0;
        return err;
    case MG_SOFTMAX:
        a = mg_softmax_numerator(out, &err);
        if (err != MG_OK)
            return err;
        d[0] = a * mg_pow(KID(out, 1)->data, -1.0, &err);
        d[1] = -a * mg_pow(KID(out, 1)->data, -2.0, &err);
        return err;
    case MG_LOG_SOFTMAX:
        if (mg_expsum_of(out, &err) == NULL)
            return err;
        d[0] = 1.0;
        d[1] = -1.0 / KID(out, 1)->data;
        return MG_OK;
    case MG_EMBED:
        n = e->count - 1;
        err = mg_as_index(CHILD(e, n)->data, n, &t);
        for (i = 0; i <= n; i++)
            d[i] = (double)(i == t && err == MG_OK);
        return err;
    MG_NOT_FUSED_CASES:
        break;
    }
    return MG_ERR_NO_CASE;
}

#undef KID
#undef CHILD
#undef MG_NOT_FUSED_CASES
#endif
