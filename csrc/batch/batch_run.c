/* The replays: the jobs (chunks for forward and evaluate, groups of chunks
 * for backward) handed to the threads, and the errors gathered back. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "batch/batch_run.h"
#include "batch/batch_pass.h"

enum { FORWARD, EVALUATE, BACKWARD };
enum { MAX_GROUPS = 64 };  /* backward's fixed groups of chunks (a function of B) */
#define NO_TOPO PY_SSIZE_T_MAX

typedef struct item_error {
    Py_ssize_t row, topo;  /* the first failing row (absolute) and its node */
    int code;
} item_error;

typedef struct job {
    mg_bstate *s;
    int kind;
    const double *X, *sv;
    Py_ssize_t B, C, n_items, per_group;
    double *out;              /* forward: roots; evaluate: (B, n_out) */
    const Py_ssize_t *outs;
    Py_ssize_t n_out;
    double *partial;          /* backward: per group, per lane */
    item_error *errors;       /* per item */
    atomic_long next, first_bad;
    atomic_int stop;          /* a signal handler raised: every worker stops */
    double next_poll;         /* worker 0's clock for the next look at signals */
} job;

/* Between two of worker 0's items: Ctrl-C's handler, at most once per
 * 10 ms (batch_pool.h); a raised exception stops every worker. */
static void poll_signals(job *jb)
{
    if (mg_bpoll_signals(&jb->next_poll) < 0)
        atomic_store(&jb->stop, 1);
}

static mg_bpass pass_over(const mg_bprog *p, const mg_bscratch *c, double *A, double *GA,
                          Py_ssize_t C)
{
    mg_bpass x;
    x.A = A;
    x.GA = GA;
    x.L = c->lanes;
    x.GL = c->ga;
    x.Ls = c->ls;
    x.GLs = c->gls;
    x.lane_is_array = p->lane_is_array;
    x.C = C;
    x.args_of = p->args_of;
    x.P = c->P;
    x.GP = c->GP;
    x.terms = c->terms;
    x.tmp = c->tmp;
    return x;
}

/* Runs code[0..n) forward over lanes [0, len), up to the node topo_limit.
 * After a failure at lane L only lanes below L go on: a lower row may still
 * fail later, and the lowest row's first failure is the scalar tape's. */
static item_error run_forward(const mg_binstr *code, Py_ssize_t n, const mg_bpass *x,
                              Py_ssize_t len, Py_ssize_t topo_limit, Py_ssize_t first_row)
{
    item_error e = {0, 0, MG_OK};
    Py_ssize_t i, bad;
    for (i = 0; i < n && len > 0 && code[i].topo < topo_limit; i++) {
        int st = mg_bforward(x, &code[i], len, &bad);
        if (st != MG_OK) {
            e.code = st, e.row = first_row + bad, e.topo = code[i].topo;
            len = bad;
        }
    }
    return e;
}

static item_error run_backward(const mg_binstr *code, Py_ssize_t n, const mg_bpass *x,
                               Py_ssize_t len, Py_ssize_t first_row)
{
    item_error e = {0, 0, MG_OK};
    Py_ssize_t i, bad;
    for (i = n - 1; i >= 0 && len > 0; i--) {
        int st = mg_bbackward(x, &code[i], len, &bad);
        if (st != MG_OK) {
            e.code = st, e.row = first_row + bad, e.topo = code[i].topo;
            len = bad;
        }
    }
    return e;
}

static void fill_inputs(const mg_bprog *p, const double *X, Py_ssize_t first, Py_ssize_t len,
                        Py_ssize_t C, double *block)
{
    Py_ssize_t k, j;
    for (k = 0; k < p->n_inputs; k++) {
        double *to = block + (Py_ssize_t)p->input_slot[k] * C;
        if (p->input_slot[k] < 0)
            continue;
        for (j = 0; j < len; j++)
            to[j] = X[(first + j) * p->n_inputs + k];
    }
}

/* Node o's value in row first + j of a chunk. */
static inline double node_value(const mg_bprog *p, const double *sv, const double *block,
                                Py_ssize_t C, Py_ssize_t o, Py_ssize_t j)
{
    return p->node_shared[o] ? sv[p->node_slot[o]] : block[(Py_ssize_t)p->node_slot[o] * C + j];
}

