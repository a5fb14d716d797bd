#include <stdlib.h>
#include "batch_pool.h"

struct start { mg_bpool *pool; int worker; };

static void *worker_main(void *arg)
{
    struct start *s = arg;
    mg_bpool *pool = s->pool;
    const int worker = s->worker;
    unsigned long seen = 0;
    free(s);
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->generation == seen && !pool->stop)
            pthread_cond_wait(&pool->go, &pool->lock);
        if (pool->stop)
            break;
        seen = pool->generation;
        pthread_mutex_unlock(&pool->lock);
        pool->fn(pool->job, worker);
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

mg_bpool *mg_bpool_new(int wanted)
{
    int i;
    mg_bpool *pool = calloc(1, sizeof(mg_bpool));
    if (pool == NULL)
        return NULL;
    pool->ids = calloc((size_t)(wanted > 1 ? wanted : 1), sizeof(pthread_t));
    if (pool->ids == NULL) {
        free(pool);
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->go, NULL);
    pthread_cond_init(&pool->done, NULL);
    for (i = 1; i < wanted; i++) {
        struct start *s = malloc(sizeof(struct start));
        if (s == NULL)
            break;
        s->pool = pool;
        s->worker = i;
        if (pthread_create(&pool->ids[pool->workers], NULL, worker_main, s) != 0) {
            free(s);
            break;  /* fewer threads: slower, the same numbers */
        }
        pool->workers++;
    }
    return pool;
}

void mg_bpool_run(mg_bpool *pool, mg_bwork_fn fn, void *job)
{
    if (pool->workers > 0) {
        pthread_mutex_lock(&pool->lock);
        pool->fn = fn;
        pool->job = job;
        pool->pending = pool->workers;
        pool->generation++;
        pthread_cond_broadcast(&pool->go);
        pthread_mutex_unlock(&pool->lock);
    }
    fn(job, 0);
    if (pool->workers > 0) {
        pthread_mutex_lock(&pool->lock);
        while (pool->pending > 0)
            pthread_cond_wait(&pool->done, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
    }
}

void mg_bpool_free(mg_bpool *pool)
{
    int i;
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->go);
    pthread_mutex_unlock(&pool->lock);
    for (i = 0; i < pool->workers; i++)
        pthread_join(pool->ids[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->go);
    pthread_cond_destroy(&pool->done);
    free(pool->ids);
    free(pool);
}
