/* Python's float arithmetic in C: the same results bit for bit, and the same
 * errors (as mg_error codes), so both engines agree on every input.
 * Mirrors CPython's float_pow and float division, and mathmodule's math_1
 * (sin, cos, sqrt, fabs, exp, ...) and log. */
#ifndef MG_FLOAT_MATH_H
#define MG_FLOAT_MATH_H

#include <math.h>
#include "ops/errors.h"

static inline int mg_is_odd_integer(double x)
{
    return fmod(fabs(x), 2.0) == 1.0;
}

/* x ** y as float.__pow__, except that a complex result is an error. */
static inline double mg_pow(double x, double y, int *err)
{
    int negate = 0;
    double r;
    if (y == 0.0)
        return 1.0;
    if (isnan(x))
        return x;
    if (isnan(y))
        return x == 1.0 ? 1.0 : y;
    if (isinf(y)) {
        x = fabs(x);
        if (x == 1.0)
            return 1.0;
        return ((y > 0.0) == (x > 1.0)) ? fabs(y) : 0.0;
    }
    if (isinf(x)) {
        int odd = mg_is_odd_integer(y);
        if (y > 0.0)
            return odd ? x : fabs(x);
        return odd ? copysign(0.0, x) : 0.0;
    }
    if (x == 0.0) {
        if (y < 0.0) {
            *err = MG_ERR_ZERO_POW;
            return 0.0;
        }
        return mg_is_odd_integer(y) ? x : 0.0;
    }
    if (x < 0.0) {
        if (y != floor(y)) {
            *err = MG_ERR_COMPLEX;
            return 0.0;
        }
        x = -x;
        negate = mg_is_odd_integer(y);
    }
    if (x == 1.0)
        return negate ? -1.0 : 1.0;
    /* x, y finite, x > 0: an infinite result is an overflow, underflow is not */
    r = pow(x, y);
    if (isinf(r)) {
        *err = MG_ERR_POW_RANGE;
        return 0.0;
    }
    return negate ? -r : r;
}

/* func(x) as CPython's mathmodule math_1 calls it, for the math functions
 * that are one libm call (math.sin, cos, sqrt, fabs, exp, ...): a NaN from a
 * non-NaN is a domain error (sqrt(-1), sin(inf)); an infinite result from a
 * finite x an overflow if the function can_overflow (exp), else a domain
 * error (a pole). */
static inline double mg_math_1(double x, double (*func)(double), int can_overflow, int *err)
{
    double r = func(x);
    if (isnan(r) && !isnan(x))
        *err = MG_ERR_MATH_DOMAIN;
    else if (isinf(r) && isfinite(x))
        *err = can_overflow ? MG_ERR_MATH_RANGE : MG_ERR_MATH_DOMAIN;
    return r;
}

static inline double mg_exp(double x, int *err)
{
    return mg_math_1(x, exp, 1, err);
}

static inline double mg_log(double x, int *err)
{
    if (isnan(x) || (x > 0.0))
        return log(x);  /* log(inf) == inf */
    *err = MG_ERR_MATH_DOMAIN;
    return 0.0;
}

/* x / y as float division: y == 0 is Python's ZeroDivisionError. */
static inline double mg_divide(double x, double y, int *err)
{
    if (y == 0.0) {
        *err = MG_ERR_ZERO_DIVISION;
        return 0.0;
    }
    return x / y;
}

/* Heaviside's step with 0 at 0, relu's slope: 1 above 0, else 0 (NaN too). */
static inline double mg_step(double x)
{
    return x > 0.0 ? 1.0 : 0.0;
}

/* PyTorch's sign, abs's slope: 0 at 0 (either zero), NaN at NaN. */
static inline double mg_sign(double x)
{
    return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : x == 0.0 ? 0.0 : x;
}

/* 1 / (1 + e^-x) in the form that cannot overflow. */
static inline double mg_sigmoid(double x)
{
    double e;
    if (x >= 0.0)
        return 1.0 / (1.0 + exp(-x));
    e = exp(x);
    return e / (1.0 + e);
}

/* d(a ** b)/db = a ** b * log(a), with PyTorch's values where log is not
 * real: 0 at a == 0, nan for a < 0. */
static inline double mg_pow_exponent_slope(double a, double result)
{
    if (a > 0.0 || isnan(a))
        return result * log(a);
    if (a == 0.0)
        return 0.0;
    return NAN;
}

#endif