static void note_error(job *jb, Py_ssize_t item, item_error e)
{
    long seen = atomic_load(&jb->first_bad);
    jb->errors[item] = e;
    while ((long)item < seen && !atomic_compare_exchange_weak(&jb->first_bad, &seen, (long)item))
        ;
}

static void forward_chunk(job *jb, mg_bpass *x, mg_bscratch *c, Py_ssize_t item)
{
    const mg_bprog *p = jb->s->p;
    const Py_ssize_t C = jb->C, first = item * C;
    const Py_ssize_t len = jb->B - first < C ? jb->B - first : C;
    double *block = jb->kind == FORWARD ? jb->s->saved + item * p->n_per * C : c->block;
    Py_ssize_t j, k;
    item_error e;
    x->A = block;
    fill_inputs(p, jb->X, first, len, C, block);
    e = run_forward(p->per, p->n_per_code, x, len, NO_TOPO, first);
    if (e.code != MG_OK) {
        note_error(jb, item, e);
        return;
    }
    if (jb->kind == FORWARD)
        for (j = 0; j < len; j++)
            jb->out[first + j] = node_value(p, jb->sv, block, C, p->root, j);
    else
        for (j = 0; j < len; j++)
            for (k = 0; k < jb->n_out; k++)
                jb->out[(first + j) * jb->n_out + k] = node_value(p, jb->sv, block, C, jb->outs[k], j);
}

/* The sum of a lane array: eight running sums (a fixed tree, independent
 * chains the processor overlaps: a plain left-to-right sum of every lane
 * array, one dependent add after another, cost as much as the backward
 * itself), then the rest. A function of C only, as the grouping is. */
static double lane_sum(const double *v, Py_ssize_t C)
{
    mg_v2d acc[4] = {{0.0, 0.0}, {0.0, 0.0}, {0.0, 0.0}, {0.0, 0.0}};
    Py_ssize_t j = 0, k;
    double total;
    for (; j + 8 <= C; j += 8)
        for (k = 0; k < 4; k++)
            acc[k] = acc[k] + mg_v2d_load(v + j + 2 * k);
    acc[0] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    total = acc[0][0] + acc[0][1];
    for (; j < C; j++)
        total = total + v[j];
    return total;
}

static void backward_group(job *jb, mg_bpass *x, mg_bscratch *c, Py_ssize_t group)
{
    const mg_bprog *p = jb->s->p;
    const Py_ssize_t C = jb->C, nchunks = (jb->B + C - 1) / C;
    const Py_ssize_t end = (group + 1) * jb->per_group < nchunks ? (group + 1) * jb->per_group : nchunks;
    const int32_t root = p->node_slot[p->root];
    Py_ssize_t chunk, j, l;
    for (l = 0; l < p->n_array_lanes; l++)
        memset(c->ga + (Py_ssize_t)p->array_lanes[l] * C, 0, sizeof(double) * (size_t)C);
    memset(c->gls, 0, sizeof(double) * (size_t)p->n_lanes);
    for (chunk = group * jb->per_group; chunk < end; chunk++) {
        const Py_ssize_t first = chunk * C, len = jb->B - first < C ? jb->B - first : C;
        item_error e;
        x->A = jb->s->saved + chunk * p->n_per * C;
        memset(c->pa, 0, sizeof(double) * (size_t)(p->n_per * C));
        for (j = 0; j < len; j++)
            c->pa[(Py_ssize_t)root * C + j] = 1.0;
        e = run_backward(p->per, p->n_per_code, x, len, first);
        if (e.code != MG_OK) {
            note_error(jb, group, e);
            return;
        }
    }
    for (l = 0; l < p->n_lanes; l++)
        jb->partial[group * p->n_lanes + l] = c->gls[l];
    for (l = 0; l < p->n_array_lanes; l++) {
        const int32_t lane = p->array_lanes[l];
        jb->partial[group * p->n_lanes + lane] = lane_sum(c->ga + lane * C, C) + c->gls[lane];
    }
}

