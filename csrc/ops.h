/* Each op's forward (recompute out->data from the children) and local chain
 * rule (push out->grad into the children). Eager ops, backward() and the tape
 * all call these, so the three can never disagree. The expressions and their
 * order of evaluation are exactly those of micrograd_fast/reference.py. */
#ifndef MG_OPS_H
#define MG_OPS_H

#include "float_math.h"
#include "fused.h"

#define KID(n, i) MG_NODE((n)->u.kids[i])
#define BASE(n) MG_NODE((n)->u.pow.base)
#define CHILD(e, i) MG_NODE((e)->children[i])

/* Returns MG_OK, or an error code with out->data unchanged. */
static inline int mg_forward(mg_node *out)
{
    int err = MG_OK;
    double r;
    switch (out->op) {
    case MG_ADD: r = KID(out, 0)->data + KID(out, 1)->data; break;
    case MG_MUL: r = KID(out, 0)->data * KID(out, 1)->data; break;
    case MG_POW: r = mg_pow(BASE(out)->data, out->u.pow.exponent, &err); break;
    case MG_POWV: r = mg_pow(KID(out, 0)->data, KID(out, 1)->data, &err); break;
    case MG_RELU: {
        double a = KID(out, 0)->data;
        r = a < 0 ? 0.0 : a;
        break;
    }
    case MG_TANH: r = tanh(KID(out, 0)->data); break;
    case MG_EXP: r = mg_exp(KID(out, 0)->data, &err); break;
    case MG_LOG: r = mg_log(KID(out, 0)->data, &err); break;
    case MG_SIGMOID: r = mg_sigmoid(KID(out, 0)->data); break;
    case MG_LEAF:
    case MG_CUSTOM:  /* they keep the data they were given */
        return MG_OK;
    default:
        err = mg_fused_forward(out, &r);
    }
    if (err == MG_OK)
        out->data = r;
    return err;
}

/* Returns MG_OK, or an error code with no grad changed by this node. */
static inline int mg_backward_local(mg_node *out)
{
    int err = MG_OK;
    const double g = out->grad;
    switch (out->op) {
    case MG_ADD:
        KID(out, 0)->grad += g;
        KID(out, 1)->grad += g;
        break;
    case MG_MUL:
        KID(out, 0)->grad += KID(out, 1)->data * g;
        KID(out, 1)->grad += KID(out, 0)->data * g;
        break;
    case MG_POW: {
        const double e = out->u.pow.exponent;
        const double p = mg_pow(BASE(out)->data, e - 1, &err);
        if (err == MG_OK)
            BASE(out)->grad += (e * p) * g;
        break;
    }
    case MG_POWV: {
        mg_node *a = KID(out, 0), *b = KID(out, 1);
        const double p = mg_pow(a->data, b->data - 1, &err);
        if (err == MG_OK) {
            a->grad += (b->data * p) * g;
            b->grad += mg_pow_exponent_slope(a->data, out->data) * g;
        }
        break;
    }
    case MG_RELU: KID(out, 0)->grad += (double)(out->data > 0) * g; break;
    case MG_TANH: KID(out, 0)->grad += (1.0 - out->data * out->data) * g; break;
    case MG_EXP: KID(out, 0)->grad += out->data * g; break;
    case MG_LOG: {
        mg_node *a = KID(out, 0);
        if (a->data == 0.0)  /* the data was reassigned after the forward pass */
            return MG_ERR_ZERO_DIVISION;
        a->grad += g / a->data;
        break;
    }
    case MG_SIGMOID: KID(out, 0)->grad += (out->data * (1.0 - out->data)) * g; break;
    case MG_CUSTOM: {
        const mg_nary *e = out->u.nary;
        PyObject *fn = e ? e->backward : NULL, *r;
        Py_ssize_t i;
        if (fn != NULL) {  /* micrograd's way: the user's closure */
            Py_INCREF(fn);  /* the closure may replace itself while it runs */
            r = PyObject_CallNoArgs(fn);
            Py_DECREF(fn);
            if (r == NULL)
                return MG_ERR_PYTHON;
            Py_DECREF(r);
        } else if (e != NULL && e->local_grads != NULL) {  /* microgpt's way */
            for (i = 0; i < e->count; i++)
                CHILD(e, i)->grad += PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(e->local_grads, i)) * g;
        }
        break;
    }
    case MG_LEAF:
        break;
    default:
        return mg_fused_backward(out);
    }
    return err;
}

/* The derivative of out with respect to each of its children, at the
 * children's current data, into d[0..count): what microgpt's Value keeps as
 * _local_grads. backward_local above applies the same derivatives (in
 * micrograd's order of operations). Returns MG_OK or an error code; a
 * custom op's are its own (value.pxi). */
static inline int mg_local_grads(const mg_node *out, double *d)
{
    int err = MG_OK;
    switch (out->op) {
    case MG_ADD: d[0] = 1.0; d[1] = 1.0; break;
    case MG_MUL: d[0] = KID(out, 1)->data; d[1] = KID(out, 0)->data; break;
    case MG_POW: {
        const double e = out->u.pow.exponent;
        d[0] = e * mg_pow(BASE(out)->data, e - 1, &err);
        break;
    }
    case MG_POWV: {
        const double a = KID(out, 0)->data, b = KID(out, 1)->data;
        d[0] = b * mg_pow(a, b - 1, &err);
        d[1] = mg_pow_exponent_slope(a, out->data);
        break;
    }
    case MG_RELU: d[0] = (double)(out->data > 0); break;
    case MG_TANH: d[0] = 1.0 - out->data * out->data; break;
    case MG_EXP: d[0] = out->data; break;
    case MG_LOG:
        if (KID(out, 0)->data == 0.0)
            return MG_ERR_ZERO_DIVISION;
        d[0] = 1.0 / KID(out, 0)->data;
        break;
    case MG_SIGMOID: d[0] = out->data * (1.0 - out->data); break;
    default:
        return mg_fused_local_grads(out, d);
    }
    return err;
}

#undef KID
#undef BASE
#undef CHILD
#endif
