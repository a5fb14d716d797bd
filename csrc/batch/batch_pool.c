#include <Python.h>  /* mg_bpoll_signals: the GIL and the signal handlers */
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "batch/batch_pool.h"

typedef struct pool {
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    pthread_t *ids;
    int workers, capacity;    /* threads made, besides a caller */
    /* bumped per job (a worker runs each job once), and the workers inside
     * it: written under the lock, atomic so that a waiter can spin on them
     * without it (spin) */
    atomic_ulong generation, running;
    int active;               /* workers 1..active may run the current job */
    /* whether a worker may still enter the job: the caller closes it once
     * its own share is done (every item then is claimed), so it waits only
     * for workers already inside, never for one still waking up (a wake-up
     * from idle can take longer than the whole job) */
    int open;
    mg_bwork_fn fn;
    void *job;
} pool;

static pool the_pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .go = PTHREAD_COND_INITIALIZER,
                        .done = PTHREAD_COND_INITIALIZER};
/* held by the one replay using the pool (trylock: a second one runs alone) */
static pthread_mutex_t in_use = PTHREAD_MUTEX_INITIALIZER;

static double seconds(void);

/* A wake-up through the kernel (a condition variable's futex) takes tens of
 * microseconds on a virtual machine, longer than a chunk of a small batch
 * takes, so the two threads of a replay would mostly wait for each other. A
 * waiter spins this long first (OpenMP's runtimes do the same): a training
 * loop's forward and backward, and the next step's, come within it. */
#define SPIN_SECONDS 200e-6

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Spins (without the lock) until (*word == value) is until_equal, for at
 * most SPIN_SECONDS; the caller then waits on its condition variable as
 * before, so a change missed costs a wake-up, never a hang. */
static void spin(const atomic_ulong *word, unsigned long value, int until_equal)
{
    double until = 0.0;
    unsigned i;
    for (i = 1;; i++) {
        if ((atomic_load_explicit(word, memory_order_acquire) == value) == until_equal)
            return;
        cpu_relax();
        if ((i & 255) == 0) {  /* the clock now and then: a read costs more than a look */
            const double now = seconds();
            if (until == 0.0)
                until = now + SPIN_SECONDS;
            else if (now > until)
                return;
        }
    }
}

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
        if (p->generation == seen) {
            pthread_mutex_unlock(&p->lock);
            spin(&p->generation, seen, 0);  /* until a new job */
            pthread_mutex_lock(&p->lock);
        }
        while (p->generation == seen)
            pthread_cond_wait(&p->go, &p->lock);
        seen = p->generation;
        if (worker > p->active || !p->open)
            continue;  /* a job for fewer threads, or one done without it */
        p->running++;
        pthread_mutex_unlock(&p->lock);
        p->fn(p->job, worker);
        pthread_mutex_lock(&p->lock);
        if (--p->running == 0)
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
    the_pool.running = 0;
    the_pool.open = 0;
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
    p->open = 1;
    if (helpers > 0) {
        p->generation++;
        pthread_cond_broadcast(&p->go);
    }
    pthread_mutex_unlock(&p->lock);
    fn(job, 0);
    pthread_mutex_lock(&p->lock);
    p->open = 0;  /* from now on no worker enters: job may go */
    pthread_mutex_unlock(&p->lock);
    spin(&p->running, 0, 1);  /* until the workers inside are done */
    pthread_mutex_lock(&p->lock);
    while (p->running > 0)
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
