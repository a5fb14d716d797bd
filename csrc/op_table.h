/* Every op of the engine, declared once.
 *
 * Each row is X(code, _op name, children): the op's code, the string its
 * Value shows as `_op` (micrograd's names), and how its node stores its
 * children, which fixes the arity:
 *
 *   MG_NO_CHILDREN        a leaf                            arity 0
 *   MG_ONE_CHILD          u.kids[0]                         arity 1
 *   MG_TWO_CHILDREN       u.kids[0], u.kids[1]              arity 2
 *   MG_BASE_AND_EXPONENT  u.pow.base, the exponent a float  arity 1
 *   MG_CHILD_LIST         u.nary->children[0..count)        any arity
 *
 * The op enum, the children walk (sort, GC traversal, release), `_op`,
 * `_children` and the tape all derive from this table; an op's arithmetic
 * (forward, chain rule, local derivatives) is its case in ops.h.
 */
#ifndef MG_OP_TABLE_H
#define MG_OP_TABLE_H

enum mg_children_layout {
    MG_NO_CHILDREN = 0,
    MG_ONE_CHILD,
    MG_TWO_CHILDREN,
    MG_BASE_AND_EXPONENT,
    MG_CHILD_LIST,
};

#define MG_OP_TABLE(X)                                                          \
    X(MG_LEAF,    "",        MG_NO_CHILDREN)                                    \
    X(MG_ADD,     "+",       MG_TWO_CHILDREN)      /* a + b */                  \
    X(MG_MUL,     "*",       MG_TWO_CHILDREN)      /* a * b */                  \
    X(MG_POW,     "**",      MG_BASE_AND_EXPONENT) /* a ** 2: _op '**2' */      \
    X(MG_POWV,    "**",      MG_TWO_CHILDREN)      /* a ** b, b a Value */      \
    X(MG_RELU,    "ReLU",    MG_ONE_CHILD)                                      \
    X(MG_TANH,    "tanh",    MG_ONE_CHILD)                                      \
    X(MG_EXP,     "exp",     MG_ONE_CHILD)                                      \
    X(MG_LOG,     "log",     MG_ONE_CHILD)                                      \
    X(MG_SIGMOID, "sigmoid", MG_ONE_CHILD)                                      \
    X(MG_CUSTOM,  "",        MG_CHILD_LIST)   /* Value(data, children, op): */  \
                                              /* _op and _backward the user's */\
    /* the fused ops (fused.h): one node where written-out code makes many */   \
    X(MG_DOT,     "dot",     MG_CHILD_LIST)   /* start + w0*x0 + w1*x1 + ... */ \
    X(MG_SUM,     "sum",     MG_CHILD_LIST)   /* start + v0 + v1 + ... */       \
    X(MG_RMS_SCALE, "rmsnorm", MG_CHILD_LIST) /* (mean(x*x) + eps) ** -0.5 */   \
    X(MG_EXPSUM,  "expsum",  MG_CHILD_LIST)   /* sum(exp(x - max(x))) */        \
    X(MG_SOFTMAX, "softmax", MG_TWO_CHILDREN) /* x_i, its expsum: */            \
                                              /* exp(x_i - max) / expsum */     \
    X(MG_LOG_SOFTMAX, "log_softmax", MG_TWO_CHILDREN) /* x_i - max - log(expsum) */ \
    X(MG_NLL,     "cross_entropy", MG_CHILD_LIST) /* logits, then the target: */ \
                                              /* -log_softmax(logits)[target] */\
    X(MG_EMBED,   "embedding", MG_CHILD_LIST) /* a column of a table, then */   \
                                              /* the index: column[index] */

enum mg_op {
#define MG_OP_CODE(code, name, layout) code,
    MG_OP_TABLE(MG_OP_CODE)
#undef MG_OP_CODE
    MG_NUM_OPS
};

/* Per op code: its _op (MG_POW appends its exponent, MG_CUSTOM has its own)
 * and its children's layout (op_table.c fills both from the table). */
extern const char *const mg_op_names[MG_NUM_OPS];
extern const unsigned char mg_op_layout[MG_NUM_OPS];

#endif
