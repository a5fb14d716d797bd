/* Each op's chain rule as graphs (create_graph=True): for a node with
 * adjoint A, the terms (d node / d child, A) it adds to each live child's
 * adjoint, d node / d child a graph over the node's children and output
 * built with the engine's ops, so that it has derivatives of its own.
 * The elementwise ops' are their op_table.h rows themselves: the rows'
 * local derivatives are written in a vocabulary that this file builds as
 * nodes (the end of the file), so a coefficient's data is the row's number
 * bit for bit (1 - out*out is built as 1 + (out*out) * -1, exact), but where
 * a row divides: the graph multiplies by a ** -1 (within an ulp). The fused
 * ops' are written here. The switch lists every op code (-Werror=switch), and
 * tests/unit/test_grad_compiled.py checks each rule's data against the
 * row's number. */
#include "derivative/derivative_graph.h"
#include "core/value.h"

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
static int push_new(mg_builder *bu, Py_ssize_t place, PyObject *coef, PyObject *adj)
{
    int r;
    if (coef == NULL)
        return -1;
    r = mg_push_term(bu, place, coef, adj);
    Py_DECREF(coef);
    return r;
}

#define LIVE(j) (bu->s->live[kid[j]])
#define CHILD(j) (e->children[j])

/* The sum of exps of the expsum node at place, rebuilt from its children
 * as nodes (0.0 + exp(x_0 + -shift) + ..., the forward's order, so its data
 * are the node's total bit for bit): made once per sweep (bu->rebuilt). The
 * shift is a constant leaf, the max this forward took: a softmax does not
 * depend on it, and every node that reads it is rebuilt here with the same
 * one, so a tape of the derivative replays right on new data (where the
 * forward's own total, recomputed with a new max, would not match these
 * exps). A borrowed reference, or NULL with an exception. */
static PyObject *rebuilt_expsum(mg_builder *bu, Py_ssize_t place, PyObject *expsum)
{
    const mg_nary *e = MG_NODE(expsum)->u.nary;
    PyObject *shift, *s;
    Py_ssize_t i;
    if (bu->rebuilt[place] != NULL)
        return bu->rebuilt[place];
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
    bu->rebuilt[place] = s;
    return s;
}

/* For each live j < m: the term embedding([0, ..., g at j, ..., 0], index),
 * g at the row the index picks and 0 elsewhere, an embedding node over the
 * index Value: a tape of the derivative picks the row of the index's new
 * data (the reference's _one_hot_times). 0, or -1 with an exception. */
static int push_one_hot(mg_builder *bu, const Py_ssize_t *kid, Py_ssize_t m, PyObject *g, PyObject *index)
{
    Py_ssize_t j, k;
    for (j = 0; j < m; j++) {
        PyObject *p, *pick;
        if (!LIVE(j))
            continue;
        if ((p = mg_new_nary(MG_EMBED, m + 1)) == NULL)
            return -1;
        for (k = 0; k <= m; k++) {
            pick = k == m ? index : k == j ? g : bu->zero;
            Py_INCREF(pick);
            MG_NODE(p)->u.nary->children[k] = pick;
        }
        if (mg_compute(p) < 0) {
            Py_DECREF(p);
            return -1;
        }
        k = mg_push_term(bu, kid[j], bu->one, p);  /* 1 * p is p: no node */
        Py_DECREF(p);
        if (k < 0)
            return -1;
    }
    return 0;
}

