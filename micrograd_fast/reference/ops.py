"""The elementwise ops, one row each: the forward and the local derivative
side by side (tinygrad's early Function, as rows of lambdas).

A row is Op(name, arity, forward, local, domain, edges):

- name: the `_op` a node of the op shows, micrograd's ('+', '*', 'ReLU');
- arity: how many Values it takes;
- forward(*inputs): the output, by Python's float math with Python's errors
  (math.sqrt(-1) raises ValueError, math.exp(1000) OverflowError);
- local(*inputs, out): d out / d input for each input, a tuple (microgpt's
  _local_grads), with PyTorch's value at a kink (abs and relu: 0 at 0).
  Every node applies microgpt's chain rule with it:
  child.grad += local * out.grad. Written with arithmetic that works on
  numbers and on Values alike (number(), cos(), power() below), so the same
  expression, called on the nodes, builds the derivative as a graph
  (derivatives.py, grad with create_graph=True); a kink's slope is a node
  (relu's step(out), abs's sign(a): ops of this table whose own slope is 0,
  PyTorch's second derivative), so a tape of a derivative recomputes it
  from new data; a branch (x ** 0, a base of 0) is taken on the numbers and
  its slope is a constant, as PyTorch's is;
- domain: (lo, hi), where tests draw inputs; edges: inputs each tested
  exactly (kinks, the domain's ends, infinities, nan).

pow's exponent is a number, not a Value: the node keeps it as a constant,
passed to forward and local after the base. The compiled engine's
csrc/ops/op_table.h has the same rows with the same expressions, bit for bit.
Value's methods are made from this table (value.py), the tests parametrize
over it: a new op is one row here.
"""

import math
from collections import namedtuple

inf, nan = math.inf, math.nan


class Op(namedtuple("Op", "name arity forward local domain edges")):
    """An elementwise op, and how a node of it uses the row. A node keeps its
    children in `_children` and its constants (pow's exponent) in `_arg`."""

    __slots__ = ()

    def compute(self, out):
        """out.data from its children's (a node made, or a tape's replay)."""
        out.data = self.forward(*[child.data for child in out._children], *out._arg)

    def local_grads(self, out):
        return self.local(*[child.data for child in out._children], *out._arg, out.data)

    def backward(self, out):
        """microgpt's chain rule, one term per child."""
        g = out.grad
        for child, local in zip(out._children, self.local_grads(out)):
            child.grad += local * g


def number(x):
    """x's number: x itself, or a Value's data (a branch of a local is taken
    on the numbers, also when it builds a derivative graph)."""
    return x if type(x) is float else x.data


def _math_or_method(name):
    """math.<name> on a number; the Value method of that op on a Value (a
    node of a derivative graph)."""
    function = getattr(math, name)
    return lambda x: function(x) if type(x) is float else getattr(x, name)()


cos, sin, log = _math_or_method("cos"), _math_or_method("sin"), _math_or_method("log")


def float_pow(base, exponent):
    """base ** exponent as Python floats compute it (ZeroDivisionError,
    OverflowError), but a ValueError where Python would go complex."""
    base, exponent = float(base), float(exponent)
    if base < 0 and math.isfinite(base) and math.isfinite(exponent) and exponent != math.floor(exponent):
        raise ValueError("negative number cannot be raised to a fractional power")
    return base**exponent


def sigmoid(x):
    # two branches, so that exp never overflows
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def power(base, exponent):
    """float_pow on numbers; base ** exponent on Values (a pow or powv node,
    whose forward is float_pow)."""
    return float_pow(base, exponent) if type(base) is float else base**exponent


def minus(c, x):
    """c - x for the number c; on a Value, one dot node c + x * -1.0 (c - x's
    bits), where micrograd's c - x makes two (tanh's and sigmoid's slopes)."""
    if type(x) is float:
        return c - x
    from .fused import dot  # fused.py builds on this table

    return dot([x], [-1.0], c)


def pow_exponent_slope(base, out):
    """d(base ** e)/de = out * log(base), with PyTorch's values where the log
    is not real: 0 at base 0, nan for a negative base."""
    x = number(base)
    if x > 0 or math.isnan(x):
        return out * log(base)
    if x == 0:
        return 0.0
    return nan


def half_over(out):
    """0.5 / out as C divides: +-inf at +-0 (torch's slope of sqrt at 0),
    where Python's float division raises; there the slope of a derivative
    graph is that constant too."""
    x = number(out)
    return 0.5 / out if x != 0 else math.copysign(inf, x)


