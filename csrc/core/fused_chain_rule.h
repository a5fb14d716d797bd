/* The fused ops' chain rules, written once and made twice: fused.h makes
 * mg_fused_chain_rule (backward(): each child's grad), derivative_numbers.c
 * fused_numbers (grad's numbers: each child's adjoint), by including this
 * file with
 *   MG_CHAIN_RULE_NAME    the function's name
 *   MG_CHAIN_RULE_PARAMS  its parameters after (out, g), each with its comma
 *   MG_GRAD(j)            the lvalue the j-th child's gradient adds into
 * defined (it undefines them). The same arithmetic in the same order either
 * way, so grad's numbers are backward()'s bit for bit. Uses fused.h's
 * KID, CHILD and helpers. g is the node's own gradient. */
static inline int MG_CHAIN_RULE_NAME(const mg_node *out, double g MG_CHAIN_RULE_PARAMS)
{
    int err = MG_OK;
    const mg_nary *e = mg_op_layout[out->op] == MG_CHILD_LIST ? out->u.nary : NULL;
    PyObject *const *const kids = e != NULL ? e->children : out->u.kids;  /* MG_GRAD's */
    Py_ssize_t i = 0, n, t;
    double a, total;
    switch ((enum mg_op)out->op) {
    case MG_DOT:
        n = e->pairs;
        for (i = 0; i < n; i++) {
            MG_GRAD(i) += CHILD(e, n + i)->data * g;
            MG_GRAD(n + i) += CHILD(e, i)->data * g;
        }
        if (e->count > 2 * n)
            MG_GRAD(2 * n) += g;
        return MG_OK;
    case MG_SUM:
        for (i = 0; i < e->count; i++)
            MG_GRAD(i) += g;
        return MG_OK;
    case MG_RMS_SCALE:
        /* the written-out chain: ** -0.5, + eps, * (1 / n), the sum, x * x */
        a = (-0.5 * mg_pow(e->rms.mean_square + e->rms.eps, -1.5, &err)) * g;
        a = mg_pow((double)e->count, -1.0, &err) * a;
        if (err != MG_OK)
            return err;
        for (i = 0; i < e->count; i++) {
            MG_GRAD(i) += CHILD(e, i)->data * a;
            MG_GRAD(i) += CHILD(e, i)->data * a;
        }
        return MG_OK;
    case MG_EXPSUM:
        for (i = 0; i < e->count; i++)
            MG_GRAD(i) += mg_shifted_exp(CHILD(e, i), e->exps.shift, &err) * g;
        return err;
    case MG_NLL:
        /* total.log(): each exp gets g / total; minus (x_t - max): -g to x_t */
        n = e->count - 1;
        err = mg_as_index(CHILD(e, n)->data, n, &i);
        if (err != MG_OK)
            return err;
        a = g / e->exps.total;
        for (t = 0; t < n; t++)
            MG_GRAD(t) += mg_shifted_exp(CHILD(e, t), e->exps.shift, &err) * a;
        MG_GRAD(i) += -1.0 * g;
        return err;
    case MG_SOFTMAX:
        /* e * total**-1: to e (an exp of x_i), and to total through ** -1 */
        a = mg_softmax_numerator(out, &err);
        if (err != MG_OK)
            return err;
        total = KID(out, 1)->data;
        MG_GRAD(0) += a * (mg_pow(total, -1.0, &err) * g);
        MG_GRAD(1) += (-1.0 * mg_pow(total, -2.0, &err)) * (a * g);
        return err;
    case MG_LOG_SOFTMAX:
        /* (x_i - max) - total.log(): g to x_i, -g / total to total */
        if (mg_expsum_of(out, &err) == NULL)
            return err;
        MG_GRAD(0) += g;
        MG_GRAD(1) += (-1.0 * g) / KID(out, 1)->data;
        return MG_OK;
    case MG_EMBED:
        n = e->count - 1;
        err = mg_as_index(CHILD(e, n)->data, n, &i);
        if (err == MG_OK)
            MG_GRAD(i) += g;
        return err;
    MG_BINARY_OPS(MG_OP_CASE)
    MG_UNARY_OPS(MG_OP_CASE)
    case MG_LEAF:
    case MG_CUSTOM:
        break;
    }
    (void)kids;
    return MG_ERR_NO_CASE;
}

#undef MG_CHAIN_RULE_NAME
#undef MG_CHAIN_RULE_PARAMS
#undef MG_GRAD
