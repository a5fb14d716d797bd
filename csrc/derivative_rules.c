/* Each op's chain rule as graphs (create_graph=True): for a node with
 * adjoint A, the terms (d node / d child, A) it adds to each live child's
 * adjoint, d node / d child a graph over the node's children and output
 * built with the engine's ops, so that it has derivatives of its own. Where
 * it can, a coefficient's data is the row's local derivative bit for bit
 * (op_table.h; 1 - out*out is built as 1 + (out*out) * -1, exact); where a
 * row divides, the graph multiplies by a ** -1 (within an ulp). The switch
 * lists every op code (-Werror=switch): a new op without its graph rule is
 * a compile error, and tests/unit/test_grad_compiled.py checks each rule's
 * data against the row's number. */
#include "derivative_graph.h"
#include "value.h"

/* Builders that take (steal) the references flagged in steal (1: x, 2: y)
 * and pass a NULL operand (a failed inner build) through: nested calls
 * read as the expression they build. */
static PyObject *op2(int op, PyObject *x, PyObject *y, int steal)
{
    PyObject *out = (x != NULL && y != NULL) ? mg_new_binary(op, x, y) : NULL;
    if ((steal & 1) && x != NULL)
        Py_DECREF(x);
    if ((steal & 2) && y != NULL)
        Py_DECREF(y);
    return out;
}

static PyObject *op1(int op, PyObject *x, int steal)
{
    PyObject *out = x != NULL ? mg_new_unary(op, x) : NULL;
    if (steal && x != NULL)
        Py_DECREF(x);
    return out;
}

static PyObject *power(PyObject *x, double k, int steal)
{
    PyObject *out = x != NULL ? mg_new_pow(x, k, k == floor(k)) : NULL;
    if (steal && x != NULL)
        Py_DECREF(x);
    return out;
}

/* mg_push_term with a new reference to coef (NULL: its build failed). */
static int push_new(mg_builder *b, Py_ssize_t place, PyObject *coef, PyObject *adj)
{
    int r;
    if (coef == NULL)
        return -1;
    r = mg_push_term(b, place, coef, adj);
    Py_DECREF(coef);
    return r;
}

static int push_number(mg_builder *b, Py_ssize_t place, double c, PyObject *adj)
{
    if (c == 0.0 || !b->s->live[place])
        return 0;  /* a constant 0 adds nothing (its derivative is 0 too) */
    if (c == 1.0)
        return mg_push_term(b, place, b->one, adj);
    return push_new(b, place, mg_new_leaf(c), adj);
}

#define LIVE(j) (b->s->live[kid[j]])
#define CHILD(j) (e->children[j])

/* The sum of exps of the expsum node at place, rebuilt from its children
 * as nodes (0.0 + exp(x_0 + -shift) + ..., the forward's order, so its data
 * are the node's total bit for bit): made once per sweep (b->rebuilt). The
 * shift is a constant leaf, the max this forward took: a softmax does not
 * depend on it, and every node that reads it is rebuilt here with the same
 * one, so a tape of the derivative replays right on new data (where the
 * forward's own total, recomputed with a new max, would not match these
 * exps). A borrowed reference, or NULL with an exception. */
static PyObject *rebuilt_expsum(mg_builder *b, Py_ssize_t place, PyObject *expsum)
{
    const mg_nary *e = MG_NODE(expsum)->u.nary;
    PyObject *shift, *s;
    Py_ssize_t i;
    if (b->rebuilt[place] != NULL)
        return b->rebuilt[place];
    if ((shift = mg_new_leaf(-e->exps.shift)) == NULL)
        return NULL;
    if ((s = mg_new_nary(MG_SUM, e->count)) == NULL) {
        Py_DECREF(shift);
        return NULL;
    }
    MG_NODE(s)->u.nary->start = 0.0;
    for (i = 0; i < e->count; i++)  /* a NULL child is freed with s */
        if ((MG_NODE(s)->u.nary->children[i] = op1(MG_EXP, op2(MG_ADD, CHILD(i), shift, 0), 1)) == NULL)
            break;
    Py_DECREF(shift);
    if (i < e->count || mg_compute(s) < 0) {
        Py_DECREF(s);
        return NULL;
    }
    b->rebuilt[place] = s;
    return s;
}

/* For each live j < m: the term embedding([0, ..., g at j, ..., 0], index),
 * g at the row the index picks and 0 elsewhere, an embedding node over the
 * index Value: a tape of the derivative picks the row of the index's new
 * data (the reference's _one_hot_times). 0, or -1 with an exception. */
static int push_one_hot(mg_builder *b, const Py_ssize_t *kid, Py_ssize_t m, PyObject *g, PyObject *index)
{
    Py_ssize_t j, k;
    for (j = 0; j < m; j++) {
        PyObject *p, *pick;
        if (!LIVE(j))
            continue;
        if ((p = mg_new_nary(MG_EMBED, m + 1)) == NULL)
            return -1;
        for (k = 0; k <= m; k++) {
            pick = k == m ? index : k == j ? g : b->zero;
            Py_INCREF(pick);
            MG_NODE(p)->u.nary->children[k] = pick;
        }
        if (mg_compute(p) < 0) {
            Py_DECREF(p);
            return -1;
        }
        k = mg_push_term(b, kid[j], b->one, p);  /* 1 * p is p: no node */
        Py_DECREF(p);
        if (k < 0)
            return -1;
    }
    return 0;
}

