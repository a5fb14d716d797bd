/* The batched kernels of the fused ops: fused.h's arithmetic, in fused.h's
 * order, per lane of a chunk. Loops run over the lanes innermost where the
 * arithmetic is + and * (so they vectorize); where it calls exp or log the
 * lane's scalar code is fused.h's line for line. Aux numbers (node slots
 * after the node's own, batch_build.c) keep what the scalar node keeps in
 * its mg_nary (the max, the total, the mean square) and each exp, which
 * the backward would compute again: the same call on the same number, so
 * the same bits. */
#include "batch/batch_pass.h"
#include "core/fused.h"

#define AUX(i) (x->A + (Py_ssize_t)(ins->aux + (i)) * x->C)

/* The first lane at which expression sets a status, else status. */
#define FIRST_BAD(expression)                                                        \
    do {                                                                             \
        for (j = 0; j < len; j++) {                                                  \
            int lane_status = MG_OK;                                                 \
            (void)(expression);                                                      \
            if (lane_status != MG_OK) {                                              \
                *bad = j;                                                            \
                return lane_status;                                                  \
            }                                                                        \
        }                                                                            \
        return status;                                                               \
    } while (0)

int mg_bforward_fused(const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len, Py_ssize_t *bad)
{
    int status = MG_OK;
    double *restrict O = x->A + (Py_ssize_t)ins->out * x->C;
    const double **P = x->P;
    const Py_ssize_t m = ins->nargs;
    Py_ssize_t i, j, t;
    double inv_n;
    switch ((enum mg_op)ins->op) {
    case MG_DOT:
        return mg_bdot_forward(x, ins, O, len);
    case MG_SUM:
        mg_bresolve(x, ins, 0);
        i = 0;
        if (ins->flags & MG_BI_START_IS_CHILD)
            for (j = 0, i = 1; j < len; j++)
                O[j] = P[0][j];
        else
            for (j = 0; j < len; j++)
                O[j] = ins->k;
        for (; i < m; i++)
            for (j = 0; j < len; j++)
                O[j] = O[j] + P[i][j];
        return MG_OK;
    case MG_RMS_SCALE: {
        double *M = AUX(0);
        mg_bresolve(x, ins, 0);
        for (j = 0; j < len; j++)
            M[j] = 0.0;
        for (i = 0; i < m; i++)
            for (j = 0; j < len; j++)
                M[j] = M[j] + P[i][j] * P[i][j];
        inv_n = mg_pow((double)m, -1.0, &status);
        for (j = 0; j < len; j++) {
            M[j] = M[j] * inv_n;
            O[j] = mg_pow(M[j] + ins->k, -0.5, &status);
        }
        if (status == MG_OK)
            return MG_OK;
        FIRST_BAD(mg_pow(M[j] + ins->k, -0.5, &lane_status));
    }
    case MG_EXPSUM:
    case MG_NLL: {
        /* the lane's code is fused.h's: index, max, sum of exps, result */
        const int nll = ins->op == MG_NLL;
        const Py_ssize_t n = nll ? m - 1 : m;
        double *S = AUX(0), *T = nll ? AUX(1) : O;
        double *const *E = (double *const *)x->GP;  /* the exps' aux arrays */
        mg_bresolve(x, ins, 0);
        for (i = 0; i < n; i++)
            x->GP[i] = AUX((nll ? 2 : 1) + i);
        for (j = 0; j < len; j++) {
            int e = MG_OK;
            double shift, total = 0.0;
            t = 0;
            if (nll)
                e = mg_as_index(P[n][j], n, &t);
            shift = P[0][j];
            for (i = 1; i < n; i++)
                if (P[i][j] > shift)
                    shift = P[i][j];
            for (i = 0; i < n; i++) {
                double v = mg_exp(P[i][j] + (-shift), &e);
                E[i][j] = v;
                total = total + v;
            }
            if (e == MG_OK && nll)
                O[j] = mg_log(total, &e) + (P[t][j] + (-shift)) * -1.0;
            if (e != MG_OK) {
                *bad = j;
                return e;
            }
            S[j] = shift;
            T[j] = total;
        }
        if (!nll) {
            /* the total's powers, once per expsum for each of its softmaxes
             * (fused.h's e * total**-1, and its backward's total**-2): the
             * same calls on the same number. total >= 1 (the max's own exp
             * is 1) or nan, where pow cannot fail */
            double *inv = AUX(1 + n), *inv2 = AUX(2 + n);
            int never = MG_OK;
            for (j = 0; j < len; j++) {
                inv[j] = mg_pow(T[j], -1.0, &never);
                inv2[j] = mg_pow(T[j], -2.0, &never);
            }
        }
        return MG_OK;
    }
    case MG_SOFTMAX:
    case MG_LOG_SOFTMAX: {
        const double *X = mg_bval(x, ins->a), *Z = mg_bval(x, ins->b), *S;
        if (ins->flags & MG_BI_NOT_EXPSUM) {
            *bad = 0;
            return len > 0 ? MG_ERR_NOT_EXPSUM : MG_OK;
        }
        S = mg_bval(x, ins->c);
        if (ins->op == MG_SOFTMAX) {
            const double *inv = mg_bval(x, ins->d);
            double *E = AUX(0);  /* the numerator, for the backward */
            for (j = 0; j < len; j++) {
                E[j] = mg_exp(X[j] + (-S[j]), &status);
                O[j] = E[j] * inv[j];
            }
            if (status == MG_OK)
                return MG_OK;
            FIRST_BAD(mg_exp(X[j] + (-S[j]), &lane_status));
        }
        for (j = 0; j < len; j++)
            O[j] = (X[j] + (-S[j])) + mg_log(Z[j], &status) * -1.0;
        if (status == MG_OK)
            return MG_OK;
        FIRST_BAD(mg_log(Z[j], &lane_status));
    }
    case MG_EMBED: {
        const Py_ssize_t n = m - 1;
        const int32_t *r = x->args_of + ins->args;
        mg_bresolve(x, ins, 0);
        for (j = 0; j < len; j++) {
            int e = mg_as_index(P[n][j], n, &t);
            if (e != MG_OK) {
                *bad = j;
                return e;
            }
            O[j] = r[t] < 0 ? x->Ls[-(r[t] + 1)] : P[t][j];
        }
        return MG_OK;
    }
    MG_BINARY_OPS(MG_OP_CASE)
    MG_UNARY_OPS(MG_OP_CASE)
    case MG_LEAF:
    case MG_CUSTOM:
        break;
    }
    *bad = 0;
    return MG_ERR_NO_CASE;
}

