/* micrograd's operators, the Value type's number slots. A number on either
 * side is taken by the operand rule (value.h's mg_as_real) and becomes a
 * leaf; each op builds micrograd's graph node for node (a - b is a + (-b),
 * a / b is a * b**-1, -a is a * -1, a number's reciprocal taken as Python
 * takes it). Exact Values take C paths throughout; where a subclass's
 * instance is an operand, the composite operators call its own methods
 * (__neg__, __add__, __mul__, __pow__) as upstream micrograd's Python
 * definitions do, so an override is honoured. */
#include <string.h>
#include "core/value.h"

static PyObject *real_number = NULL, *real_operand = NULL;  /* micrograd_fast.checks' */

void mg_set_operand_rule(PyObject *number, PyObject *operand)
{
    Py_INCREF(number);
    Py_INCREF(operand);
    Py_XSETREF(real_number, number);
    Py_XSETREF(real_operand, operand);
}

/* checks.real_number's answer: a float, None (no number), or an exception. */
int mg_as_real_by_checks(PyObject *x, double *out)
{
    PyObject *r = PyObject_CallOneArg(real_number, x);
    if (r == NULL)
        return -1;
    if (r == Py_None) {
        Py_DECREF(r);
        return 0;
    }
    *out = PyFloat_AsDouble(r);  /* a plain float, by its contract */
    Py_DECREF(r);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 1;
}

int mg_value_ready_slow(PyObject *v)
{
    static PyObject *name_data = NULL;
    PyObject *descr, *data, *x;
    if (name_data == NULL && (name_data = PyUnicode_InternFromString("data")) == NULL)
        return -1;
    descr = _PyType_Lookup(Py_TYPE(v), name_data);  /* borrowed; the type's cache */
    if (Py_TYPE(v) != mg_value_type && descr != NULL
            && descr != _PyType_Lookup(mg_value_type, name_data)) {
        /* upstream's ops read other.data: the subclass's data is what counts */
        data = PyObject_GetAttr(v, name_data);
        if (data == NULL)
            return -1;
        x = PyFloat_CheckExact(data) ? (Py_INCREF(data), data) : PyObject_CallFunction(real_operand, "Os", data, "data");
        Py_DECREF(data);
        if (x == NULL)
            return -1;
        MG_NODE(v)->data = PyFloat_AS_DOUBLE(x);
        Py_DECREF(x);
        return 0;
    }
    if (!(MG_NODE(v)->flags & MG_INITIALISED)) {
        PyErr_Format(PyExc_AttributeError, "'%s' object has no attribute 'data'", _PyType_Name(Py_TYPE(v)));
        return -1;
    }
    return 0;
}

#define EXACT(o) (Py_TYPE(o) == mg_value_type)
/* an exact Value whose __init__ ran: what the fast paths take */
#define PLAIN(o) (EXACT(o) && (MG_NODE(o)->flags & MG_INITIALISED))

enum operands { NOT_OURS, BOTH_VALUES, VALUE_AND_NUMBER, NUMBER_AND_VALUE, FAILED };

/* What a binary op was given (one side is always a Value, or the slot would
 * not be called): two Values, or a Value and a real number *x, one way round
 * or the other. Exact Values, floats and ints, what a training loop is made
 * of, are told apart without a walk up the type's bases. Only classifies:
 * whether a Value is ready to be read is the op's business (a composite op
 * over a subclass's instance leaves that to the subclass's methods). */
static MG_ALWAYS_INLINE int operands(PyObject *a, PyObject *b, double *x)
{
    int a_value = EXACT(a), b_value = EXACT(b), real;
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
        if (mg_as_real(a_value ? b : a, x) < 0)  /* OverflowError as float(int) gives */
            return FAILED;
        return a_value ? VALUE_AND_NUMBER : NUMBER_AND_VALUE;
    }
    a_value = a_value || PyObject_TypeCheck(a, mg_value_type);
    b_value = b_value || PyObject_TypeCheck(b, mg_value_type);
    if (a_value && b_value)
        return BOTH_VALUES;
    real = mg_as_real(a_value ? b : a, x);
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