/* The fused ops (fused.h's layouts); the node is at place. */
static int fused_terms(mg_builder *b, Py_ssize_t place, PyObject *node, const Py_ssize_t *kid, PyObject *A)
{
    const mg_node *n = MG_NODE(node);
    const mg_nary *e = mg_op_layout[n->op] == MG_CHILD_LIST ? n->u.nary : NULL;
    Py_ssize_t i, m;
    PyObject *h, *z, *s;
    int err = MG_OK, r = 0;
    switch ((enum mg_op)n->op) {
    case MG_DOT:  /* d/dw_i = x_i, d/dx_i = w_i, d/dbias = 1 */
        m = e->pairs;
        for (i = 0; i < m && r == 0; i++)
            if ((r = mg_push_term(b, kid[i], CHILD(m + i), A)) == 0)
                r = mg_push_term(b, kid[m + i], CHILD(i), A);
        if (r == 0 && e->count > 2 * m)
            r = mg_push_term(b, kid[2 * m], b->one, A);
        return r;
    case MG_SUM:
        for (i = 0; i < e->count && r == 0; i++)
            r = mg_push_term(b, kid[i], b->one, A);
        return r;
    case MG_RMS_SCALE:
        /* s = (mean(x*x) + eps) ** -0.5: ds/dx_i = x_i * (-s**3 / count);
         * one shared h = (s**3 * (-1/count)) * A, then the terms (x_i, h) */
        h = op2(MG_MUL, op2(MG_MUL, power(node, 3.0, 0), mg_new_leaf(-mg_pow((double)e->count, -1.0, &err)), 3),
                A, 1);
        for (i = 0; i < e->count && h != NULL && r == 0; i++)
            r = mg_push_term(b, kid[i], CHILD(i), h);
        Py_XDECREF(h);
        return h == NULL ? -1 : r;
    case MG_EXPSUM:  /* d/dx_i = exp(x_i + -shift): the rebuilt exps */
        if ((s = rebuilt_expsum(b, place, node)) == NULL)
            return -1;
        for (i = 0; i < e->count && r == 0; i++)
            r = mg_push_term(b, kid[i], MG_NODE(s)->u.nary->children[i], A);
        return r;
    case MG_NLL:
        /* softmax(logits) - onehot(target): the softmax over a fresh expsum
         * (its max taken by its own forward, so a replay is right), the
         * one-hot an embedding over the target; the target gets nothing */
        m = e->count - 1;
        err = mg_as_index(MG_NODE(CHILD(m))->data, m, &i);
        if (err != MG_OK)
            return mg_raise(err);
        if ((z = mg_new_nary(MG_EXPSUM, m)) == NULL)
            return -1;
        for (i = 0; i < m; i++) {
            Py_INCREF(CHILD(i));
            MG_NODE(z)->u.nary->children[i] = CHILD(i);
        }
        if (mg_compute(z) < 0) {
            Py_DECREF(z);
            return -1;
        }
        for (i = 0; i < m && r == 0; i++)
            if (LIVE(i))
                r = push_new(b, kid[i], op2(MG_SOFTMAX, CHILD(i), z, 0), A);
        Py_DECREF(z);
        if (r < 0 || (h = op2(MG_MUL, A, b->minus_one, 0)) == NULL)
            return -1;
        r = push_one_hot(b, kid, m, h, CHILD(m));
        Py_DECREF(h);
        return r;
    case MG_SOFTMAX:
        /* out = e / total: d/dx = out, d/dtotal = -out * total**-1, the
         * total the rebuilt one (the expsum's rule multiplies this by its
         * exps, which have the shift of this forward) */
        if (mg_expsum_of(n, &err) == NULL)
            return mg_raise(err);
        if (mg_push_term(b, kid[0], node, A) < 0)
            return -1;
        if (!LIVE(1))
            return 0;
        if ((s = rebuilt_expsum(b, kid[1], n->u.kids[1])) == NULL)
            return -1;
        return push_new(b, kid[1], op2(MG_MUL, op2(MG_MUL, node, b->minus_one, 0), power(s, -1.0, 0), 3), A);
    case MG_LOG_SOFTMAX:  /* out = x - shift - log(total): 1, and -total**-1 (rebuilt) */
        if (mg_expsum_of(n, &err) == NULL)
            return mg_raise(err);
        if (mg_push_term(b, kid[0], b->one, A) < 0)
            return -1;
        if (!LIVE(1))
            return 0;
        if ((s = rebuilt_expsum(b, kid[1], n->u.kids[1])) == NULL)
            return -1;
        return push_new(b, kid[1], op2(MG_MUL, power(s, -1.0, 0), b->minus_one, 1), A);
    case MG_EMBED:  /* the picked row's entry gets A, by an embedding over the index */
        m = e->count - 1;
        err = mg_as_index(MG_NODE(CHILD(m))->data, m, &i);
        if (err != MG_OK)
            return mg_raise(err);
        return push_one_hot(b, kid, m, A, CHILD(m));
    MG_BINARY_OPS(MG_OP_CASE)
    MG_UNARY_OPS(MG_OP_CASE)
    case MG_LEAF:
    case MG_CUSTOM:
        break;
    }
    return mg_raise(MG_ERR_NO_CASE);
}

