/* The batched kernels of the elementwise ops, generated from op_table.h's
 * rows exactly as ops.h generates the scalar ones: the same expressions over
 * a, b, out and err, here in a loop over a chunk's lanes, so each example's
 * numbers are the scalar engine's (gcc vectorizes the loops of + and *; the
 * library's exp, log, tanh... are called once per lane, as the scalar code
 * calls them). An op is still one row. */
#include "batch/batch_pass.h"
#include "ops/float_math.h"

/* The operands of lane j, under the names the rows use. */
#define MG_BLANE_A_B(layout)                                                          \
    const double a = A[j];                                                            \
    const double b = (layout) == MG_BASE_AND_EXPONENT ? ins->k : B[j];                \
    (void)a;                                                                          \
    (void)b

/* After a loop whose status is not MG_OK: the first failing lane, found by
 * running the expression again lane by lane with a status of its own. */
#define MG_BFIRST_BAD(operands, expression)                                           \
    for (j = 0; j < len; j++) {                                                       \
        int lane_status = MG_OK;                                                      \
        {                                                                             \
            int *const err = &lane_status;                                            \
            (void)err;                                                                \
            operands;                                                                 \
            (void)(expression);                                                       \
        }                                                                             \
        if (lane_status != MG_OK) {                                                   \
            *bad = j;                                                                 \
            return lane_status;                                                       \
        }                                                                             \
    }                                                                                 \
    return status

#define MG_BFORWARD_BINARY(code, name, layout, forward, local_a, local_b)            \
    case code: {                                                                      \
        const double *A = mg_bval(x, ins->a);                                         \
        const double *B = (layout) == MG_BASE_AND_EXPONENT ? NULL : mg_bval(x, ins->b); \
        for (j = 0; j < len; j++) {                                                   \
            MG_BLANE_A_B(layout);                                                     \
            O[j] = (forward);                                                         \
        }                                                                             \
        if (status == MG_OK)                                                          \
            return MG_OK;                                                             \
        MG_BFIRST_BAD(MG_BLANE_A_B(layout), forward);                                 \
    }
#define MG_BFORWARD_UNARY(code, name, layout, forward, local_a, doc)                 \
    case code: {                                                                      \
        const double *A = mg_bval(x, ins->a);                                         \
        for (j = 0; j < len; j++) {                                                   \
            const double a = A[j];                                                    \
            O[j] = (forward);                                                         \
        }                                                                             \
        if (status == MG_OK)                                                          \
            return MG_OK;                                                             \
        MG_BFIRST_BAD(const double a = A[j], forward);                                \
    }

MG_ALWAYS_INLINE int mg_bforward_body(const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len, Py_ssize_t *bad)
{
    int status = MG_OK, *const err = &status;
    double *restrict O = x->A + (Py_ssize_t)ins->out * x->C;
    Py_ssize_t j;
    (void)err;
    switch ((enum mg_op)ins->op) {
    MG_BINARY_OPS(MG_BFORWARD_BINARY)
    MG_UNARY_OPS(MG_BFORWARD_UNARY)
    MG_FUSED_OPS(MG_OP_CASE)
        return mg_bforward_fused(x, ins, len, bad);
    case MG_LEAF:
    case MG_CUSTOM:  /* never an instruction: they are slots that are filled */
        return MG_OK;
    }
    *bad = 0;
    return MG_ERR_NO_CASE;
}

/* The lane's operands and result for a row's local derivatives. */
#define MG_BLANE_LOCALS(layout)                                                       \
    MG_BLANE_A_B(layout);                                                             \
    const double out = O[j];                                                          \
    (void)out

/* microgpt's chain rule per lane, child.grad += local * g, both locals
 * computed before either is applied, as ops.h's. */
#define MG_BBACKWARD_BINARY(code, name, layout, forward, local_a, local_b)           \
    case code: {                                                                      \
        const double *A = mg_bval(x, ins->a);                                         \
        const double *B = (layout) == MG_BASE_AND_EXPONENT ? NULL : mg_bval(x, ins->b); \
        double *GA = mg_badj(x, ins->a);                                              \
        double *GB = (layout) == MG_TWO_CHILDREN ? mg_badj(x, ins->b) : NULL;         \
        for (j = 0; j < len; j++) {                                                   \
            MG_BLANE_LOCALS(layout);                                                  \
            const double g = G[j];                                                    \
            const double d_a = (local_a), d_b = (local_b);                            \
            (void)d_b;                                                                \
            GA[j] += d_a * g;                                                         \
            if ((layout) == MG_TWO_CHILDREN)                                          \
                GB[j] += d_b * g;                                                     \
        }                                                                             \
        if (status == MG_OK)                                                          \
            return MG_OK;                                                             \
        MG_BFIRST_BAD(MG_BLANE_LOCALS(layout), (local_a) + (local_b));                \
    }
#define MG_BBACKWARD_UNARY(code, name, layout, forward, local_a, doc)                \
    case code: {                                                                      \
        const double *A = mg_bval(x, ins->a);                                         \
        double *GA = mg_badj(x, ins->a);                                              \
        for (j = 0; j < len; j++) {                                                   \
            const double a = A[j], out = O[j], g = G[j];                              \
            const double d_a = (local_a);                                             \
            (void)a;                                                                  \
            (void)out;                                                                \
            GA[j] += d_a * g;                                                         \
        }                                                                             \
        if (status == MG_OK)                                                          \
            return MG_OK;                                                             \
        MG_BFIRST_BAD(const double a = A[j]; const double out = O[j]; (void)a; (void)out, \
                      local_a);                                                       \
    }

MG_ALWAYS_INLINE int mg_bbackward_body(const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len, Py_ssize_t *bad)
{
    int status = MG_OK, *const err = &status;
    const double *O = x->A + (Py_ssize_t)ins->out * x->C;
    const double *G = x->GA + (Py_ssize_t)ins->out * x->C;
    Py_ssize_t j;
    (void)err;
    switch ((enum mg_op)ins->op) {
    MG_BINARY_OPS(MG_BBACKWARD_BINARY)
    MG_UNARY_OPS(MG_BBACKWARD_UNARY)
    MG_FUSED_OPS(MG_OP_CASE)
        return mg_bbackward_fused(x, ins, len, bad);
    case MG_LEAF:
    case MG_CUSTOM:
        return MG_OK;
    }
    *bad = 0;
    return MG_ERR_NO_CASE;
}

/* both built for AVX2 too (batch_pass.h): + and * four lanes an instruction */
MG_TWO_BUILDS(mg_bforward, (const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len, Py_ssize_t *bad),
              (x, ins, len, bad))
MG_TWO_BUILDS(mg_bbackward, (const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len, Py_ssize_t *bad),
              (x, ins, len, bad))
