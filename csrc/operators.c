/* micrograd's operators, the Value type's number slots: a number on either
 * side becomes a leaf, and each builds micrograd's graph node for node
 * (a - b is a + (b * -1), a / b is a * b**-1, -a is a * -1, a number's
 * reciprocal taken as Python takes it). */
#include <string.h>
#include "value.h"

/* x as a double if it is a real number (float, int, or anything with
 * __float__ or __index__, as PyFloat_AsDouble takes): 1; 0 if it is not
 * one; -1 with an exception. */
static int as_real(PyObject *x, double *out)
{
    if (!mg_is_real(x) || PyComplex_Check(x))
        return 0;
    *out = PyLong_CheckExact(x) ? PyLong_AsDouble(x) : PyFloat_AsDouble(x);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 1;
}

enum operands { NOT_OURS, BOTH_VALUES, VALUE_AND_NUMBER, NUMBER_AND_VALUE, FAILED };

/* What a binary op was given (one side is always a Value, or the slot would
 * not be called): two Values, or a Value and a real number *x, one way round
 * or the other. Exact Values, floats and ints, what a training loop is made
 * of, are told apart without a walk up the type's bases. */
static int operands(PyObject *a, PyObject *b, double *x)
{
    int a_value = Py_TYPE(a) == mg_value_type, b_value = Py_TYPE(b) == mg_value_type, real;
    if (a_value && b_value)
        return BOTH_VALUES;
    if (a_value && PyFloat_CheckExact(b)) {
        *x = PyFloat_AS_DOUBLE(b);
        return VALUE_AND_NUMBER;
    }
    if (b_value && PyFloat_CheckExact(a)) {
        *x = PyFloat_AS_DOUBLE(a);
        return NUMBER_AND_VALUE;
    }
    if ((a_value && PyLong_CheckExact(b)) || (b_value && PyLong_CheckExact(a))) {
        *x = PyLong_AsDouble(a_value ? b : a);  /* OverflowError as float(int) gives */
        if (*x == -1.0 && PyErr_Occurred())
            return FAILED;
        return a_value ? VALUE_AND_NUMBER : NUMBER_AND_VALUE;
    }
    a_value = a_value || PyObject_TypeCheck(a, mg_value_type);
    b_value = b_value || PyObject_TypeCheck(b, mg_value_type);
    if (a_value && b_value)
        return BOTH_VALUES;
    real = as_real(a_value ? b : a, x);
    if (real <= 0)
        return real < 0 ? FAILED : NOT_OURS;
    return a_value ? VALUE_AND_NUMBER : NUMBER_AND_VALUE;
}

static PyObject *not_ours(int kind)
{
    if (kind == FAILED)
        return NULL;
    Py_INCREF(Py_NotImplemented);  /* Python tries the other side, or raises TypeError */
    return Py_NotImplemented;
}

/* op(v, leaf(x)); v is borrowed. */
static PyObject *with_number(int op, PyObject *v, double x)
{
    PyObject *number = mg_new_leaf(x), *out;
    if (number == NULL)
        return NULL;
    out = mg_new_binary(op, v, number);
    Py_DECREF(number);
    return out;
}

/* op(made, leaf(x)) for a node just made (or NULL), which it lets go. */
static PyObject *with_number_then_release(int op, PyObject *made, double x)
{
    PyObject *out;
    if (made == NULL)
        return NULL;
    out = with_number(op, made, x);
    Py_DECREF(made);
    return out;
}

/* a + b and a * b: a Value is the first child and a number the second,
 * whichever side each was on (micrograd's __radd__ is self + other). */
static PyObject *commutative(int op, PyObject *a, PyObject *b)
{
    double x;
    int kind = operands(a, b, &x);
    switch (kind) {
    case BOTH_VALUES: return mg_new_binary(op, a, b);
    case VALUE_AND_NUMBER: return with_number(op, a, x);
    case NUMBER_AND_VALUE: return with_number(op, b, x);
    default: return not_ours(kind);
    }
}