int mg_push_local_terms(mg_builder *b, Py_ssize_t i, PyObject *A)
{
    PyObject *node = b->s->order[i];
    const mg_node *n = MG_NODE(node);
    const Py_ssize_t *kid = b->s->kid + b->s->first_kid[i];
    PyObject *x = NULL, *y = NULL;  /* the first and second child */
    double a = 0.0, k, out = n->data;
    int err = MG_OK;
    switch ((enum mg_children_layout)mg_op_layout[n->op]) {
    case MG_TWO_CHILDREN:
        y = n->u.kids[1];
        /* fall through */
    case MG_ONE_CHILD:
        x = n->u.kids[0];
        a = MG_NODE(x)->data;
        break;
    case MG_BASE_AND_EXPONENT:
        x = n->u.pow.base;
        a = MG_NODE(x)->data;
        break;
    case MG_NO_CHILDREN:
    case MG_CHILD_LIST:
        break;
    }
    if (x != NULL && !LIVE(0) && (y == NULL || !LIVE(1)))
        return 0;  /* no live child: nothing to build */
    switch ((enum mg_op)n->op) {
    case MG_ADD:
        if (mg_push_term(b, kid[0], b->one, A) < 0)
            return -1;
        return mg_push_term(b, kid[1], b->one, A);
    case MG_MUL:
        if (mg_push_term(b, kid[0], y, A) < 0)
            return -1;
        return mg_push_term(b, kid[1], x, A);
    case MG_POW:  /* a ** k: k * a ** (k - 1), 0 for k == 0 */
        k = n->u.pow.exponent;
        if (k == 0.0 || k == 1.0)
            return push_number(b, kid[0], k, A);
        if (k == 2.0)  /* 2 * a ** 1 is 2 * a */
            return push_new(b, kid[0], op2(MG_MUL, mg_new_leaf(2.0), x, 1), A);
        return push_new(b, kid[0], op2(MG_MUL, mg_new_leaf(k), power(x, k - 1.0, 0), 3), A);
    case MG_POWV:  /* a ** b: b * a ** (b + -1) (0 at b == 0), out * log(a) */
        if (LIVE(0) && MG_NODE(y)->data != 0.0
            && push_new(b, kid[0], op2(MG_MUL, y, op2(MG_POWV, x, op2(MG_ADD, y, b->minus_one, 0), 2), 2),
                        A) < 0)
            return -1;
        if (!LIVE(1))
            return 0;
        if (a > 0.0)
            return push_new(b, kid[1], op2(MG_MUL, node, op1(MG_LOG, x, 0), 2), A);
        return push_number(b, kid[1], mg_pow_exponent_slope(a, out), A);  /* 0 at 0, NaN below */
    case MG_RELU:  /* PyTorch's: slope 0 at 0, second derivative 0 */
        return push_number(b, kid[0], (double)(out > 0), A);
    case MG_TANH:
        return push_new(b, kid[0], op2(MG_ADD, b->one, op2(MG_MUL, op2(MG_MUL, node, node, 0),
                                                          b->minus_one, 1), 2), A);
    case MG_EXP:
        return mg_push_term(b, kid[0], node, A);
    case MG_LOG:
        if (a == 0.0)  /* the row's 1 / a */
            return mg_raise(MG_ERR_ZERO_DIVISION);
        return push_new(b, kid[0], power(x, -1.0, 0), A);
    case MG_SIGMOID:
        return push_new(b, kid[0], op2(MG_MUL, node, op2(MG_ADD, b->one,
                                                        op2(MG_MUL, node, b->minus_one, 0), 2), 2), A);
    case MG_SIN:
        return push_new(b, kid[0], op1(MG_COS, x, 0), A);
    case MG_COS:
        return push_new(b, kid[0], op2(MG_MUL, op1(MG_SIN, x, 0), b->minus_one, 1), A);
    case MG_ABS:  /* the sign, a constant: 0 at 0 */
        return push_number(b, kid[0], mg_sign(a), A);
    case MG_SQRT:  /* 0.5 * out ** -1; at 0 the row's 0.5 / 0, a constant inf */
        if (out == 0.0)
            return push_number(b, kid[0], 0.5 / out, A);
        return push_new(b, kid[0], op2(MG_MUL, mg_new_leaf(0.5), power(node, -1.0, 0), 1 | 2), A);
    MG_FUSED_OPS(MG_OP_CASE)
        return fused_terms(b, i, node, kid, A);
    case MG_CUSTOM:  /* no _backward, no local grads: micrograd's no-op (the others are refused) */
    case MG_LEAF:
        return 0;
    }
    (void)err;
    return mg_raise(MG_ERR_NO_CASE);
}