/* The fused ops (fused.h's layouts); the node is at place. */
static int fused_terms(mg_builder *bu, Py_ssize_t place, PyObject *node, const Py_ssize_t *kid, PyObject *A)
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
            if ((r = mg_push_term(bu, kid[i], CHILD(m + i), A)) == 0)
                r = mg_push_term(bu, kid[m + i], CHILD(i), A);
        if (r == 0 && e->count > 2 * m)
            r = mg_push_term(bu, kid[2 * m], bu->one, A);
        return r;
    case MG_SUM:
        for (i = 0; i < e->count && r == 0; i++)
            r = mg_push_term(bu, kid[i], bu->one, A);
        return r;
    case MG_RMS_SCALE:
        /* s = (mean(x*x) + eps) ** -0.5: ds/dx_i = x_i * (-s**3 / count);
         * one shared h = (s**3 * (-1/count)) * A, then the terms (x_i, h) */
        h = op2(MG_MUL, op2(MG_MUL, power(node, 3.0, 0), mg_new_leaf(-mg_pow((double)e->count, -1.0, &err)), 3),
                A, 1);
        for (i = 0; i < e->count && h != NULL && r == 0; i++)
            r = mg_push_term(bu, kid[i], CHILD(i), h);
        Py_XDECREF(h);
        return h == NULL ? -1 : r;
    case MG_EXPSUM:  /* d/dx_i = exp(x_i + -shift): the rebuilt exps */
        if ((s = rebuilt_expsum(bu, place, node)) == NULL)
            return -1;
        for (i = 0; i < e->count && r == 0; i++)
            r = mg_push_term(bu, kid[i], MG_NODE(s)->u.nary->children[i], A);
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
                r = push_new(bu, kid[i], op2(MG_SOFTMAX, CHILD(i), z, 0), A);
        Py_DECREF(z);
        if (r < 0 || (h = op2(MG_MUL, A, bu->minus_one, 0)) == NULL)
            return -1;
        r = push_one_hot(bu, kid, m, h, CHILD(m));
        Py_DECREF(h);
        return r;
    case MG_SOFTMAX:
        /* out = e / total: d/dx = out, d/dtotal = -out * total**-1, the
         * total the rebuilt one (the expsum's rule multiplies this by its
         * exps, which have the shift of this forward) */
        if (mg_expsum_of(n, &err) == NULL)
            return mg_raise(err);
        if (mg_push_term(bu, kid[0], node, A) < 0)
            return -1;
        if (!LIVE(1))
            return 0;
        if ((s = rebuilt_expsum(bu, kid[1], n->u.kids[1])) == NULL)
            return -1;
        return push_new(bu, kid[1], op2(MG_MUL, op2(MG_MUL, node, bu->minus_one, 0), power(s, -1.0, 0), 3), A);
    case MG_LOG_SOFTMAX:  /* out = x - shift - log(total): 1, and -total**-1 (rebuilt) */
        if (mg_expsum_of(n, &err) == NULL)
            return mg_raise(err);
        if (mg_push_term(bu, kid[0], bu->one, A) < 0)
            return -1;
        if (!LIVE(1))
            return 0;
        if ((s = rebuilt_expsum(bu, kid[1], n->u.kids[1])) == NULL)
            return -1;
        return push_new(bu, kid[1], op2(MG_MUL, power(s, -1.0, 0), bu->minus_one, 1), A);
    case MG_EMBED:  /* the picked row's entry gets A, by an embedding over the index */
        m = e->count - 1;
        err = mg_as_index(MG_NODE(CHILD(m))->data, m, &i);
        if (err != MG_OK)
            return mg_raise(err);
        return push_one_hot(bu, kid, m, A, CHILD(m));
    MG_BINARY_OPS(MG_OP_CASE)
    MG_UNARY_OPS(MG_OP_CASE)
    case MG_LEAF:
    case MG_CUSTOM:
        break;
    }
    return mg_raise(MG_ERR_NO_CASE);
}

/* --- the elementwise ops: each row's local derivatives (op_table.h),
 * written in its vocabulary, built here as nodes. Each word returns a new
 * reference, or NULL with an exception; it takes (steals) its operands and
 * passes a NULL through, so a nested row expression builds (or fails) as a
 * whole. x, y and self are the node's first child, its second (NULL for
 * MG_POW, whose exponent is the number b) and the node itself. */

static PyObject *g_ref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}

/* A constant: the call's shared 1, -1 and 0 (0 coefficients are dropped,
 * 1 ones cost no node), else a fresh leaf. */