static void work(void *arg, int worker)
{
    job *jb = arg;
    const mg_bprog *p = jb->s->p;
    mg_bscratch *c = &jb->s->scratch[worker];
    mg_bpass x = pass_over(p, c, NULL, c->pa, jb->C);
    int broadcast = 0;
    for (;;) {
        const long item = atomic_fetch_add(&jb->next, 1);
        Py_ssize_t l, j;
        if (item >= (long)jb->n_items || atomic_load(&jb->stop))
            return;
        if (worker == 0 && item > 0)
            poll_signals(jb);
        if (item > atomic_load(&jb->first_bad))
            continue;  /* a lower row already failed: this one cannot be the one */
        if (!broadcast) {
            for (l = 0; l < p->n_lanes; l++)
                c->ls[l] = jb->sv[p->lane_slot[l]];
            for (l = 0; l < p->n_array_lanes; l++) {
                const int32_t lane = p->array_lanes[l];
                for (j = 0; j < jb->C; j++)
                    c->lanes[lane * jb->C + j] = c->ls[lane];
            }
            broadcast = 1;
        }
        if (jb->kind == BACKWARD)
            backward_group(jb, &x, c, item);
        else
            forward_chunk(jb, &x, c, item);
    }
}

/* Runs the job's items on the threads; the lowest row's error, if any. */
static item_error run_job(job *jb, Py_ssize_t n_items)
{
    mg_bstate *s = jb->s;
    Py_ssize_t i;
    item_error none = {0, 0, MG_OK};
    item_error few[8];  /* a small batch's: no malloc per replay */
    jb->n_items = n_items;
    jb->errors = n_items <= 8 ? few : malloc(sizeof(item_error) * (size_t)(n_items + 1));
    if (jb->errors == NULL) {
        none.code = MG_ERR_NO_MEMORY, none.row = -1;
        return none;
    }
    atomic_init(&jb->next, 0);
    atomic_init(&jb->first_bad, (long)n_items);
    atomic_init(&jb->stop, 0);
    jb->next_poll = 0.0;  /* no clock read for a one-item job (a small batch) */
    if (n_items > 1)
        mg_bpool_run(s->threads < n_items ? s->threads : (int)n_items, work, jb);
    else
        work(jb, 0);
    i = (Py_ssize_t)atomic_load(&jb->first_bad);
    if (atomic_load(&jb->stop))
        none.code = MG_ERR_PYTHON, none.row = -1;  /* the handler's exception */
    else if (i < n_items)
        none = jb->errors[i];
    if (jb->errors != few)
        free(jb->errors);
    return none;
}

static mg_berror as_result(item_error e)
{
    mg_berror r;
    r.row = e.code == MG_ERR_NO_MEMORY || e.code == MG_ERR_PYTHON ? -1 : e.row;
    r.code = e.code;
    return r;
}

/* Forward or evaluate: the shared program once, then every chunk. */
static mg_berror forward_job(job *jb)
{
    mg_bstate *s = jb->s;
    const mg_bprog *p = s->p;
    mg_bscratch *c = &s->scratch[0];
    mg_bpass x = pass_over(p, c, (double *)jb->sv, NULL, 1);
    item_error e = run_forward(p->shared, p->n_shared_code, &x, 1, NO_TOPO, 0);
    if (e.code != MG_OK) {
        /* every row fails at that shared node; row 0 fails there unless a
         * per-example node before it fails first */
        item_error first;
        Py_ssize_t l;
        for (l = 0; l < p->n_lanes; l++)
            c->lanes[l * jb->C] = c->ls[l] = jb->sv[p->lane_slot[l]];
        x = pass_over(p, c, c->block, NULL, jb->C);
        fill_inputs(p, jb->X, 0, 1, jb->C, c->block);
        first = run_forward(p->per, p->n_per_code, &x, 1, e.topo, 0);
        if (first.code != MG_OK)
            e = first;
        e.row = 0;
        return as_result(e);
    }
    return as_result(run_job(jb, (jb->B + jb->C - 1) / jb->C));
}

static int prepare(mg_bstate *s, job *jb, const double *X, Py_ssize_t B, int kind)
{
    memset(jb, 0, sizeof(*jb));
    jb->s = s;
    jb->kind = kind;
    jb->X = X;
    jb->B = B;
    jb->C = mg_bchunk_size(s->p, B);
    return mg_bscratch_ready(s, jb->C);
}

