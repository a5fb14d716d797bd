/* hvp(output, inputs, v): the Hessian times v by forward-over-reverse, with
 * no graph built. A forward pass carries each node's tangent (its
 * derivative along v: the inputs' tangents are v), then grad's reverse
 * sweep runs on pairs, each adjoint a beside its tangent t, the derivative
 * of a along v: a child gets local * a, and local * t + local' * a, local'
 * being the derivative of the local slope along v. The inputs' t are H v.
 *
 * The elementwise ops' slopes come from their op_table.h rows, read in a
 * vocabulary of dual numbers (value, derivative along v): the same row that
 * gives backward() its numbers and create_graph its nodes. The fused ops'
 * first-order terms are grad's own (mg_local_numbers), their local' written
 * here. The forward tangents come from grad's chain rule too: a node's
 * tangent is the sum of its local slopes times its children's tangents. A
 * kink's slope is its number (relu's step, abs's sign: local' 0), as
 * hessian's graphs take it. */
#include "derivative/derivative_sweep.h"
#include "core/fused.h"
#include "core/ops.h"
#include "core/value.h"

/* none: a row's bare constant +0 (step's and sign's slope, x ** 0's), a
 * term create_graph drops (its graph has no node for it): none here either,
 * so an inf or nan adjoint times it is no nan, as in hessian's graphs */
typedef struct dual {
    double v, d;
    int none;
} dual;

static inline dual dual_of(double v, double d)
{
    dual r = {v, d, 0};
    return r;
}

static inline dual dual_number(double c)
{
    dual r = {c, 0.0, c == 0.0 && !signbit(c)};
    return r;
}

/* x * t, nothing where the tangent t is 0: a node that does not move along
 * v adds no term (as create_graph builds none for it), even at an inf */
static inline double along(double x, double t)
{
    return t == 0.0 ? 0.0 : x * t;
}

static inline dual dual_mul(dual p, dual q)
{
    return dual_of(p.v * q.v, along(q.v, p.d) + along(p.v, q.d));
}

static inline dual dual_div(dual p, dual q, int *err)
{
    const double v = mg_divide(p.v, q.v, err);
    return dual_of(v, q.v == 0.0 ? 0.0 : (p.d - along(v, q.d)) / q.v);
}

static inline dual dual_pow(dual p, double k, int *err)
{
    return dual_of(mg_pow(p.v, k, err), p.d == 0.0 ? 0.0 : k * mg_pow(p.v, k - 1.0, err) * p.d);
}

/* d(p ** q) = q p ** (q - 1) dp + p ** q log(p) dq, with the exponent's
 * slope PyTorch's (the MG_POWV row's): 0 at p == 0, nan below */
static inline dual dual_powv(dual p, dual q, int *err)
{
    const double v = mg_pow(p.v, q.v, err);
    const double by_q = p.v > 0.0 || isnan(p.v) ? v * log(p.v) : p.v == 0.0 ? 0.0 : NAN;
    return dual_of(v, (p.d == 0.0 ? 0.0 : q.v * mg_pow(p.v, q.v - 1.0, err) * p.d) + along(by_q, q.d));
}

#include "ops/op_words_undef.h"  /* the rows, read in the words below */
#define D_A dual_of(a, ta)
#define D_B dual_of(b, tb)
#define D_OUT dual_of(out, tout)
#define D_NUM(c) dual_number(c)
#define D_ADD(p, q) dual_add((p), (q), 1.0)
#define D_SUB(p, q) dual_add((p), (q), -1.0)
#define D_MUL(p, q) dual_mul((p), (q))
#define D_NEG(p) dual_mul((p), dual_of(-1.0, 0.0))
#define D_DIV(p, q) dual_div((p), (q), err)
#define D_POW(p, k) dual_pow((p), (k), err)
#define D_POWV(p, q) dual_powv((p), (q), err)
#define D_LOG(p) dual_log(p)
#define D_SIN(p) dual_sin(p)
#define D_COS(p) dual_cos(p)
#define D_STEP(p) D_NUM(mg_step((p).v))
#define D_SIGN(p) D_NUM(mg_sign((p).v))
#define D_IF(c, p, q) ((c) ? (p) : (q))

static inline dual dual_add(dual p, dual q, double sign)
{
    return dual_of(p.v + sign * q.v, p.d + sign * q.d);
}

static inline dual dual_log(dual p)
{
    return dual_of(log(p.v), along(1.0 / p.v, p.d));
}

static inline dual dual_sin(dual p)
{
    return dual_of(sin(p.v), along(cos(p.v), p.d));
}

static inline dual dual_cos(dual p)
{
    return dual_of(cos(p.v), along(-sin(p.v), p.d));
}

#define CHILD(e, i) MG_NODE((e)->children[i])
#define KID(n, i) MG_NODE((n)->u.kids[i])
#define ADD_T(j, x) (adjt[kid[j]] += (x))
#define TAN(j) (tan[kid[j]])

