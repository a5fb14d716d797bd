/* The C layer's errors, declared once: each code, the exception Python's own
 * float arithmetic raises in that case, and its message. C functions return
 * MG_OK or a code; mg_raise turns a code into the Python exception. */
#ifndef MG_ERRORS_H
#define MG_ERRORS_H

#include <Python.h>

/* X(code, exception, errno or 0, message); with an errno the exception's
 * args are (errno, message), as float ** gives for an overflow. */
#define MG_ERROR_TABLE(X)                                                                   \
    X(MG_ERR_NO_MEMORY,      PyExc_MemoryError,       0,      NULL)                         \
    X(MG_ERR_ZERO_POW,       PyExc_ZeroDivisionError, 0,                                    \
      "0.0 cannot be raised to a negative power")                                          \
    X(MG_ERR_POW_RANGE,      PyExc_OverflowError,     ERANGE, "Numerical result out of range") \
    X(MG_ERR_COMPLEX,        PyExc_ValueError,        0,                                    \
      "negative number cannot be raised to a fractional power")                            \
    X(MG_ERR_MATH_RANGE,     PyExc_OverflowError,     0,      "math range error")           \
    X(MG_ERR_MATH_DOMAIN,    PyExc_ValueError,        0,      "math domain error")          \
    X(MG_ERR_ZERO_DIVISION,  PyExc_ZeroDivisionError, 0,      "float division by zero")     \
    X(MG_ERR_STALE_TAPE,     PyExc_RuntimeError,      0,                                    \
      "the graph changed since it was compiled (a _backward was assigned): compile it again") \
    X(MG_ERR_INDEX_RANGE,    PyExc_IndexError,        0,                                    \
      "a Value used as an index (an embedding's row, a cross_entropy's target) is out of range") \
    X(MG_ERR_NOT_INTEGRAL,   PyExc_ValueError,        0,                                    \
      "a Value used as an index (an embedding's row, a cross_entropy's target) must hold an integer") \
    X(MG_ERR_NOT_EXPSUM,     PyExc_RuntimeError,      0,                                    \
      "a softmax's expsum node was given a _backward of its own: build the softmax again") \
    X(MG_ERR_NO_CASE,        PyExc_SystemError,       0,                                    \
      "micrograd_fast: a node's op code has no case in csrc/core/ops.h (a bug: please report it)")

enum mg_error {
    MG_OK = 0,
    MG_ERR_PYTHON,  /* a Python exception is already set */
#define MG_ERROR_CODE(code, exception, errno_value, message) code,
    MG_ERROR_TABLE(MG_ERROR_CODE)
#undef MG_ERROR_CODE
};

/* Sets the Python exception for err and returns -1; returns 0 for MG_OK. */
int mg_raise(int err);

#endif
