/* A batched tape's worker threads: made once (on the first replay that can
 * use them), parked between replays, so a replay pays a wake-up, not a
 * thread creation. The calling thread works too, as worker 0. Which worker
 * runs which chunk never changes a result (batch_run.c). */
#ifndef MG_BATCH_POOL_H
#define MG_BATCH_POOL_H

#include <pthread.h>

typedef void (*mg_bwork_fn)(void *job, int worker);

typedef struct mg_bpool {
    int workers;              /* threads made, besides the caller */
    pthread_t *ids;
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    unsigned long generation; /* bumped per job: a worker runs each job once */
    int pending;              /* workers still running the current job */
    int stop;
    mg_bwork_fn fn;
    void *job;
} mg_bpool;

/* A pool of up to wanted - 1 threads (fewer if the system refuses more:
 * the results are the same). NULL if out of memory. No GIL needed. */
mg_bpool *mg_bpool_new(int wanted);
/* Runs fn(job, w) for w in 0..workers (0 on the calling thread), returns
 * when all have returned. */
void mg_bpool_run(mg_bpool *pool, mg_bwork_fn fn, void *job);
void mg_bpool_free(mg_bpool *pool);

#endif
