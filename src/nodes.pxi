# Making nodes from Python objects. The C builders (csrc/core/value.h) take
# Values and doubles; these turn numbers into doubles with Python's rules and
# fill child lists from Python sequences.

import copyreg
import operator

from micrograd_fast import checks  # imports no engine

cdef extern from "Python.h":
    double PyFloat_AS_DOUBLE(object)
    double PyLong_AsDouble(object) except? -1.0
    bint PyFloat_Check(object)
    bint PyLong_Check(object)
    int PyErr_CheckSignals() except -1
    Py_ssize_t PySequence_Fast_GET_SIZE(object)
    PyObject *PySequence_Fast_GET_ITEM(object, Py_ssize_t)  # borrowed

cdef extern from "core/value.h":
    # the operand rule's C side (value.h); the rest is checks.py's
    void mg_set_operand_rule(object real_number, object real_operand)
    int mg_value_ready(object v) except -1
    bint mg_is_value(object o)

mg_set_operand_rule(checks.real_number, checks.real_operand)


cdef inline Value leaf(double x):
    return <Value>mg_new_leaf(x)


cdef inline Value computed(Value out):
    """out's data from its children; under no_grad it forgets them."""
    mg_compute(out)
    return out


cdef inline double real_operand(object x, str where) except? -1.0:
    """x by the operand rule (checks.py) for a function's argument: a float
    (a subclass by its C value) or an int here, the rest by checks, which
    raises TypeError for what is no real number. (As value.h's mg_as_real:
    PyFloat_Check walks the bases, so it comes after the cheap tests.)"""
    if type(x) is float:
        return <double>x
    if PyLong_Check(x):
        return PyLong_AsDouble(x)
    if PyFloat_Check(x):
        return PyFloat_AS_DOUBLE(x)
    return <double>checks.real_operand(x, where)


cdef inline double real_data(object x, str what) except? -1.0:
    """x by the operand rule for what holds a number (data, grad, a local
    gradient, assign's numbers): a Value is no such number."""
    if type(x) is float:
        return <double>x
    if PyLong_Check(x):
        return PyLong_AsDouble(x)
    if PyFloat_Check(x):
        return PyFloat_AS_DOUBLE(x)
    return <double>checks.real_data(x, what)


cdef inline object ready(object v):
    """v, a Value, checked as an op's operand (see mg_value_ready): a
    subclass's data property is read, an uninitialised Value refused."""
    mg_value_ready(v)
    return v


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
        if isinstance(<object>item, Value):
            ready(<object>item)
        else:
            x = leaf(real_operand(<object>item, where))
            item = <PyObject *>x
        Py_INCREF(<object>item)
        e.children[at + i] = item
    if PySequence_Fast_GET_SIZE(seq) != count:  # also when count is 0
        raise RuntimeError(f"{where}: an input changed size while it was read")
    return 0
