# Making nodes from Python objects. The C builders (csrc/value.h) take
# Values and doubles; these turn numbers into doubles with Python's rules and
# fill child lists from Python sequences.

import operator

cdef extern from "Python.h":
    double PyFloat_AsDouble(object) except? -1.0
    Py_ssize_t PySequence_Fast_GET_SIZE(object)
    PyObject *PySequence_Fast_GET_ITEM(object, Py_ssize_t)  # borrowed


cdef inline Value leaf(double x):
    return <Value>mg_new_leaf(x)


cdef inline Value computed(Value out):
    """out's data from its children; under no_grad it forgets them."""
    mg_compute(out)
    return out


cdef inline double as_double(object x) except? -1.0:
    """float(x) for real numbers only: TypeError for str, None, complex."""
    if type(x) is float:
        return <double>x
    return PyFloat_AsDouble(x)


cdef double real_operand(object x, str where) except? -1.0:
    if not mg_is_real(x):
        raise TypeError(f"{where}: expected a Value or a real number, not {type(x).__name__}")
    return as_double(x)


cdef int fill_children(mg_nary *e, Py_ssize_t at, Py_ssize_t count, object seq, str where) except -1:
    """Stores seq's items (numbers become leaves) as children at, at+1, ...,
    at+count-1, the slots the caller made for them. A number's __float__ may
    run any code, even code that resizes seq or another input: any length but
    count is caught, so no slot is overrun or left empty."""
    cdef Py_ssize_t i
    cdef PyObject *item
    if type(seq) is not list and type(seq) is not tuple:
        seq = tuple(seq)
    if at + count > e.count:
        raise SystemError(f"{where}: {count} children do not fit at {at} of {e.count}")
    for i in range(count):
        if PySequence_Fast_GET_SIZE(seq) != count:
            raise RuntimeError(f"{where}: an input changed size while it was read")
        item = PySequence_Fast_GET_ITEM(seq, i)
        if not isinstance(<object>item, Value):
            x = <object>item
            if not mg_is_real(x):
                raise TypeError(f"{where}: expected Values or real numbers, not {type(x).__name__}")
            x = leaf(as_double(x))
            item = <PyObject *>x
        Py_INCREF(<object>item)
        e.children[at + i] = item
    if PySequence_Fast_GET_SIZE(seq) != count:  # also when count is 0
        raise RuntimeError(f"{where}: an input changed size while it was read")
    return 0
