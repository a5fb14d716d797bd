/* Every op of the engine, declared once.
 *
 * Each row starts X(code, _op name, children, ...): the op's code, the string
 * its Value shows as `_op` (micrograd's names), and how its node stores its
 * children, which fixes the arity:
 *
 *   MG_NO_CHILDREN        a leaf                            arity 0
 *   MG_ONE_CHILD          u.kids[0]                         arity 1
 *   MG_TWO_CHILDREN       u.kids[0], u.kids[1]              arity 2
 *   MG_BASE_AND_EXPONENT  u.pow.base, the exponent a float  arity 1
 *   MG_CHILD_LIST         u.nary->children[0..count)        any arity
 *
 * An op's id (micrograd_fast's OPS, and a unary op's Value method) is its
 * code's name without MG_, lowercased: MG_LOG_SOFTMAX is log_softmax.
 *
 * An elementwise op is one row that also carries its arithmetic, written
 * over the names
 *   a, b   the operands' data (b: the second child's, or MG_POW's exponent)
 *   out    the result's data (in the local derivatives: it is computed first)
 *   err    an int * that a float_math.h helper sets to an mg_error code
 * and the local derivatives in the vocabulary below (D_*), which also
 * builds them as graphs.
 * From these rows ops.h generates each op's forward, its chain rule (the
 * local derivative times out.grad added to each child's grad: microgpt's
 * rule, `child.grad += local * out.grad`) and its _local_grads, and
 * unary_methods.c makes each unary op a Value method. The reference engine's op table
 * (micrograd_fast/reference/ops.py) has the same expressions, so the two
 * engines agree bit for bit; derivative_rules.c generates each op's
 * derivative graph (grad's create_graph) from the same expressions. The
 * fused ops keep hand-written cases (fused.h, derivative_rules.c). Every
 * switch over op codes lists every code (no default: -Werror=switch makes a
 * missing case a compile error). Adding an op: a
 * row here, a row in the reference's table, its method in _engine.pyi.
 */
#ifndef MG_OP_TABLE_H
#define MG_OP_TABLE_H

#include <Python.h>
#include <math.h>  /* NAN */

enum mg_children_layout {
    MG_NO_CHILDREN = 0,
    MG_ONE_CHILD,
    MG_TWO_CHILDREN,
    MG_BASE_AND_EXPONENT,
    MG_CHILD_LIST,
};

/* MG_POW's derivative with respect to its exponent, which is a number kept
 * in the node and not a child: never applied (NaN if it ever were). */
#define MG_NOT_A_CHILD NAN

/* The local derivatives are written in a small vocabulary that has two
 * meanings: the doubles below (what ops.h's chain rules, _local_grads and
 * grad's numbers compute), and nodes of the engine's ops (derivative_rules.c
 * redefines each word to build the derivative as a graph, for grad with
 * create_graph=True). So an op's derivative graph is its row, and adding an
 * op is still one row here and one in the reference's table.
 *   D_A, D_B, D_OUT   the first operand, the second (a child), the result
 *   D_NUM(c)          a number, any C expression over a, b, out: a constant
 *                     of the graph (MG_POW's exponent, sqrt's inf at 0)
 *   D_ADD, D_SUB, D_MUL, D_NEG, D_DIV (Python's, ZeroDivisionError at 0),
 *   D_POW(x, k) (k a number), D_POWV(x, y), D_LOG, D_SIN, D_COS
 *   D_STEP(x), D_SIGN(x)  the step and sign ops (relu's and abs's slopes): as
 *                     nodes, so a taped derivative graph recomputes a kink's
 *                     slope from new data (a D_NUM would stay the build's)
 *   D_IF(c, x, y)     a branch taken on the numbers a, b, out: the graph
 *                     holds only the branch taken (PyTorch's way at x ** 0)
 * As doubles each word is the arithmetic the rows always had (x - y is
 * x - y; the graph builds x + y * -1, the same bits), so the numbers are
 * bit for bit micrograd's; as nodes a division is x * y ** -1, micrograd's
 * own, within an ulp. */