def step_of(x):
    """Heaviside's step with 0 at 0 (and at nan), relu's slope: the step
    op's forward."""
    return 1.0 if x > 0 else 0.0


def sign_of(x):
    """abs's slope: PyTorch's sign, 0 at 0, but nan at nan (torch.sign
    gives 0.0 there): the sign op's forward."""
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0 if x == 0 else nan


def step(x):
    """step_of on a number; a step node on a Value, whose data a tape
    recomputes from new data (relu's slope in a derivative graph)."""
    return step_of(x) if type(x) is float else x.step()


def sign(x):
    """sign_of on a number; a sign node on a Value (abs's slope in a
    derivative graph)."""
    return sign_of(x) if type(x) is float else x.sign()


EDGES = (0.0, -0.0, inf, -inf, nan)  # every op is tested at these

# micrograd's operators: a + b, a * b, a ** 2 (the exponent a number), a ** b
OPERATORS = {
    "add": Op("+", 2, lambda a, b: a + b,
              lambda a, b, out: (1.0, 1.0),
              (-10.0, 10.0), ((inf, -inf), (nan, 1.0), (0.0, -0.0), (1e308, 1e308))),
    "mul": Op("*", 2, lambda a, b: a * b,
              lambda a, b, out: (b, a),
              (-10.0, 10.0), ((0.0, inf), (-0.0, 0.0), (nan, 0.0), (1e200, 1e200))),
    "pow": Op("**", 1, lambda a, e: float_pow(a, e),
              lambda a, e, out: (0.0 if e == 0 else e * power(a, e - 1),),
              (0.1, 10.0), ((0.0, -1.0), (-8.0, 1 / 3), (0.0, 0.0), (nan, 0.0), (1e200, 2.0))),
    "powv": Op("**", 2, lambda a, b: float_pow(a, b),
               lambda a, b, out: (0.0 if number(b) == 0 else b * power(a, b - 1), pow_exponent_slope(a, out)),
               (0.1, 5.0), ((0.0, 2.0), (-2.0, 3.0), (2.0, 0.5), (-1.0, 0.5), (0.0, -1.0))),
}

# the one-child ops, each a method of Value by its id: v.relu(), v.sin()
UNARY = {
    "relu": Op("ReLU", 1, lambda a: 0.0 if a < 0 else a,
               lambda a, out: (step(out),),
               (-5.0, 5.0), EDGES + (1.0, -1.0)),
    "tanh": Op("tanh", 1, math.tanh,
               lambda a, out: (minus(1.0, out * out),),
               (-5.0, 5.0), EDGES + (20.0, -20.0)),
    "exp": Op("exp", 1, math.exp,
              lambda a, out: (out,),
              (-20.0, 20.0), EDGES + (709.0, 710.0, -746.0)),
    "log": Op("log", 1, math.log,
              lambda a, out: (1.0 / a,),
              (1e-3, 100.0), EDGES + (-1.0, 1.0, 5e-324)),
    "sigmoid": Op("sigmoid", 1, sigmoid,
                  lambda a, out: (out * minus(1.0, out),),
                  (-20.0, 20.0), EDGES + (40.0, -40.0, -800.0)),
    "sin": Op("sin", 1, math.sin,
              lambda a, out: (cos(a),),
              (-10.0, 10.0), EDGES + (math.pi, 1e300)),
    "cos": Op("cos", 1, math.cos,
              lambda a, out: (-sin(a),),
              (-10.0, 10.0), EDGES + (math.pi, 1e300)),
    "abs": Op("abs", 1, math.fabs,
              lambda a, out: (sign(a),),
              (-5.0, 5.0), EDGES + (1.0, -1.0)),
    "sqrt": Op("sqrt", 1, math.sqrt,
               lambda a, out: (half_over(out),),
               (1e-3, 100.0), EDGES + (-1.0, 1.0, 5e-324)),
    # relu's and abs's slopes as ops (flat on each side: their own slope is
    # 0), so that a derivative graph recomputes them from new data
    "step": Op("step", 1, step_of,
               lambda a, out: (0.0,),
               (-5.0, 5.0), EDGES + (1.0, -1.0, 5e-324, -5e-324)),
    "sign": Op("sign", 1, sign_of,
               lambda a, out: (0.0,),
               (-5.0, 5.0), EDGES + (1.0, -1.0, 5e-324, -5e-324)),
}

TABLE = {**OPERATORS, **UNARY}
UNARY_OPS = tuple(UNARY)