static PyObject *g_num(mg_builder *bu, double c)
{
    PyObject *shared = c == 1.0 ? bu->one : c == -1.0 ? bu->minus_one
                     : (c == 0.0 && !signbit(c)) ? bu->zero : NULL;
    return shared != NULL ? g_ref(shared) : mg_new_leaf(c);
}

/* 1 * y is y, bit for bit: no node */
static PyObject *g_mul(mg_builder *bu, PyObject *x, PyObject *y)
{
    if (x == bu->one && y != NULL) {
        Py_DECREF(x);
        return y;
    }
    if (y == bu->one && x != NULL) {
        Py_DECREF(y);
        return x;
    }
    return op2(MG_MUL, x, y, 3);
}

/* x ** 1 is x and x ** 0 is 1 (whose slope, 0, is x ** 0's): no node */
static PyObject *g_pow(mg_builder *bu, PyObject *x, double k)
{
    if (x == NULL || k != 1.0)
        return k == 0.0 && x != NULL ? (Py_DECREF(x), g_num(bu, 1.0)) : power(x, k, 1);
    return x;
}

/* relu's or abs's slope over x: a step or sign node, whose data a tape
 * recomputes on new data; or, with kinks_as_numbers, its number now (a zero
 * one then drops the term) */
static PyObject *g_kink(mg_builder *bu, int op, PyObject *x)
{
    double slope;
    if (x == NULL || !bu->kinks_as_numbers)
        return op1(op, x, 1);
    slope = op == MG_STEP ? mg_step(MG_NODE(x)->data) : mg_sign(MG_NODE(x)->data);
    Py_DECREF(x);
    return g_num(bu, slope);
}

/* p - q as p + q * -1 (p - q's bits); p one of the call's constants (tanh's
 * 1 - out*out, sigmoid's 1 - out): one dot node p + q * -1 instead of two */