/* An elementwise node's terms, both orders at once from its row's slopes
 * as duals (their values are the numbers sweep's, bit for bit): the
 * child's adjoint gets slope * g, its tangent slope * gt + slope' * g. */
#define PAIR_TERM(j, slope)                                                         \
    if (!(slope).none) {                                                            \
        adj[kid[j]] += (slope).v * g;                                               \
        adjt[kid[j]] += (slope).v * gt + (slope).d * g;                             \
    }
#define PAIR_BINARY(code, name, layout, forward, local_a, local_b)                 \
    case code: {                                                                    \
        MG_OPERANDS_A_B(layout);                                                    \
        MG_RESULT;                                                                  \
        const double ta = TAN(0), tb = layout == MG_TWO_CHILDREN ? TAN(1) : 0.0;    \
        const dual d_a = (local_a), d_b = (local_b);                                \
        (void)ta;                                                                   \
        (void)tb;                                                                   \
        if (status != MG_OK)                                                        \
            return status;                                                          \
        PAIR_TERM(0, d_a);                                                          \
        if (layout == MG_TWO_CHILDREN) {                                            \
            PAIR_TERM(1, d_b);                                                      \
        }                                                                           \
        return MG_OK;                                                               \
    }
#define PAIR_UNARY(code, name, layout, forward, local_a, doc)                      \
    case code: {                                                                    \
        MG_OPERAND_A(layout);                                                       \
        MG_RESULT;                                                                  \
        const double ta = TAN(0);                                                   \
        const dual d_a = (local_a);                                                 \
        (void)ta;                                                                   \
        if (status != MG_OK)                                                        \
            return status;                                                          \
        PAIR_TERM(0, d_a);                                                          \
        return MG_OK;                                                               \
    }

/* The elementwise node at place i, adjoint pair (g, gt). */
static int elementwise_terms(const mg_node *node, double g, double gt, Py_ssize_t i, const Py_ssize_t *kid,
                             const double *tan, double *adj, double *adjt)
{
    int status = MG_OK, *const err = &status;
    const double tout = tan[i];
    (void)tout;
    switch ((enum mg_op)node->op) {
    MG_BINARY_OPS(PAIR_BINARY)
    MG_UNARY_OPS(PAIR_UNARY)
    MG_FUSED_OPS(MG_OP_CASE)
    case MG_LEAF:
    case MG_CUSTOM:
        break;
    }
    return MG_ERR_NO_CASE;
}

/* A fused node's terms local' * g (its adjoint g) into its children's
 * tangent adjoints; the first-order ones are grad's own (mg_local_numbers). */
static int fused_second_terms(const mg_node *node, double g, const Py_ssize_t *kid, const double *tan,
                              double *adjt)
{
    int status = MG_OK, *const err = &status;
    const mg_nary *e = mg_op_layout[node->op] == MG_CHILD_LIST ? node->u.nary : NULL;
    Py_ssize_t j, n, t;
    double c, dc, s, ds, total, dtotal, x;
    switch ((enum mg_op)node->op) {
    MG_BINARY_OPS(MG_OP_CASE)
    MG_UNARY_OPS(MG_OP_CASE)
        break;
    case MG_DOT:  /* w_i's slope is x_i, x_i's w_i */
        for (j = 0, n = e->pairs; j < n; j++) {
            ADD_T(j, along(g, TAN(n + j)));
            ADD_T(n + j, along(g, TAN(j)));
        }
        return MG_OK;
    case MG_SUM:    /* constant slopes */
    case MG_EMBED:
        return MG_OK;
    case MG_RMS_SCALE:
        /* slope 2 x_i c, c = -0.5 (ms + eps) ** -1.5 / n, ms = sum(x*x) / n */
        n = e->count;
        for (j = 0, ds = 0.0; j < n; j++)
            ds += 2.0 * CHILD(e, j)->data * TAN(j);
        ds /= (double)n;
        s = e->rms.mean_square + e->rms.eps;
        c = -0.5 * mg_pow(s, -1.5, err) / (double)n;
        dc = 0.75 * mg_pow(s, -2.5, err) * ds / (double)n;
        for (j = 0; j < n; j++)
            ADD_T(j, 2.0 * (TAN(j) * c + CHILD(e, j)->data * dc) * g);
        return status;
    case MG_EXPSUM:  /* slope e_i = exp(x_i - shift) */
        for (j = 0; j < e->count; j++)
            ADD_T(j, along(mg_shifted_exp(CHILD(e, j), e->exps.shift, err) * g, TAN(j)));
        return status;
    case MG_NLL:
        /* slope e_j / total (and -1 at the target): its derivative
         * (e_j dx_j) / total - e_j dtotal / total**2, dtotal = sum e_k dx_k */
        n = e->count - 1;
        status = mg_as_index(CHILD(e, n)->data, n, &t);
        total = e->exps.total;
        for (j = 0, dtotal = 0.0; j < n; j++)
            dtotal += along(mg_shifted_exp(CHILD(e, j), e->exps.shift, err), TAN(j));
        for (j = 0; j < n && status == MG_OK; j++) {
            x = mg_shifted_exp(CHILD(e, j), e->exps.shift, err);
            ADD_T(j, (along(x, TAN(j)) / total - x * dtotal / (total * total)) * g);
        }
        return status;
    case MG_SOFTMAX:
        /* out = e / total: slopes e / total (to x) and -e / total**2 (to
         * the expsum), de = e dx, dtotal the expsum's tangent */
        x = mg_softmax_numerator(node, err);
        if (status != MG_OK)
            return status;
        total = KID(node, 1)->data;
        ADD_T(0, (along(x, TAN(0)) / total - x * TAN(1) / (total * total)) * g);
        ADD_T(1, (-along(x, TAN(0)) / (total * total) + 2.0 * x * TAN(1) / (total * total * total)) * g);
        return MG_OK;
    case MG_LOG_SOFTMAX:  /* slope -1 / total to the expsum */
        if (mg_expsum_of(node, err) == NULL)
            return status;
        total = KID(node, 1)->data;
        ADD_T(1, along(g, TAN(1)) / (total * total));
        return MG_OK;
    case MG_CUSTOM:  /* no local grads, no _backward (the others are refused): no slope */
    case MG_LEAF:
        return MG_OK;
    }
    return MG_ERR_NO_CASE;
}

