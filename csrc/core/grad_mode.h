/* The per-thread recording switch behind micrograd_fast.no_grad. Every op
 * asks it, so the common answer comes from one plain global: no thread is
 * inside no_grad. */
#ifndef MG_GRAD_MODE_H
#define MG_GRAD_MODE_H

#include "core/process_state.h"  /* the switch's state */

int mg_thread_grad_enabled(void);
void mg_set_grad_enabled(int enabled);

static inline int mg_grad_enabled(void)
{
    return mg_threads_without_grad == 0 || mg_thread_grad_enabled();
}

#endif
