/* A batch of one row: the flat program replayed as the scalar tape replays
 * its nodes, one double per slot, without the chunk machinery.
 *
 * With one row there is nothing to broadcast and nothing to sum across
 * examples, so the two programs (shared, per-example) are merged once, in
 * the scalar tape's order, into one instruction list over one space: shared
 * slot s at s, per-example slot s at n_shared + s (the state's sv, sv_eval
 * and sg are that long, batch_state.c). Every operand is then an own-space
 * ref and the kernels run with C = 1 (their lane arrays are single doubles:
 * no lane, no copy, no group sum, no thread); the dot and the sum, most of
 * the instructions, are written out here as fused.h's loops, since the
 * chunked kernels' set-up costs more than their one lane.
 *
 * Forward runs the instructions in the order, so the first failure is the
 * scalar tape's for that row; backward runs them in reverse from an adjoint
 * of 1 at the root, adding into each child's adjoint as the scalar tape adds
 * into its .grad, and a shared leaf's adjoint starts from its .grad, so the
 * leaves' new .grad are the scalar tape's bits. Runs holding the GIL (one
 * row costs less than releasing it). */
#include <stdlib.h>
#include <string.h>
#include "batch/batch_run.h"
#include "batch/batch_pass.h"

struct mg_bone {
    mg_binstr *code;      /* both programs, merged in topological order */
    Py_ssize_t n;
    int32_t *args;        /* their n-ary operands, as refs of the one space */
    const double **P;
    double **GP;
    mg_bterm *terms;
    double tmp[2];
    /* the shared leaves' nodes (the tape's, alive as long as it is): read
     * and written without going through the order at every replay */
    mg_node **leaf;
};

/* ref of program per (1: the per-example one) as a slot of the one space */
static int32_t one_ref(const mg_bprog *p, int per, int32_t ref)
{
    if (!per)
        return ref;
    return ref >= 0 ? (int32_t)(p->n_shared + ref) : p->lane_slot[-(ref + 1)];
}

static void rewrite(const mg_bprog *p, int per, const mg_binstr *from, mg_binstr *to,
                    int32_t *args, Py_ssize_t *n_args)
{
    const int layout = mg_op_layout[from->op];
    Py_ssize_t j;
    *to = *from;
    to->out = one_ref(p, per, from->out);
    to->aux = one_ref(p, per, from->aux);
    /* only the operands the op has: an unused -1 is no lane */
    if (layout != MG_NO_CHILDREN && layout != MG_CHILD_LIST)
        to->a = one_ref(p, per, from->a);
    if (layout == MG_TWO_CHILDREN)
        to->b = one_ref(p, per, from->b);
    if ((from->op == MG_SOFTMAX || from->op == MG_LOG_SOFTMAX) && !(from->flags & MG_BI_NOT_EXPSUM))
        to->c = one_ref(p, per, from->c);
    if (from->op == MG_SOFTMAX && !(from->flags & MG_BI_NOT_EXPSUM)) {
        to->d = one_ref(p, per, from->d);
        to->e = one_ref(p, per, from->e);
    }
    if (layout == MG_CHILD_LIST) {
        to->args = (int32_t)*n_args;
        for (j = 0; j < from->nargs; j++)
            args[(*n_args)++] = one_ref(p, per, p->args_of[from->args + j]);
    }
}

static void one_free(struct mg_bone *o)
{
    if (o == NULL)
        return;
    free(o->code), free(o->args), free((void *)o->P), free(o->GP), free(o->terms), free(o->leaf);
    free(o);
}

void mg_bone_free(mg_bstate *s)
{
    one_free(s->one);
    s->one = NULL;
}

