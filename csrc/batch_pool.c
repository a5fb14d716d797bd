#include <Python.h>  /* mg_bpoll_signals: the GIL and the signal handlers */
#include <time.h>
#include <pthread.h>
#include <stdlib.h>
#include "batch_pool.h"

typedef struct pool {
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    pthread_t *ids;
    int workers, capacity;    /* threads made, besides a caller */
    unsigned long generation; /* bumped per job: a worker runs each job once */
    int active;               /* workers 1..active run the current job */
    int pending;              /* of those, still running */
    mg_bwork_fn fn;
    void *job;
} pool;

static pool the_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                        PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0, 0, NULL, NULL};
/* held by the one replay using the pool (trylock: a second one runs alone) */
static pthread_mutex_t in_use = PTHREAD_MUTEX_INITIALIZER;

/* A new worker: its number, and the generation it was made in (the job
 * being started then is one it must run). */
struct start {
    int worker;
    unsigned long seen;
};

static void *worker_main(void *arg)
{
    const struct start s = *(struct start *)arg;
    const int worker = s.worker;
    unsigned long seen = s.seen;
    pool *p = &the_pool;
    free(arg);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->generation == seen)
            pthread_cond_wait(&p->go, &p->lock);
        seen = p->generation;
        if (worker > p->active)
            continue;  /* a job for fewer threads */
        pthread_mutex_unlock(&p->lock);
        p->fn(p->job, worker);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    return NULL;  /* parked until the process ends */
}

/* A child made by fork() has none of the parent's threads: it starts a
 * pool of its own (else its first threaded replay would wait for workers
 * that do not exist: multiprocessing forks by default on Linux). */
static void forget_threads_in_child(void)
{
    pthread_mutex_t fresh_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
    the_pool.lock = fresh_lock;
    the_pool.go = fresh_cond;
    the_pool.done = fresh_cond;
    the_pool.workers = 0;
    the_pool.pending = 0;
    in_use = fresh_lock;
}

/* Up to wanted workers (the lock held). */
static void grow(pool *p, int wanted)
{
    static int fork_handler;
    if (!fork_handler && pthread_atfork(NULL, NULL, forget_threads_in_child) == 0)
        fork_handler = 1;
    if (wanted > p->capacity) {
        pthread_t *bigger = realloc(p->ids, sizeof(pthread_t) * (size_t)wanted);
        if (bigger == NULL)
            return;
        p->ids = bigger;
        p->capacity = wanted;
    }
    while (p->workers < wanted) {
        pthread_attr_t attr;
        int made;
        struct start *s = malloc(sizeof(struct start));
        if (s == NULL)
            return;
        s->worker = p->workers + 1;
        s->seen = p->generation;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        made = pthread_create(&p->ids[p->workers], &attr, worker_main, s);
        pthread_attr_destroy(&attr);
        if (made != 0) {
            free(s);
            return;  /* fewer threads: slower, the same numbers */
        }
        p->workers++;
    }
}

void mg_bpool_run(int threads, mg_bwork_fn fn, void *job)
{
    pool *p = &the_pool;
    int helpers;
    if (threads < 2 || pthread_mutex_trylock(&in_use) != 0) {
        fn(job, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    grow(p, threads - 1);
    helpers = p->workers < threads - 1 ? p->workers : threads - 1;
    p->fn = fn;
    p->job = job;
    p->active = helpers;
    p->pending = helpers;
    if (helpers > 0) {
        p->generation++;
        pthread_cond_broadcast(&p->go);
    }
    pthread_mutex_unlock(&p->lock);
    fn(job, 0);
    pthread_mutex_lock(&p->lock);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&in_use);
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

enum { POLL_MS = 10 };

int mg_bpoll_signals(double *next_poll)
{
    const double now = seconds();
    PyGILState_STATE gil;
    int status;
    if (*next_poll == 0.0)  /* the clock starts at the second item */
        *next_poll = now + POLL_MS * 1e-3;
    if (now < *next_poll)
        return 0;
    *next_poll = now + POLL_MS * 1e-3;
    gil = PyGILState_Ensure();
    status = PyErr_CheckSignals();
    PyGILState_Release(gil);
    return status < 0 ? -1 : 0;
}