/* op(v, leaf(x)) for a v that is ready; v is borrowed. */
static MG_ALWAYS_INLINE PyObject *new_with_number(int op, PyObject *v, double x)
{
    PyObject *number = mg_new_leaf(x), *out;
    if (number == NULL)
        return NULL;
    out = mg_new_binary(op, v, number);
    Py_DECREF(number);
    return out;
}

/* op(v, leaf(x)), v checked first (mg_value_ready). */
static MG_ALWAYS_INLINE PyObject *with_number(int op, PyObject *v, double x)
{
    return mg_value_ready(v) < 0 ? NULL : new_with_number(op, v, x);
}

/* op(a, b) over two Values, each ready to be read. */
static PyObject *over_values(int op, PyObject *a, PyObject *b)
{
    if (mg_value_ready(a) < 0 || mg_value_ready(b) < 0)
        return NULL;
    return mg_new_binary(op, a, b);
}

/* a + b and a * b: a Value is the first child and a number the second,
 * whichever side each was on (micrograd's __radd__ is self + other). */
static MG_ALWAYS_INLINE PyObject *commutative(int op, PyObject *a, PyObject *b)
{
    double x;
    int kind = operands(a, b, &x);
    switch (kind) {
    case BOTH_VALUES: return over_values(op, a, b);
    case VALUE_AND_NUMBER: return with_number(op, a, x);
    case NUMBER_AND_VALUE: return with_number(op, b, x);
    default: return not_ours(kind);
    }
}

PyObject *mg_value_add(PyObject *a, PyObject *b)
{
    if (PLAIN(a) && PLAIN(b))  /* the hottest path */
        return mg_new_binary(MG_ADD, a, b);
    return commutative(MG_ADD, a, b);
}

PyObject *mg_value_multiply(PyObject *a, PyObject *b)
{
    if (PLAIN(a) && PLAIN(b))
        return mg_new_binary(MG_MUL, a, b);
    return commutative(MG_MUL, a, b);
}

/* --- the composite operators' steps, each as micrograd's Python takes it:
 * in C for exact Values, through Python's protocol (the subclass's own
 * method) otherwise. Each takes borrowed operands, returns a new reference. */

static PyObject *added(PyObject *a, PyObject *b)
{
    return EXACT(a) && EXACT(b) ? mg_value_add(a, b) : PyNumber_Add(a, b);
}

static PyObject *multiplied(PyObject *a, PyObject *b)
{
    return EXACT(a) && EXACT(b) ? mg_value_multiply(a, b) : PyNumber_Multiply(a, b);
}

/* v op x for a number x that the operand rule has already read: a float
 * is what a subclass's method receives (never, say, a numpy uint64 to wrap). */
static MG_ALWAYS_INLINE PyObject *with_float(PyObject *(*op)(PyObject *, PyObject *), int c_op, PyObject *v, double x)
{
    PyObject *number, *out;
    if (EXACT(v))
        return with_number(c_op, v, x);
    number = PyFloat_FromDouble(x);
    if (number == NULL)
        return NULL;
    out = op(v, number);
    Py_DECREF(number);
    return out;
}

/* number op v, number on the left (x its value by the operand rule), as
 * upstream's reflected methods write it (other + (-self), other *
 * self**-1): number itself, untouched, meets a subclass's result. */
static PyObject *number_with(PyObject *(*op)(PyObject *, PyObject *), int c_op, PyObject *number,
                             double x, PyObject *v)
{
    if (EXACT(v))  /* micrograd's __radd__/__rmul__: v op leaf(x) */
        return with_number(c_op, v, x);
    return op(number, v);
}

/* -v: v.__neg__() */
static PyObject *negated(PyObject *v)
{
    return EXACT(v) ? mg_value_negative(v) : PyNumber_Negative(v);
}

