#include "core/grad_mode.h"
#include "core/process_state.h"

int mg_thread_grad_enabled(void) { return !mg_recording_off; }

void mg_set_grad_enabled(int enabled)
{
    if (mg_recording_off == !enabled)
        return;
    mg_recording_off = !enabled;
    mg_threads_without_grad += enabled ? -1 : 1;
}
