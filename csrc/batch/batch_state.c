/* A batched tape's memory: its state (what forward keeps for backward),
 * each thread's scratch, and the chunk size they are made for. */
#include <stdlib.h>
#include "batch/batch_run.h"
#include "batch/batch_pass.h"

/* The chunk size: 64 examples (8 vectors of lanes, a few KB per slot row),
 * halved while a thread's chunk would pass 4 MB (a huge graph), and no more
 * than the batch. A function of B and the program only. */
Py_ssize_t mg_bchunk_size(const mg_bprog *p, Py_ssize_t B)
{
    Py_ssize_t C = 64;
    const double per_example = 8.0 * (double)(3 * p->n_per + 2 * p->n_lanes + 1);
    while (C > 1 && per_example * (double)C > 4.0 * 1024 * 1024)
        C /= 2;
    return B < C ? B : C;
}

static void free_scratch(mg_bstate *s)
{
    int t;
    if (s->scratch == NULL)
        return;
    for (t = 0; t < s->threads; t++) {
        mg_bscratch *c = &s->scratch[t];
        free(c->block), free(c->pa), free(c->lanes), free(c->ga), free(c->tmp);
        free(c->ls), free(c->gls);
        free((void *)c->P), free(c->GP), free(c->terms);
    }
    free(s->scratch);
    s->scratch = NULL;
    s->scratch_C = 0;
}

int mg_bscratch_ready(mg_bstate *s, Py_ssize_t C)
{
    const mg_bprog *p = s->p;
    const size_t m = (size_t)p->max_args + 1;
    int t;
    if (s->scratch != NULL && C <= s->scratch_C)
        return 0;
    free_scratch(s);
    s->scratch = calloc((size_t)s->threads, sizeof(mg_bscratch));
    if (s->scratch == NULL)
        return -1;
    s->scratch_C = C;
    for (t = 0; t < s->threads; t++) {
        mg_bscratch *c = &s->scratch[t];
        c->block = malloc(sizeof(double) * (size_t)(p->n_per * C + 1));
        c->pa = malloc(sizeof(double) * (size_t)(p->n_per * C + 1));
        c->lanes = malloc(sizeof(double) * (size_t)(p->n_lanes * C + 1));
        c->ga = malloc(sizeof(double) * (size_t)(p->n_lanes * C + 1));
        c->tmp = malloc(sizeof(double) * (size_t)C);
        c->ls = malloc(sizeof(double) * (size_t)(p->n_lanes + 1));
        c->gls = malloc(sizeof(double) * (size_t)(p->n_lanes + 1));
        c->P = malloc(sizeof(double *) * m);
        c->GP = malloc(sizeof(double *) * m);
        c->terms = malloc(sizeof(mg_bterm) * m);
        if (!c->block || !c->pa || !c->lanes || !c->ga || !c->tmp || !c->ls || !c->gls || !c->P || !c->GP || !c->terms) {
            free_scratch(s);
            return -1;
        }
    }
    return 0;
}

mg_bstate *mg_bstate_new(const mg_bprog *p, int threads)
{
    mg_bstate *s = calloc(1, sizeof(mg_bstate));
    if (s == NULL)
        return NULL;
    s->p = p;
    s->threads = threads < 1 ? 1 : threads;
    /* the shared slots, then room for one row's per-example slots (batch_one.c) */
    s->sv = calloc((size_t)(p->n_shared + p->n_per) + 1, sizeof(double));
    s->sv_eval = calloc((size_t)(p->n_shared + p->n_per) + 1, sizeof(double));
    s->sg = calloc((size_t)(p->n_shared + p->n_per) + 1, sizeof(double));
    if (s->sv == NULL || s->sv_eval == NULL || s->sg == NULL) {
        mg_bstate_free(s);
        return NULL;
    }
    return s;
}

void mg_bstate_free(mg_bstate *s)
{
    if (s == NULL)
        return;
    free_scratch(s);
    mg_bone_free(s);
    free(s->saved), free(s->sv), free(s->sv_eval), free(s->sg), free(s->partial);
    free(s);
}