/* The merged program, made at the first one-row replay: 0, or -1 (memory). */
static int one_ready(mg_bstate *s, PyObject *const *order)
{
    const mg_bprog *p = s->p;
    const size_t m = (size_t)p->max_args + 1;
    Py_ssize_t i = 0, j = 0, n_args = 0, k, total = 0;
    struct mg_bone *o;
    if (s->one != NULL)
        return 0;
    for (k = 0; k < p->n_shared_code; k++)
        total += p->shared[k].nargs;
    for (k = 0; k < p->n_per_code; k++)
        total += p->per[k].nargs;
    o = calloc(1, sizeof(*o));
    if (o == NULL)
        return -1;
    o->n = p->n_shared_code + p->n_per_code;
    o->code = malloc(sizeof(mg_binstr) * (size_t)(o->n + 1));
    o->args = malloc(sizeof(int32_t) * (size_t)(total + 1));
    o->P = malloc(sizeof(double *) * m);
    o->GP = malloc(sizeof(double *) * m);
    o->terms = malloc(sizeof(mg_bterm) * m);
    o->leaf = malloc(sizeof(mg_node *) * (size_t)(p->n_leaves + 1));
    if (!o->code || !o->args || !o->P || !o->GP || !o->terms || !o->leaf) {
        one_free(o);
        return -1;
    }
    for (k = 0; k < o->n; k++) {
        const int per = j < p->n_per_code
                        && (i >= p->n_shared_code || p->per[j].topo < p->shared[i].topo);
        if (per)
            rewrite(p, 1, &p->per[j++], &o->code[k], o->args, &n_args);
        else
            rewrite(p, 0, &p->shared[i++], &o->code[k], o->args, &n_args);
    }
    for (k = 0; k < p->n_leaves; k++)
        o->leaf[k] = MG_NODE(order[p->leaf_node[k]]);
    s->one = o;
    return 0;
}

static mg_bpass one_pass(struct mg_bone *o, double *V, double *G)
{
    mg_bpass x;
    memset(&x, 0, sizeof(x));
    x.A = V;
    x.GA = G;
    x.C = 1;
    x.args_of = o->args;
    x.P = o->P;
    x.GP = o->GP;
    x.terms = o->terms;
    x.tmp = o->tmp;
    return x;
}

/* The root's slot in the one space. */
static Py_ssize_t one_slot(const mg_bprog *p, Py_ssize_t node)
{
    return p->node_shared[node] ? p->node_slot[node] : p->n_shared + p->node_slot[node];
}

/* Runs the merged program forward over V (its shared leaves and inputs
 * filled): MG_OK or the first failure's code. */
static int run_one(const mg_bprog *p, struct mg_bone *o, double *V)
{
    const mg_bpass x = one_pass(o, V, NULL);
    Py_ssize_t i, t, bad;
    int st;
    for (i = 0; i < o->n; i++) {
        const mg_binstr *ins = &o->code[i];
        const int32_t *r = o->args + ins->args;
        double acc;
        switch ((enum mg_op)ins->op) {
        case MG_DOT: {  /* fused.h's: bias (or start), then each w * x in order */
            const Py_ssize_t pairs = ins->pairs;
            acc = (ins->flags & MG_BI_HAS_BIAS) ? V[r[2 * pairs]] : ins->k;
            for (t = 0; t < pairs; t++)
                acc = acc + V[r[t]] * V[r[pairs + t]];
            V[ins->out] = acc;
            break;
        }
        case MG_SUM:
            t = 0;
            acc = (ins->flags & MG_BI_START_IS_CHILD) ? V[r[t++]] : ins->k;
            for (; t < ins->nargs; t++)
                acc = acc + V[r[t]];
            V[ins->out] = acc;
            break;
        MG_BINARY_OPS(MG_OP_CASE)
        MG_UNARY_OPS(MG_OP_CASE)
        case MG_RMS_SCALE:
        case MG_EXPSUM:
        case MG_SOFTMAX:
        case MG_LOG_SOFTMAX:
        case MG_NLL:
        case MG_EMBED:
        case MG_LEAF:
        case MG_CUSTOM:
            st = mg_bforward(&x, ins, 1, &bad);
            if (st != MG_OK)
                return st;
            break;
        }
    }
    (void)p;
    return MG_OK;
}

/* The shared leaves' data (read at each call, as the scalar tape reads
 * them) and the row's inputs into V. */
