/* The batched tapes' worker threads: one pool for the process, made on the
 * first replay that can use two threads, grown to the most threads any tape
 * asks for, parked between replays (a replay pays a wake-up, not a thread
 * creation, and a thousand tapes do not make a thousand threads; a worker
 * spins for 200 us before it sleeps, so a training loop's replays find it
 * awake, and a replay never waits for a worker still waking up). The
 * calling thread works too, as worker 0. Which worker runs which chunk never
 * changes a result (batch_run.c), so a replay that finds the pool busy
 * (another Python thread's replay, the GIL being released) simply runs on
 * its own thread, with the same bits. */
#ifndef MG_BATCH_POOL_H
#define MG_BATCH_POOL_H

typedef void (*mg_bwork_fn)(void *job, int worker);

/* Runs fn(job, 0) on the calling thread and fn(job, w) on each worker
 * w < threads that is up before that returns (fewer if the system refuses
 * threads), returning when all of those have returned; or, with the pool
 * busy or not to be had, fn(job, 0) alone. So fn claims its items from the
 * job as it goes: any one call may do them all. No GIL needed. */
void mg_bpool_run(int threads, mg_bwork_fn fn, void *job);

/* Ctrl-C during a long replay. Python runs its signal handlers in the main
 * thread holding the GIL, and a replay runs without it, so the calling
 * thread (worker 0, the one that released the GIL) takes it back between
 * two of its items, at most once per 10 ms of replay (a short replay never
 * does; a Python thread holding the GIL delays one worker, not the result),
 * and runs them. Returns -1 if one raised: its exception stays set on the
 * caller's thread state, and the replay is to stop and fail as a whole
 * (MG_ERR_PYTHON: nothing kept, no gradient applied). *next_poll, 0.0 at
 * the start of a replay, is the clock's time of the next look. Call from
 * the calling thread only. */
int mg_bpoll_signals(double *next_poll);

#endif