PyObject *mg_value_add(PyObject *a, PyObject *b)
{
    if (Py_TYPE(a) == mg_value_type && Py_TYPE(b) == mg_value_type)  /* the hottest path */
        return mg_new_binary(MG_ADD, a, b);
    return commutative(MG_ADD, a, b);
}

PyObject *mg_value_multiply(PyObject *a, PyObject *b)
{
    if (Py_TYPE(a) == mg_value_type && Py_TYPE(b) == mg_value_type)
        return mg_new_binary(MG_MUL, a, b);
    return commutative(MG_MUL, a, b);
}

PyObject *mg_value_negative(PyObject *a)  /* a * -1 */
{
    return with_number(MG_MUL, a, -1.0);
}

PyObject *mg_value_subtract(PyObject *a, PyObject *b)
{
    PyObject *minus_b, *out;
    double x;
    int kind = operands(a, b, &x);
    switch (kind) {
    case BOTH_VALUES:  /* a + (-b); a subclass's own __neg__ and __add__ are called */
        if (Py_TYPE(a) == mg_value_type && Py_TYPE(b) == mg_value_type) {
            minus_b = mg_value_negative(b);
            out = minus_b ? mg_new_binary(MG_ADD, a, minus_b) : NULL;
        } else {
            minus_b = PyNumber_Negative(b);
            out = minus_b ? PyNumber_Add(a, minus_b) : NULL;
        }
        Py_XDECREF(minus_b);
        return out;
    case VALUE_AND_NUMBER:  /* a + leaf(-x) */
        return with_number(MG_ADD, a, -x);
    case NUMBER_AND_VALUE:  /* micrograd's __rsub__: x + (-b) = (b * -1) + leaf(x) */
        return with_number_then_release(MG_ADD, mg_value_negative(b), x);
    default:
        return not_ours(kind);
    }
}

/* x ** -1 as Python computes it (the C library's pow, which is not always
 * 1 / x). A loop divides by the same number again and again (v / n), so the
 * last answer is kept. */
static double reciprocal(double x, int *err)
{
    struct mg_last_reciprocal *const last = &mg_last_reciprocal;  /* process_state.h */
    double r;
    if (memcmp(&x, &last->x, sizeof x) == 0)
        return last->reciprocal;
    r = mg_pow(x, -1.0, err);
    if (*err == MG_OK) {
        last->x = x;
        last->reciprocal = r;
    }
    return r;
}

PyObject *mg_value_true_divide(PyObject *a, PyObject *b)
{
    PyObject *out, *inverse;
    double x;
    int err = MG_OK, kind = operands(a, b, &x);
    switch (kind) {
    case BOTH_VALUES:  /* a * b**-1 */
        inverse = mg_new_pow(b, -1.0, 1);
        out = inverse ? mg_new_binary(MG_MUL, a, inverse) : NULL;
        Py_XDECREF(inverse);
        return out;
    case VALUE_AND_NUMBER:  /* a * leaf(x ** -1), the power taken as Python takes it */
        x = reciprocal(x, &err);
        if (err != MG_OK) {
            mg_raise(err);
            return NULL;
        }
        return with_number(MG_MUL, a, x);
    case NUMBER_AND_VALUE:  /* micrograd's __rtruediv__: x * b**-1 = b**-1 * leaf(x) */
        return with_number_then_release(MG_MUL, mg_new_pow(b, -1.0, 1), x);
    default:
        return not_ours(kind);
    }
}

PyObject *mg_value_power(PyObject *a, PyObject *b, PyObject *modulo)
{
    PyObject *base, *out;
    double x;
    int kind;
    if (modulo != Py_None)
        return not_ours(NOT_OURS);
    kind = operands(a, b, &x);
    switch (kind) {
    case BOTH_VALUES:
        return mg_new_binary(MG_POWV, a, b);
    case VALUE_AND_NUMBER:  /* the exponent kept in the node; '**2' for an int */
        return mg_new_pow(a, x, mg_is_integral(b));
    case NUMBER_AND_VALUE:  /* leaf(x) ** b */
        base = mg_new_leaf(x);
        out = base ? mg_new_binary(MG_POWV, base, b) : NULL;
        Py_XDECREF(base);
        return out;
    default:
        return not_ours(kind);
    }
}