int mg_bbackward_fused(const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len, Py_ssize_t *bad)
{
    int status = MG_OK;
    const double *G = x->GA + (Py_ssize_t)ins->out * x->C;
    const double **P = x->P;
    double **GP = x->GP;
    const Py_ssize_t m = ins->nargs;
    Py_ssize_t i, j, t;
    double inv_n;
    switch ((enum mg_op)ins->op) {
    case MG_DOT:
        return mg_bdot_backward(x, ins, len);
    case MG_SUM:
        mg_bresolve(x, ins, 1);
        for (i = 0; i < m; i++)
            for (j = 0; j < len; j++)
                GP[i][j] += G[j];
        return MG_OK;
    case MG_RMS_SCALE: {
        /* the written-out chain: ** -0.5, + eps, * (1 / n), the sum, x * x */
        const double *M = AUX(0);
        double *A = x->tmp;
        mg_bresolve(x, ins, 1);
        inv_n = mg_pow((double)m, -1.0, &status);
        for (j = 0; j < len; j++)
            A[j] = inv_n * ((-0.5 * mg_pow(M[j] + ins->k, -1.5, &status)) * G[j]);
        if (status != MG_OK)
            FIRST_BAD(mg_pow(M[j] + ins->k, -1.5, &lane_status));
        for (i = 0; i < m; i++)
            for (j = 0; j < len; j++) {
                GP[i][j] += P[i][j] * A[j];
                GP[i][j] += P[i][j] * A[j];
            }
        return MG_OK;
    }
    case MG_EXPSUM:
        mg_bresolve(x, ins, 1);
        for (i = 0; i < m; i++) {
            const double *E = AUX(1 + i);
            for (j = 0; j < len; j++)
                GP[i][j] += E[j] * G[j];
        }
        return MG_OK;
    case MG_NLL: {
        /* total.log(): each exp gets g / total; minus (x_t - max): -g to x_t */
        const Py_ssize_t n = m - 1;
        const double *T = AUX(1);
        mg_bresolve(x, ins, 1);
        for (j = 0; j < len; j++) {
            int e = mg_as_index(P[n][j], n, &t);
            double a;
            if (e != MG_OK) {
                *bad = j;
                return e;
            }
            a = G[j] / T[j];
            for (i = 0; i < n; i++)
                GP[i][j] += AUX(2 + i)[j] * a;
            GP[t][j] += -1.0 * G[j];
        }
        return MG_OK;
    }
    case MG_SOFTMAX:
    case MG_LOG_SOFTMAX: {
        const double *Z = mg_bval(x, ins->b);
        double *GX = mg_badj(x, ins->a), *GZ = mg_badj(x, ins->b);
        if (ins->flags & MG_BI_NOT_EXPSUM) {
            *bad = 0;
            return len > 0 ? MG_ERR_NOT_EXPSUM : MG_OK;
        }
        if (ins->op == MG_LOG_SOFTMAX) {
            for (j = 0; j < len; j++) {
                GX[j] += G[j];
                GZ[j] += (-1.0 * G[j]) / Z[j];
            }
            return MG_OK;
        }
        /* e * total**-1: to e (an exp of x_i), and to total through ** -1,
         * from the forward's numerator and the expsum's powers of the total */
        const double *E = AUX(0), *inv = mg_bval(x, ins->d), *inv2 = mg_bval(x, ins->e);
        for (j = 0; j < len; j++) {
            GX[j] += E[j] * (inv[j] * G[j]);
            GZ[j] += (-1.0 * inv2[j]) * (E[j] * G[j]);
        }
        return MG_OK;
    }
    case MG_EMBED: {
        const Py_ssize_t n = m - 1;
        const int32_t *r = x->args_of + ins->args;
        mg_bresolve(x, ins, 1);
        for (j = 0; j < len; j++) {
            int e = mg_as_index(P[n][j], n, &t);
            if (e != MG_OK) {
                *bad = j;
                return e;
            }
            if (mg_bone_number(x, r[t]))
                x->GLs[-(r[t] + 1)] += G[j];
            else
                GP[t][j] += G[j];
        }
        return MG_OK;
    }
    MG_BINARY_OPS(MG_OP_CASE)
    MG_UNARY_OPS(MG_OP_CASE)
    case MG_LEAF:
    case MG_CUSTOM:
        break;
    }
    *bad = 0;
    return MG_ERR_NO_CASE;
}