static PyObject *g_sub(mg_builder *bu, PyObject *p, PyObject *q)
{
    PyObject *d;
    mg_nary *e;
    if (p == NULL || q == NULL || (p != bu->one && p != bu->minus_one && p != bu->zero))
        return op2(MG_ADD, p, g_mul(bu, q, g_num(bu, -1.0)), 3);
    if ((d = mg_new_nary(MG_DOT, 2)) == NULL) {
        Py_DECREF(p);
        Py_DECREF(q);
        return NULL;
    }
    e = MG_NODE(d)->u.nary;
    e->pairs = 1;
    e->start = MG_NODE(p)->data;
    Py_DECREF(p);
    e->children[0] = q;  /* the reference moves */
    Py_INCREF(bu->minus_one);
    e->children[1] = bu->minus_one;
    if (mg_compute(d) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

/* x / y as micrograd divides, x * y ** -1; Python's ZeroDivisionError at 0,
 * as the row's mg_divide */
static PyObject *g_div(mg_builder *bu, PyObject *x, PyObject *y)
{
    if (y != NULL && MG_NODE(y)->data == 0.0) {
        Py_XDECREF(x);
        Py_DECREF(y);
        mg_raise(MG_ERR_ZERO_DIVISION);
        return NULL;
    }
    return g_mul(bu, x, g_pow(bu, y, -1.0));
}

#include "ops/op_words_undef.h"  /* the rows, read in the words below */
#define D_A g_ref(x)
#define D_B g_ref(y)
#define D_OUT g_ref(self)
#define D_NUM(c) g_num(bu, (c))
#define D_ADD(p, q) op2(MG_ADD, (p), (q), 3)
#define D_SUB(p, q) g_sub(bu, (p), (q))
#define D_MUL(p, q) g_mul(bu, (p), (q))
#define D_NEG(p) g_mul(bu, (p), g_num(bu, -1.0))
#define D_DIV(p, q) g_div(bu, (p), (q))
#define D_POW(p, k) g_pow(bu, (p), (k))
#define D_POWV(p, q) op2(MG_POWV, (p), (q), 3)
#define D_LOG(p) op1(MG_LOG, (p), 1)
#define D_SIN(p) op1(MG_SIN, (p), 1)
#define D_COS(p) op1(MG_COS, (p), 1)
#define D_STEP(p) g_kink(bu, MG_STEP, (p))
#define D_SIGN(p) g_kink(bu, MG_SIGN, (p))
#define D_IF(c, p, q) ((c) ? (p) : (q))  /* on the numbers: only the branch taken is built */

/* The term (coef, A) for the child at place, coef a new reference built by
 * a row (NULL: failed); a constant 0 adds nothing (its derivative is 0 too).
 * status: what a float_math.h helper in the row's numbers set. */
static int push_coefficient(mg_builder *bu, Py_ssize_t place, PyObject *coef, PyObject *A, int status)
{
    int r;
    if (coef == NULL)
        return -1;
    if (status != MG_OK || coef == bu->zero) {
        Py_DECREF(coef);
        return status != MG_OK ? mg_raise(status) : 0;
    }
    r = mg_push_term(bu, place, coef, A);
    Py_DECREF(coef);
    return r;
}

/* a one-child op reads no second operand: its kids[1] is not a child */
#define GRAPH_OPERAND(layout)                                                       \
    MG_OPERAND_A(layout);                                                           \
    MG_RESULT;                                                                      \
    PyObject *const x = layout == MG_BASE_AND_EXPONENT ? node->u.pow.base : node->u.kids[0]; \
    PyObject *const y = NULL;                                                       \
    const double b = 0.0;                                                           \
    (void)x;                                                                        \
    (void)y;                                                                        \
    (void)b
#define GRAPH_OPERANDS(layout)                                                      \
    MG_OPERANDS_A_B(layout);                                                        \
    MG_RESULT;                                                                      \
    PyObject *const x = layout == MG_BASE_AND_EXPONENT ? node->u.pow.base : node->u.kids[0]; \
    PyObject *const y = layout == MG_TWO_CHILDREN ? node->u.kids[1] : NULL;         \
    (void)x;                                                                        \
    (void)y
#define GRAPH_BINARY(code, name, layout, forward, local_a, local_b)                \
    case code: {                                                                    \
        GRAPH_OPERANDS(layout);                                                     \
        if (LIVE(0)) {                                                              \
            coef = (local_a);                                                       \
            if (push_coefficient(bu, kid[0], coef, A, status) < 0)                  \
                return -1;                                                          \
        }                                                                           \
        if (layout == MG_TWO_CHILDREN && LIVE(1)) {                                 \
            coef = (local_b);                                                       \
            return push_coefficient(bu, kid[1], coef, A, status);                   \
        }                                                                           \
        return 0;                                                                   \
    }
#define GRAPH_UNARY(code, name, layout, forward, local_a, doc)                     \
    case code: {                                                                    \
        GRAPH_OPERAND(layout);                                                      \
        if (!LIVE(0))                                                               \
            return 0;                                                               \
        coef = (local_a);                                                           \
        return push_coefficient(bu, kid[0], coef, A, status);                       \
    }

int mg_push_local_terms(mg_builder *bu, Py_ssize_t i, PyObject *A)
{
    PyObject *const self = bu->s->order[i], *coef;
    const mg_node *const node = MG_NODE(self);
    const Py_ssize_t *kid = bu->s->kid + bu->s->first_kid[i];
    int status = MG_OK, *const err = &status;
    (void)err;
    switch ((enum mg_op)node->op) {
    MG_BINARY_OPS(GRAPH_BINARY)
    MG_UNARY_OPS(GRAPH_UNARY)
    MG_FUSED_OPS(MG_OP_CASE)
        return fused_terms(bu, i, self, kid, A);
    case MG_CUSTOM:  /* no _backward, no local grads: micrograd's no-op (the others are refused) */
    case MG_LEAF:
        return 0;
    }
    return mg_raise(MG_ERR_NO_CASE);
}
