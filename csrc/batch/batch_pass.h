/* One run of a batched program's instructions over one chunk of examples
 * (or over the shared slots, as one "example"): where its operands live,
 * and the kernels' common signature. */
#ifndef MG_BATCH_PASS_H
#define MG_BATCH_PASS_H

#include <string.h>
#include "batch/batch_program.h"

/* Two doubles as one SSE2 (or NEON...) register, by gcc's vector extension:
 * + and * act lane by lane as the scalar IEEE operations (no contraction
 * under -ffp-contract=off), so they give the scalar engine's bits. */
typedef double mg_v2d __attribute__((vector_size(16)));

static inline mg_v2d mg_v2d_load(const double *p)
{
    mg_v2d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void mg_v2d_store(double *p, mg_v2d v)
{
    memcpy(p, &v, sizeof v);
}

static inline mg_v2d mg_v2d_splat(double s)
{
    mg_v2d v = {s, s};
    return v;
}

/* A dot's term over a chunk: both operands vary (p[j] * q[j]), one does
 * (s * p[j]: a shared weight stays in a register; w * x == x * w in IEEE
 * arithmetic, so either order is the scalar engine's product), or neither
 * (s, the product made once: the same bits in every example). */
typedef struct mg_bterm {
    int kind;  /* 0: p * q, 1: s * p, 2: s */
    double s;
    const double *p, *q;
} mg_bterm;

typedef struct mg_bpass {
    double *A, *GA;         /* own-space values and adjoints: slot s at + s * C */
    const double *L;        /* lane values (shared, broadcast): lane l at + l * C */
    double *GL;             /* lane adjoints: the per-example shares of a shared slot's */
    const double *Ls;       /* each lane's value, one number */
    double *GLs;            /* each lane's adjoint summed over the chunk's examples */
    const uint8_t *lane_is_array;
    Py_ssize_t C;           /* doubles per slot */
    const int32_t *args_of;
    const double **P;       /* scratch for n-ary instructions: max_args each */
    double **GP;
    mg_bterm *terms;
    double *tmp;            /* C doubles */
} mg_bpass;

static inline const double *mg_bval(const mg_bpass *x, int32_t ref)
{
    return ref >= 0 ? x->A + (Py_ssize_t)ref * x->C : x->L + (Py_ssize_t)(-(ref + 1)) * x->C;
}

static inline double *mg_badj(const mg_bpass *x, int32_t ref)
{
    return ref >= 0 ? x->GA + (Py_ssize_t)ref * x->C : x->GL + (Py_ssize_t)(-(ref + 1)) * x->C;
}

/* A ref's value as one number: a lane's, or lane 0 of an own-space slot
 * (the shared program, a chunk of one). */
static inline double mg_bscalar(const mg_bpass *x, int32_t ref)
{
    return ref >= 0 ? x->A[(Py_ssize_t)ref * x->C] : x->Ls[-(ref + 1)];
}

/* ref is a lane summed as one number (batch_program.h's array_lanes) */
static inline int mg_bone_number(const mg_bpass *x, int32_t ref)
{
    return ref < 0 && !x->lane_is_array[-(ref + 1)];
}

/* Where lane 0 of ref's adjoint is summed. */
static inline double *mg_badj0(const mg_bpass *x, int32_t ref)
{
    return mg_bone_number(x, ref) ? x->GLs + (-(ref + 1)) : mg_badj(x, ref);
}

/* The n-ary instruction's operands' values (and adjoints, if GP). */
static inline void mg_bresolve(const mg_bpass *x, const mg_binstr *ins, int adjoints)
{
    const int32_t *r = x->args_of + ins->args;
    Py_ssize_t i;
    for (i = 0; i < ins->nargs; i++) {
        x->P[i] = mg_bval(x, r[i]);
        if (adjoints)
            x->GP[i] = mg_badj(x, r[i]);
    }
}

/* The hot kernels are built twice on x86-64: their body (an always-inlined
 * name_body) inlined into an AVX2 function and into a baseline one, picked
 * at each call by the CPU (a load and a test of libgcc's cpu model; no
 * ifunc, which the sanitizers and musl lack) and by mg_avx2_kernels
 * (process_state.h: tests run the baseline too). One source, so the same
 * lanes, the same sum trees, the same bits; no FMA (the "avx2" target has
 * none, and -ffp-contract=off). */
#define MG_ALWAYS_INLINE static inline __attribute__((always_inline))
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "core/process_state.h"
#define MG_TWO_BUILDS(name, params, args)                                           \
    __attribute__((target("avx2"))) static int name##_avx2 params                  \
    {                                                                               \
        return name##_body args;                                                    \
    }                                                                               \
    int name params                                                                 \
    {                                                                               \
        if (mg_avx2_kernels && __builtin_cpu_supports("avx2"))                      \
            return name##_avx2 args;                                                \
        return name##_body args;                                                    \
    }
#else
#define MG_TWO_BUILDS(name, params, args)                                           \
    int name params                                                                 \
    {                                                                               \
        return name##_body args;                                                    \
    }
#endif

/* Each kernel runs ins over lanes [0, len): MG_OK, or the error code of the
 * first failing lane, written to *bad (the lanes before it are computed). */
/* The dot's kernels (batch_dot.c): they cannot fail (MG_OK). */
int mg_bdot_forward(const mg_bpass *x, const mg_binstr *ins, double *restrict O, Py_ssize_t len);
int mg_bdot_backward(const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len);
int mg_bforward_fused(const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len, Py_ssize_t *bad);
int mg_bbackward_fused(const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len, Py_ssize_t *bad);
int mg_bforward(const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len, Py_ssize_t *bad);
int mg_bbackward(const mg_bpass *x, const mg_binstr *ins, Py_ssize_t len, Py_ssize_t *bad);

#endif
