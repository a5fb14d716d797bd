#include "grad_mode.h"

static _Thread_local int recording_off = 0;
int mg_threads_without_grad = 0;

int mg_thread_grad_enabled(void) { return !recording_off; }

void mg_set_grad_enabled(int enabled)
{
    if (recording_off == !enabled)
        return;
    recording_off = !enabled;
    mg_threads_without_grad += enabled ? -1 : 1;
}