#define D_A a
#define D_B b
#define D_OUT out
#define D_NUM(c) (c)
#define D_ADD(x, y) ((x) + (y))
#define D_SUB(x, y) ((x) - (y))
#define D_MUL(x, y) ((x) * (y))
#define D_NEG(x) (-(x))
#define D_DIV(x, y) mg_divide((x), (y), err)
#define D_POW(x, k) mg_pow((x), (k), err)
#define D_POWV(x, y) mg_pow((x), (y), err)
#define D_LOG(x) log(x)
#define D_SIN(x) sin(x)
#define D_COS(x) cos(x)
#define D_STEP(x) mg_step(x)
#define D_SIGN(x) mg_sign(x)
#define D_IF(c, x, y) ((c) ? (x) : (y))

/* X(code, _op, children, forward, d out / d a, d out / d b) */
#define MG_BINARY_OPS(X)                                                                        \
    X(MG_ADD,  "+",  MG_TWO_CHILDREN,      a + b,       D_NUM(1.0), D_NUM(1.0))                 \
    X(MG_MUL,  "*",  MG_TWO_CHILDREN,      a * b,       D_B,        D_A)                        \
    /* a ** 2, _op '**2': x ** 0 has slope 0 everywhere (PyTorch's; no 0 ** -1 at 0) */          \
    X(MG_POW,  "**", MG_BASE_AND_EXPONENT, mg_pow(a, b, err),                                   \
      D_IF(b == 0.0, D_NUM(0.0), D_MUL(D_NUM(b), D_POW(D_A, b - 1))), D_NUM(MG_NOT_A_CHILD))    \
    /* a ** b, b a Value; d/db = out * log(a), PyTorch's 0 at a == 0, nan below */               \
    X(MG_POWV, "**", MG_TWO_CHILDREN,      mg_pow(a, b, err),                                   \
      D_IF(b == 0.0, D_NUM(0.0), D_MUL(D_B, D_POWV(D_A, D_SUB(D_B, D_NUM(1.0))))),              \
      D_IF(a > 0.0 || isnan(a), D_MUL(D_OUT, D_LOG(D_A)), D_NUM(a == 0.0 ? 0.0 : NAN)))

/* X(code, _op, children, forward, d out / d a, the Value method's docstring)
 * The forwards are Python's math functions, with their errors (mg_math_1);
 * the derivatives take PyTorch's value at a kink (slope 0 at 0 for relu and
 * abs, the step and sign nodes, whose own slope is 0: PyTorch's second
 * derivative) and at a pole (sqrt's inf at 0). */
#define MG_UNARY_OPS(X)                                                                         \
    X(MG_RELU,    "ReLU",    MG_ONE_CHILD, a < 0 ? 0.0 : a,           D_STEP(D_OUT),            \
      "max(0, x), as micrograd's relu (a NaN stays NaN).")                                      \
    X(MG_TANH,    "tanh",    MG_ONE_CHILD, tanh(a),                                             \
      D_SUB(D_NUM(1.0), D_MUL(D_OUT, D_OUT)),                                                   \
      "The hyperbolic tangent, math.tanh(x).")                                                  \
    X(MG_EXP,     "exp",     MG_ONE_CHILD, mg_math_1(a, exp, 1, err), D_OUT,                    \
      "e ** x, math.exp(x) (OverflowError past 709.78).")                                       \
    X(MG_LOG,     "log",     MG_ONE_CHILD, mg_log(a, err),            D_DIV(D_NUM(1.0), D_A),   \
      "The natural logarithm, math.log(x) (ValueError for x <= 0).")                            \
    X(MG_SIGMOID, "sigmoid", MG_ONE_CHILD, mg_sigmoid(a),                                       \
      D_MUL(D_OUT, D_SUB(D_NUM(1.0), D_OUT)),                                                   \
      "1 / (1 + e ** -x), computed so that it cannot overflow.")                                \
    X(MG_SIN,     "sin",     MG_ONE_CHILD, mg_math_1(a, sin, 0, err), D_COS(D_A),               \
      "The sine, math.sin(x) (ValueError for an infinite x).")                                  \
    X(MG_COS,     "cos",     MG_ONE_CHILD, mg_math_1(a, cos, 0, err), D_NEG(D_SIN(D_A)),        \
      "The cosine, math.cos(x) (ValueError for an infinite x).")                                \
    X(MG_ABS,     "abs",     MG_ONE_CHILD, mg_math_1(a, fabs, 0, err), D_SIGN(D_A),             \
      "|x|, math.fabs(x), as abs(v) gives; its slope is 0 at 0.")                               \
    /* 0.5 / out as C divides: a constant inf at 0 (where Python's division raises) */          \
    X(MG_SQRT,    "sqrt",    MG_ONE_CHILD, mg_math_1(a, sqrt, 0, err),                          \
      D_IF(out == 0.0, D_NUM(0.5 / out), D_DIV(D_NUM(0.5), D_OUT)),                             \
      "The square root, math.sqrt(x) (ValueError for x < 0).")                                  \
    /* relu's and abs's slopes as ops, flat (slope 0) on each side of 0 */                        \
    X(MG_STEP,    "step",    MG_ONE_CHILD, mg_step(a),                D_NUM(0.0),               \
      "Heaviside's step, 1.0 if x > 0 else 0.0 (0.0 at 0 and at NaN): relu's slope.")          \
    X(MG_SIGN,    "sign",    MG_ONE_CHILD, mg_sign(a),                D_NUM(0.0),               \
      "1.0, -1.0, or 0.0 at +-0: abs's slope; NaN at NaN (torch.sign gives 0.0 there).")

