/* The batched dot (fused.h's start + w0*x0 + w1*x1 + ..., in that order):
 * the hot kernel of an MLP, forward and backward, with a shared operand
 * (a weight, a bias) read as one number and its gradient summed over the
 * chunk's lanes at once. */
#include "batch/batch_pass.h"

/* the kernels and their helpers are inlined into each build (the end) */
#define ALWAYS_INLINE MG_ALWAYS_INLINE

/* Four doubles: one AVX register in the kernels' AVX2 build, two SSE2 ones
 * in the baseline build; the same lanes and the same sum trees either way,
 * so the same bits on any x86-64. (Passed only between inlined helpers:
 * gcc's -Wpsabi note on the calling convention of such values has no call
 * to apply to.) */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef double mg_v4d __attribute__((vector_size(32)));

ALWAYS_INLINE mg_v4d mg_v4d_load(const double *p)
{
    mg_v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

ALWAYS_INLINE void mg_v4d_store(double *p, mg_v4d v)
{
    memcpy(p, &v, sizeof v);
}

ALWAYS_INLINE mg_v4d mg_v4d_splat(double s)
{
    mg_v4d v = {s, s, s, s};
    return v;
}

/* The sum of eight running sums (lanes 0-3 in a, 4-7 in b) by one fixed
 * tree, ((0+2) + (4+6)) + ((1+3) + (5+7)): a function of nothing else. */
ALWAYS_INLINE double mg_v4d_tree(mg_v4d a, mg_v4d b)
{
    const mg_v2d s = ((mg_v2d){a[0], a[1]} + (mg_v2d){a[2], a[3]}) + ((mg_v2d){b[0], b[1]} + (mg_v2d){b[2], b[3]});
    return s[0] + s[1];
}

/* Where a dot's sum starts: a per-example bias (returned, C doubles), or
 * the number *start (a shared bias, or the dot's constant). */
ALWAYS_INLINE const double *start_of(const mg_bpass *x, const mg_binstr *ins, double *start)
{
    const int has_bias = (ins->flags & MG_BI_HAS_BIAS) != 0;
    /* (a dot without a bias has no ref there: past its args, maybe the array's end) */
    const int32_t bias = has_bias ? x->args_of[ins->args + 2 * ins->pairs] : 0;
    *start = has_bias && bias < 0 ? mg_bscalar(x, bias) : ins->k;
    return has_bias && bias >= 0 ? mg_bval(x, bias) : NULL;
}

/* The 16-lane blocks of a pair of layer dots, ins and ins + ins->pair
 * (batch_program.h's MG_BI_PAIR_FIRST): each input block loaded once for
 * both, each dot summed in its own order as the blocks below sum it (the
 * same bits). Returns the first lane after the blocks. */
ALWAYS_INLINE Py_ssize_t paired_blocks(const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len)
{
    const mg_binstr *next = ins + ins->pair;
    const int32_t *r = x->args_of + ins->args, *q = x->args_of + next->args;
    const Py_ssize_t n = ins->pairs, C = x->C;
    double *Oa = x->A + (Py_ssize_t)ins->out * C, *Ob = x->A + (Py_ssize_t)next->out * C;
    double start_a, start_b;
    const double *bias_a = start_of(x, ins, &start_a), *bias_b = start_of(x, next, &start_b);
    Py_ssize_t i, k, j0;
    for (j0 = 0; j0 + 16 <= len; j0 += 16) {
        mg_v4d a[4], b[4];
        for (k = 0; k < 4; k++) {
            a[k] = bias_a != NULL ? mg_v4d_load(bias_a + j0 + 4 * k) : mg_v4d_splat(start_a);
            b[k] = bias_b != NULL ? mg_v4d_load(bias_b + j0 + 4 * k) : mg_v4d_splat(start_b);
        }
        for (i = 0; i < n; i++) {
            const double *p = x->A + (Py_ssize_t)r[n + i] * C + j0;
            const mg_v4d wa = mg_v4d_splat(x->Ls[-(r[i] + 1)]), wb = mg_v4d_splat(x->Ls[-(q[i] + 1)]);
            for (k = 0; k < 4; k++) {
                const mg_v4d v = mg_v4d_load(p + 4 * k);
                a[k] = a[k] + wa * v;
                b[k] = b[k] + wb * v;
            }
        }
        for (k = 0; k < 4; k++) {
            mg_v4d_store(Oa + j0 + 4 * k, a[k]);
            mg_v4d_store(Ob + j0 + 4 * k, b[k]);
        }
    }
    return j0;
}

/* acc + w * x over a dot's terms, 16 lanes at a time held in registers
 * (gcc's vector extension: each lane's + and * are the scalar IEEE ops, so
 * the bits are the scalar engine's), the rest term by term over memory. */
ALWAYS_INLINE int mg_bdot_forward_body(const mg_bpass *x, const mg_binstr *ins, double *restrict O,
                                       Py_ssize_t len)
{
    const int32_t *r = x->args_of + ins->args;
    const Py_ssize_t n = ins->pairs;
    const int has_bias = (ins->flags & MG_BI_HAS_BIAS) != 0;
    double start;
    const double *bias = start_of(x, ins, &start);
    const Py_ssize_t C = x->C;
    mg_bterm *t = x->terms;
    Py_ssize_t i, j, k, j0 = 0;
    if (len == 1) {  /* one example (a batch of one), or the shared program */
        double acc = has_bias ? mg_bscalar(x, r[2 * n]) : ins->k;
        for (i = 0; i < n; i++)
            acc = acc + mg_bscalar(x, r[i]) * mg_bscalar(x, r[n + i]);
        O[0] = acc;
        return MG_OK;
    }
    if (ins->flags & MG_BI_PAIR_SECOND)
        j0 = len - len % 16;  /* the pair's first made the blocks */
    else if (ins->flags & MG_BI_PAIR_FIRST)
        j0 = paired_blocks(x, ins, len);
    /* blocks of 16 lanes: each term's kind read from its refs as it comes
     * (a lane ref is a shared number, read from Ls: no broadcast array) */
    for (; j0 + 16 <= len; j0 += 16) {
        mg_v4d acc[4];
        for (k = 0; k < 4; k++)
            acc[k] = bias != NULL ? mg_v4d_load(bias + j0 + 4 * k) : mg_v4d_splat(start);
        for (i = 0; i < n; i++) {
            const int32_t rw = r[i], rx = r[n + i];
            if ((rw < 0) != (rx < 0)) {
                const mg_v4d s = mg_v4d_splat(x->Ls[rw < 0 ? -(rw + 1) : -(rx + 1)]);
                const double *p = x->A + (Py_ssize_t)(rw < 0 ? rx : rw) * C + j0;
                for (k = 0; k < 4; k++)
                    acc[k] = acc[k] + s * mg_v4d_load(p + 4 * k);
            } else if (rw >= 0) {
                const double *p = x->A + (Py_ssize_t)rw * C + j0, *q = x->A + (Py_ssize_t)rx * C + j0;
                for (k = 0; k < 4; k++)
                    acc[k] = acc[k] + mg_v4d_load(p + 4 * k) * mg_v4d_load(q + 4 * k);
            } else {
                const mg_v4d s = mg_v4d_splat(x->Ls[-(rw + 1)] * x->Ls[-(rx + 1)]);
                for (k = 0; k < 4; k++)
                    acc[k] = acc[k] + s;
            }
        }
        for (k = 0; k < 4; k++)
            mg_v4d_store(O + j0 + 4 * k, acc[k]);
    }
    if (j0 == len)
        return MG_OK;
    /* the last lanes, term by term over memory */
    for (i = 0; i < n; i++) {
        const int w_shared = r[i] < 0, v_shared = r[n + i] < 0;
        const double *w = mg_bval(x, r[i]), *v = mg_bval(x, r[n + i]);
        if (w_shared && v_shared) {
            t[i].kind = 2;
            t[i].s = mg_bscalar(x, r[i]) * mg_bscalar(x, r[n + i]);
        } else if (w_shared || v_shared) {
            t[i].kind = 1;
            t[i].s = w_shared ? mg_bscalar(x, r[i]) : mg_bscalar(x, r[n + i]);
            t[i].p = w_shared ? v : w;
        } else {
            t[i].kind = 0;
            t[i].p = w;
            t[i].q = v;
        }
    }
    for (j = j0; j < len; j++)
        O[j] = bias != NULL ? bias[j] : start;
    for (i = 0; i < n; i++) {
        const mg_bterm *ti = &t[i];
        if (ti->kind == 1)
            for (j = j0; j < len; j++)
                O[j] = O[j] + ti->s * ti->p[j];
        else if (ti->kind == 0)
            for (j = j0; j < len; j++)
                O[j] = O[j] + ti->p[j] * ti->q[j];
        else
            for (j = j0; j < len; j++)
                O[j] = O[j] + ti->s;
    }
    return MG_OK;
}

/* sum(v[j] * g[j] for j < len), v[j] being p[j] or, with p NULL, the one
 * number s (a shared operand), as a fixed tree of eight running sums
 * (mg_v4d_tree): a function of len only, so the same bits on any thread. */
ALWAYS_INLINE double lane_dot(const double *p, double s, const double *g,
                                                             Py_ssize_t len)
{
    mg_v4d a = mg_v4d_splat(0.0), b = mg_v4d_splat(0.0);
    const mg_v4d sv = mg_v4d_splat(s);
    Py_ssize_t j = 0;
    double total;
    if (len == 1)  /* a chunk of one: the scalar engine's product */
        return (p != NULL ? p[0] : s) * g[0];
    for (; j + 8 <= len; j += 8) {
        a = a + (p != NULL ? mg_v4d_load(p + j) : sv) * mg_v4d_load(g + j);
        b = b + (p != NULL ? mg_v4d_load(p + j + 4) : sv) * mg_v4d_load(g + j + 4);
    }
    total = mg_v4d_tree(a, b);
    for (; j < len; j++)
        total = total + (p != NULL ? p[j] : s) * g[j];
    return total;
}

/* sum(g[j] for j < len), the same tree (a shared bias's share). */
ALWAYS_INLINE double lane_sum_of(const double *g, Py_ssize_t len)
{
    mg_v4d a = mg_v4d_splat(0.0), b = mg_v4d_splat(0.0);
    Py_ssize_t j = 0;
    double total;
    if (len == 1)
        return g[0];
    for (; j + 8 <= len; j += 8) {
        a = a + mg_v4d_load(g + j);
        b = b + mg_v4d_load(g + j + 4);
    }
    total = mg_v4d_tree(a, b);
    for (; j < len; j++)
        total = total + g[j];
    return total;
}

/* The commonest term of a layer's backward: a shared weight w (one number)
 * times a per-example input X. Returns w's share, lane_dot(X, G) by the
 * same tree (so the same bits), while adding w * G to X's adjoint in the
 * same pass over the lanes: G is loaded once for both, and there is one
 * loop per term instead of two, each with its own set-up. */
ALWAYS_INLINE double dot_and_axpy(const double *X, double *GX, double w,
                                                                 const double *G, Py_ssize_t len)
{
    mg_v4d a = mg_v4d_splat(0.0), b = mg_v4d_splat(0.0);
    const mg_v4d ws = mg_v4d_splat(w);
    Py_ssize_t j = 0;
    double total;
    if (len == 1) {
        GX[0] += w * G[0];
        return X[0] * G[0];
    }
    for (; j + 8 <= len; j += 8) {
        const mg_v4d g0 = mg_v4d_load(G + j), g1 = mg_v4d_load(G + j + 4);
        a = a + mg_v4d_load(X + j) * g0;
        b = b + mg_v4d_load(X + j + 4) * g1;
        mg_v4d_store(GX + j, mg_v4d_load(GX + j) + ws * g0);
        mg_v4d_store(GX + j + 4, mg_v4d_load(GX + j + 4) + ws * g1);
    }
    total = mg_v4d_tree(a, b);
    for (; j < len; j++) {
        total = total + X[j] * G[j];
        GX[j] += w * G[j];
    }
    return total;
}

ALWAYS_INLINE int mg_bdot_backward_body(const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len)
{
    const Py_ssize_t C = x->C;
    const double *G = x->GA + (Py_ssize_t)ins->out * C;
    double *GB;
    Py_ssize_t i, j;
    /* a shared operand (a lane) is read as one number and its share
     * summed over the chunk's lanes at once, into its one-number
     * adjoint: no broadcast weights, no lane arrays of weight grads */
    const Py_ssize_t n = ins->pairs;
    const int32_t *r = x->args_of + ins->args;
    if (len == 1) {  /* one example: fused.h's loop, through the refs */
        const double g = G[0];
        for (i = 0; i < n; i++) {
            const int32_t rw = r[i], rx = r[n + i];
            if (rx >= 0 && mg_bone_number(x, rw)) {
                /* a layer's term (a shared weight, one number; an input of
                 * the example): the two adds below without their tests */
                const Py_ssize_t l = -(rw + 1);
                const double w = x->Ls[l], v = x->A[rx * C];
                x->GLs[l] += v * g;
                x->GA[rx * C] += w * g;
                continue;
            }
            const double w = mg_bscalar(x, r[i]), v = mg_bscalar(x, r[n + i]);
            *mg_badj0(x, r[i]) += v * g;
            *mg_badj0(x, r[n + i]) += w * g;
        }
        if (ins->flags & MG_BI_HAS_BIAS)
            *mg_badj0(x, r[2 * n]) += g;
        return MG_OK;
    }
    /* (operands' addresses found term by term, where they are used: a
     * resolve pass over all of them first cost a fifth of the kernel) */
    for (i = 0; i < n; i++) {
        const int32_t rw = r[i], rx = r[n + i];
        const int w_one = mg_bone_number(x, rw), x_one = mg_bone_number(x, rx);
        if (w_one && rx >= 0) {
            x->GLs[-(rw + 1)] += dot_and_axpy(x->A + rx * C, x->GA + rx * C, x->Ls[-(rw + 1)], G, len);
            continue;
        }
        if (x_one && rw >= 0) {  /* w * x == x * w: the same products */
            x->GLs[-(rx + 1)] += dot_and_axpy(x->A + rw * C, x->GA + rw * C, x->Ls[-(rx + 1)], G, len);
            continue;
        }
        const double *W = mg_bval(x, rw), *X = mg_bval(x, rx);
        double *GW = mg_badj(x, rw), *GX = mg_badj(x, rx);
        if (w_one || x_one) {
            /* (a lane's value is read as its one number: a one-number
             * lane has no broadcast array) */
            const double w = mg_bscalar(x, rw), v = mg_bscalar(x, rx);
            if (w_one)
                x->GLs[-(rw + 1)] += lane_dot(rx < 0 ? NULL : X, v, G, len);
            else if (rx < 0)
                for (j = 0; j < len; j++)
                    GW[j] += v * G[j];
            else
                for (j = 0; j < len; j++)
                    GW[j] += X[j] * G[j];
            if (x_one)
                x->GLs[-(rx + 1)] += lane_dot(rw < 0 ? NULL : W, w, G, len);
            else if (rw < 0)
                for (j = 0; j < len; j++)
                    GX[j] += w * G[j];
            else
                for (j = 0; j < len; j++)
                    GX[j] += W[j] * G[j];
            continue;
        }
        for (j = 0; j < len; j++) {
            GW[j] += X[j] * G[j];
            GX[j] += W[j] * G[j];
        }
    }
    if (ins->flags & MG_BI_HAS_BIAS) {
        if (mg_bone_number(x, r[2 * n]))
            x->GLs[-(r[2 * n] + 1)] += lane_sum_of(G, len);
        else
            for (j = 0, GB = mg_badj(x, r[2 * n]); j < len; j++)
                GB[j] += G[j];
    }
    return MG_OK;
}

MG_TWO_BUILDS(mg_bdot_forward, (const mg_bpass *x, const mg_binstr *ins, double *restrict O, Py_ssize_t len),
              (x, ins, O, len))
MG_TWO_BUILDS(mg_bdot_backward, (const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len), (x, ins, len))
