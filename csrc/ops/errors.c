#include <errno.h>
#include "ops/errors.h"

struct mg_error_info {
    int code;
    PyObject **exception;  /* &PyExc_...: the objects are not constants in C */
    int errno_value;
    const char *message;
};

static const struct mg_error_info errors[] = {
#define MG_ERROR_INFO(code, exception, errno_value, message) {code, &exception, errno_value, message},
    MG_ERROR_TABLE(MG_ERROR_INFO)
#undef MG_ERROR_INFO
};

int mg_raise(int err)
{
    size_t i;
    if (err == MG_OK)
        return 0;
    if (err == MG_ERR_PYTHON)
        return -1;
    for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        const struct mg_error_info *e = &errors[i];
        if (e->code != err)
            continue;
        if (e->message == NULL) {  /* MG_ERR_NO_MEMORY */
            PyErr_NoMemory();
        } else if (e->errno_value != 0) {
            PyObject *args = Py_BuildValue("(is)", e->errno_value, e->message);
            if (args != NULL) {
                PyErr_SetObject(*e->exception, args);
                Py_DECREF(args);
            }
        } else {
            PyErr_SetString(*e->exception, e->message);
        }
        return -1;
    }
    PyErr_Format(PyExc_SystemError, "micrograd_fast: unknown engine error %d", err);
    return -1;
}