/* v ** -1: v.__pow__(-1) */
static PyObject *inverted(PyObject *v)
{
    PyObject *minus_one, *out;
    if (EXACT(v))
        return mg_value_ready(v) < 0 ? NULL : mg_new_pow(v, -1.0, 1);
    minus_one = PyLong_FromLong(-1);
    if (minus_one == NULL)
        return NULL;
    out = PyNumber_Power(v, minus_one, Py_None);
    Py_DECREF(minus_one);
    return out;
}

/* out, once made (a step's intermediate result, or NULL) is let go. */
static PyObject *then_release(PyObject *out, PyObject *made)
{
    Py_XDECREF(made);
    return out;
}

PyObject *mg_value_negative(PyObject *a)  /* a * -1 */
{
    PyObject *minus_one, *out;
    if (EXACT(a))
        return with_number(MG_MUL, a, -1.0);
    minus_one = PyLong_FromLong(-1);  /* upstream's int -1, for the subclass's __mul__ */
    if (minus_one == NULL)
        return NULL;
    out = PyNumber_Multiply(a, minus_one);
    Py_DECREF(minus_one);
    return out;
}

PyObject *mg_value_subtract(PyObject *a, PyObject *b)
{
    PyObject *minus;
    double x;
    int kind;
    if (PyFloat_CheckExact(a) && PLAIN(b)) {  /* 1.0 - v, a loss's usual shape */
        minus = mg_value_negative(b);
        return then_release(minus ? new_with_number(MG_ADD, minus, PyFloat_AS_DOUBLE(a)) : NULL, minus);
    }
    kind = operands(a, b, &x);
    switch (kind) {
    case BOTH_VALUES:  /* a + (-b) */
        minus = negated(b);
        return then_release(minus ? added(a, minus) : NULL, minus);
    case VALUE_AND_NUMBER:  /* a + (-x), x negated as a float */
        return with_float(PyNumber_Add, MG_ADD, a, -x);
    case NUMBER_AND_VALUE:  /* micrograd's __rsub__: x + (-b) */
        minus = negated(b);
        return then_release(minus ? number_with(PyNumber_Add, MG_ADD, a, x, minus) : NULL, minus);
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
    PyObject *inverse;
    double x;
    int err = MG_OK, kind;
    if (PLAIN(a) && PLAIN(b)) {  /* the exact types' path, straight */
        inverse = mg_new_pow(b, -1.0, 1);
        return then_release(inverse ? mg_new_binary(MG_MUL, a, inverse) : NULL, inverse);
    }
    kind = operands(a, b, &x);
    switch (kind) {
    case BOTH_VALUES:  /* a * b**-1 */
        inverse = inverted(b);
        return then_release(inverse ? multiplied(a, inverse) : NULL, inverse);
    case VALUE_AND_NUMBER:  /* a * x**-1, the power taken as Python takes it */
        x = reciprocal(x, &err);
        if (err != MG_OK) {
            mg_raise(err);
            return NULL;
        }
        return with_float(PyNumber_Multiply, MG_MUL, a, x);
    case NUMBER_AND_VALUE:  /* micrograd's __rtruediv__: x * b**-1 */
        inverse = inverted(b);
        return then_release(inverse ? number_with(PyNumber_Multiply, MG_MUL, a, x, inverse) : NULL, inverse);
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
        return over_values(MG_POWV, a, b);
    case VALUE_AND_NUMBER:  /* the exponent kept in the node; '**2' for an int */
        if (mg_value_ready(a) < 0)
            return NULL;
        return mg_new_pow(a, x, mg_is_integral(b));
    case NUMBER_AND_VALUE:  /* leaf(x) ** b */
        if (mg_value_ready(b) < 0)
            return NULL;
        base = mg_new_leaf(x);
        out = base ? mg_new_binary(MG_POWV, base, b) : NULL;
        Py_XDECREF(base);
        return out;
    default:
        return not_ours(kind);
    }
}