/* An op of op_table.h's rows (its slopes as duals), not a fused one. */
static int is_elementwise(int op)
{
    switch ((enum mg_op)op) {
    MG_BINARY_OPS(MG_OP_CASE)
    MG_UNARY_OPS(MG_OP_CASE)
        return 1;
    MG_FUSED_OPS(MG_OP_CASE)
    case MG_LEAF:
    case MG_CUSTOM:
        return 0;
    }
    return 0;
}

/* Node i's tangent: its local slopes (grad's chain rule with a seed of 1
 * into slope[], zeroed again after) times its children's tangents. */
static int tangent(const mg_node *node, const Py_ssize_t *kid, Py_ssize_t n_kids, const double *tan,
                   double *slope, double *out)
{
    Py_ssize_t j;
    double total = 0.0;
    int err = mg_local_numbers(node, 1.0, kid, slope);
    for (j = 0; j < n_kids; j++) {  /* a child twice: its slopes were summed */
        total += along(slope[kid[j]], tan[kid[j]]);
        slope[kid[j]] = 0.0;
    }
    *out = total;
    return err;
}

int mg_sweep_hvp(const mg_sweep *s, const mg_grad_request *r, PyObject **results)
{
    const Py_ssize_t n = s->count;
    Py_ssize_t i, k;
    int err = MG_OK;
    mg_buffer buf;
    double *adj, *adjt, *tan, *slope;
    if (mg_buffer_take(&buf, MG_SCRATCH_ADJOINTS, (size_t)(4 * n + 1) * sizeof(double)) < 0) {
        mg_buffer_give(&buf);
        PyErr_NoMemory();
        return -1;
    }
    adj = buf.p;
    adjt = adj + n, tan = adjt + n, slope = tan + n;
    memset(adj, 0, (size_t)(4 * n) * sizeof(double));
    for (k = 0; k < r->n_inputs; k++)
        if (s->in_place[k] >= 0)
            tan[s->in_place[k]] += r->tangents[k];
    for (i = 0; i < n && err == MG_OK; i++)
        if (s->live[i] && !s->is_input[i])
            err = tangent(MG_NODE(s->order[i]), s->kid + s->first_kid[i],
                          s->first_kid[i + 1] - s->first_kid[i], tan, slope, &tan[i]);
    for (k = 0; k < r->n_outputs; k++)
        adj[s->out_place[k]] += r->seed_numbers[k];
    for (i = n - 1; i >= 0 && err == MG_OK; i--) {
        const mg_node *node = MG_NODE(s->order[i]);
        const Py_ssize_t *kid = s->kid + s->first_kid[i];
        if (!s->live[i] || (adj[i] == 0.0 && adjt[i] == 0.0))
            continue;
        if (is_elementwise(node->op)) {
            err = elementwise_terms(node, adj[i], adjt[i], i, kid, tan, adj, adjt);
        } else {
            err = mg_local_numbers(node, adj[i], kid, adj);
            if (err == MG_OK)
                err = mg_local_numbers(node, adjt[i], kid, adjt);
            if (err == MG_OK)
                err = fused_second_terms(node, adj[i], kid, tan, adjt);
        }
        if ((i & MG_SIGNAL_EVERY_MASK) == 0 && i > 0 && err == MG_OK && PyErr_CheckSignals() < 0)
            err = MG_ERR_PYTHON;
    }
    err = mg_leaves_of(s, r, adjt, err, results);
    mg_buffer_give(&buf);
    return err;
}