/* X(code, _op, children): the fused ops (fused.h), one node where
 * written-out code makes many */
#define MG_FUSED_OPS(X)                                                                         \
    X(MG_DOT,     "dot",     MG_CHILD_LIST)   /* start + w0*x0 + w1*x1 + ... */                 \
    X(MG_SUM,     "sum",     MG_CHILD_LIST)   /* start + v0 + v1 + ... */                       \
    X(MG_RMS_SCALE, "rmsnorm", MG_CHILD_LIST) /* (mean(x*x) + eps) ** -0.5 */                   \
    X(MG_EXPSUM,  "expsum",  MG_CHILD_LIST)   /* sum(exp(x - max(x))) */                        \
    X(MG_SOFTMAX, "softmax", MG_TWO_CHILDREN) /* x_i, its expsum: exp(x_i - max) / expsum */    \
    X(MG_LOG_SOFTMAX, "log_softmax", MG_TWO_CHILDREN) /* x_i - max - log(expsum) */             \
    X(MG_NLL,     "cross_entropy", MG_CHILD_LIST) /* logits, then the target: */                \
                                              /* -log_softmax(logits)[target] */                \
    X(MG_EMBED,   "embedding", MG_CHILD_LIST) /* a column of a table, then */                   \
                                              /* the index: column[index] */

/* Every op in code order: the ops that compute (OPS: the elementwise, then
 * the fused) between a leaf and a custom node, Value(data, children, op),
 * whose _op and _backward are the user's. */
#define MG_OP_TABLE(X)                                                                          \
    X(MG_LEAF,    "",        MG_NO_CHILDREN)                                                    \
    MG_BINARY_OPS(X)                                                                            \
    MG_UNARY_OPS(X)                                                                             \
    X(MG_CUSTOM,  "",        MG_CHILD_LIST)                                                     \
    MG_FUSED_OPS(X)

enum mg_op {
#define MG_OP_CODE(code, ...) code,
    MG_OP_TABLE(MG_OP_CODE)
#undef MG_OP_CODE
};

/* A separate enum, so that a switch over enum mg_op need not list it. */
enum {
#define MG_OP_COUNT(code, ...) +1
    MG_NUM_OPS = 0 MG_OP_TABLE(MG_OP_COUNT),
#undef MG_OP_COUNT
};

/* A case label per row: switches list every code (see above). */
#define MG_OP_CASE(code, ...) case code:

/* Per op code: its _op (MG_POW appends its exponent, MG_CUSTOM has its own)
 * and its children's layout (op_table.c fills both from the table). */
extern const char *const mg_op_names[MG_NUM_OPS];
extern const unsigned char mg_op_layout[MG_NUM_OPS];

/* Each op's id, as above; the table is made once, at import, by
 * mg_op_table_ready (0, or -1 with an exception). */
extern const char *mg_op_ids[MG_NUM_OPS];
int mg_op_table_ready(void);

/* The ids of the ops that compute, in code order, and of the unary ones:
 * new tuples of str, or NULL with an exception. */
PyObject *mg_computing_op_ids(void);
PyObject *mg_unary_op_ids(void);

#endif