static const mg_berror out_of_memory = {-1, MG_ERR_NO_MEMORY};

mg_berror mg_batch_forward(mg_bstate *s, const double *X, Py_ssize_t B, double *root_out)
{
    job jb;
    mg_berror r;
    size_t need;
    s->has_forward = 0;
    if (prepare(s, &jb, X, B, FORWARD) < 0)
        return out_of_memory;
    need = (size_t)(((B + jb.C - 1) / jb.C) * s->p->n_per * jb.C) + 1;
    if (need > s->saved_cap) {
        free(s->saved);
        s->saved = malloc(sizeof(double) * need);
        s->saved_cap = s->saved ? need : 0;
        if (s->saved == NULL)
            return out_of_memory;
    }
    jb.sv = s->sv;
    jb.out = root_out;
    r = forward_job(&jb);
    if (r.code == MG_OK) {
        s->B = B;
        s->C = jb.C;
        s->has_forward = 1;
    }
    return r;
}

mg_berror mg_batch_evaluate(mg_bstate *s, const double *X, Py_ssize_t B,
                            const Py_ssize_t *outs, Py_ssize_t n_out, double *Y)
{
    job jb;
    if (prepare(s, &jb, X, B, EVALUATE) < 0)
        return out_of_memory;
    jb.sv = s->sv_eval;
    jb.out = Y;
    jb.outs = outs;
    jb.n_out = n_out;
    return forward_job(&jb);
}

mg_berror mg_batch_backward(mg_bstate *s)
{
    const mg_bprog *p = s->p;
    const Py_ssize_t nchunks = (s->B + s->C - 1) / s->C;
    const Py_ssize_t per_group = (nchunks + MAX_GROUPS - 1) / MAX_GROUPS;
    const Py_ssize_t groups = (nchunks + per_group - 1) / per_group;
    item_error chunks = {0, 0, MG_OK}, shared;
    Py_ssize_t g, l;
    mg_bpass x;
    job jb;
    if (mg_bscratch_ready(s, s->C) < 0)
        return out_of_memory;
    memset(&jb, 0, sizeof(jb));
    jb.s = s, jb.kind = BACKWARD, jb.sv = s->sv, jb.B = s->B, jb.C = s->C;
    jb.per_group = per_group;
    /* kept from one backward to the next: a small batch's replay pays no malloc */
    if ((size_t)(groups * p->n_lanes + 1) > s->partial_cap) {
        free(s->partial);
        s->partial = malloc(sizeof(double) * (size_t)(groups * p->n_lanes + 1));
        s->partial_cap = s->partial ? (size_t)(groups * p->n_lanes + 1) : 0;
        if (s->partial == NULL)
            return out_of_memory;
    }
    jb.partial = s->partial;
    memset(s->sg, 0, sizeof(double) * (size_t)p->n_shared);
    if (p->node_shared[p->root]) {
        s->sg[p->node_slot[p->root]] = (double)s->B;  /* d root / d root, summed over the rows */
    } else {
        chunks = run_job(&jb, groups);
        if (chunks.code == MG_ERR_NO_MEMORY || chunks.code == MG_ERR_PYTHON)
            return as_result(chunks);
        if (chunks.code == MG_OK)
            for (l = 0; l < p->n_lanes; l++) {
                double total = 0.0;
                for (g = 0; g < groups; g++)
                    total = total + jb.partial[g * p->n_lanes + l];
                s->sg[p->lane_slot[l]] = total;
            }
    }
    /* the shared part of the graph once, over the sums */
    x = pass_over(p, &s->scratch[0], s->sv, s->sg, 1);
    shared = run_backward(p->shared, p->n_shared_code, &x, 1, 0);
    if (shared.code != MG_OK) {
        /* every row fails there: row 0 first, unless one of its per-example
         * nodes later in the order (earlier in the sweep) fails first */
        if (chunks.code != MG_OK && chunks.row == 0 && chunks.topo > shared.topo)
            return as_result(chunks);
        shared.row = 0;
        return as_result(shared);
    }
    return as_result(chunks);
}
