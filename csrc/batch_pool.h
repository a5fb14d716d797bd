/* The batched tapes' worker threads: one pool for the process, made on the
 * first replay that can use two threads, grown to the most threads any tape
 * asks for, parked between replays (a replay pays a wake-up, not a thread
 * creation, and a thousand tapes do not make a thousand threads). The
 * calling thread works too, as worker 0. Which worker runs which chunk never
 * changes a result (batch_run.c), so a replay that finds the pool busy
 * (another Python thread's replay, the GIL being released) simply runs on
 * its own thread, with the same bits. */
#ifndef MG_BATCH_POOL_H
#define MG_BATCH_POOL_H

typedef void (*mg_bwork_fn)(void *job, int worker);

/* Runs fn(job, w) for w in 0..threads-1 (w = 0 on the calling thread, and
 * fewer workers if the system refuses threads), returning when all have
 * returned; or, with the pool busy or not to be had, fn(job, 0) alone. No
 * GIL needed. */
void mg_bpool_run(int threads, mg_bwork_fn fn, void *job);

#endif