static void fill(const mg_bprog *p, const struct mg_bone *o, const double *X, double *V)
{
    Py_ssize_t k;
    for (k = 0; k < p->n_leaves; k++)
        V[p->leaf_slot[k]] = o->leaf[k]->data;
    for (k = 0; k < p->n_inputs; k++)
        if (p->input_slot[k] >= 0)
            V[p->n_shared + p->input_slot[k]] = X[k];
}

mg_berror mg_bone_forward(mg_bstate *s, PyObject *const *order, const double *X,
                          double *root_out)
{
    mg_berror r = {0, MG_OK};
    s->has_forward = 0;
    if (one_ready(s, order) < 0) {
        r.row = -1, r.code = MG_ERR_NO_MEMORY;
        return r;
    }
    fill(s->p, s->one, X, s->sv);
    r.code = run_one(s->p, s->one, s->sv);
    if (r.code != MG_OK)
        return r;
    *root_out = s->sv[one_slot(s->p, s->p->root)];
    s->B = 1;
    s->C = 0;  /* the saved values are sv's, not a chunk's */
    s->has_forward = 1;
    return r;
}

mg_berror mg_bone_evaluate(mg_bstate *s, PyObject *const *order, const double *X,
                           const Py_ssize_t *outs, Py_ssize_t n_out, double *Y)
{
    mg_berror r = {0, MG_OK};
    Py_ssize_t k;
    if (one_ready(s, order) < 0) {
        r.row = -1, r.code = MG_ERR_NO_MEMORY;
        return r;
    }
    fill(s->p, s->one, X, s->sv_eval);
    r.code = run_one(s->p, s->one, s->sv_eval);
    if (r.code == MG_OK)
        for (k = 0; k < n_out; k++)
            Y[k] = s->sv_eval[one_slot(s->p, outs[k])];
    return r;
}

mg_berror mg_bone_backward(mg_bstate *s)
{
    const mg_bprog *p = s->p;
    struct mg_bone *o = s->one;
    double *V = s->sv, *G = s->sg;
    const mg_bpass x = one_pass(o, V, G);
    mg_berror r = {0, MG_OK};
    Py_ssize_t i, t, bad;
    memset(G, 0, sizeof(double) * (size_t)(p->n_shared + p->n_per));
    for (t = 0; t < p->n_leaves; t++)
        G[p->leaf_slot[t]] = o->leaf[t]->grad;
    G[one_slot(p, p->root)] = 1.0;
    for (i = o->n - 1; i >= 0; i--) {
        const mg_binstr *ins = &o->code[i];
        const int32_t *a = o->args + ins->args;
        const double g = G[ins->out];
        switch ((enum mg_op)ins->op) {
        case MG_DOT: {  /* fused_chain_rule.h's order: w's, x's, then the bias */
            /* operands read into locals before the stores: with
             * -fno-strict-aliasing a store to G would reload them */
            const int32_t *w = a, *v = a + ins->pairs;
            const Py_ssize_t pairs = ins->pairs;
            for (t = 0; t < pairs; t++) {
                const int32_t iw = w[t], iv = v[t];
                const double dw = V[iv] * g, dv = V[iw] * g;
                G[iw] += dw;
                G[iv] += dv;
            }
            if (ins->flags & MG_BI_HAS_BIAS)
                G[v[pairs]] += g;
            break;
        }
        case MG_SUM:
            for (t = 0; t < ins->nargs; t++)
                G[a[t]] += g;
            break;
        MG_BINARY_OPS(MG_OP_CASE)
        MG_UNARY_OPS(MG_OP_CASE)
        case MG_RMS_SCALE:
        case MG_EXPSUM:
        case MG_SOFTMAX:
        case MG_LOG_SOFTMAX:
        case MG_NLL:
        case MG_EMBED:
        case MG_LEAF:
        case MG_CUSTOM:
            r.code = mg_bbackward(&x, ins, 1, &bad);
            if (r.code != MG_OK)
                return r;
            break;
        }
    }
    return r;
}

void mg_bone_set_grads(const mg_bstate *s)
{
    const mg_bprog *p = s->p;
    Py_ssize_t k;
    for (k = 0; k < p->n_leaves; k++)
        s->one->leaf[k]->grad = s->sg[p->leaf_slot[k]];
}
