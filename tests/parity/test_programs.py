"""Fuzzed programs (parity/programs.py: ops, constants, fused nodes, shared
nodes, in-place +=, repeated backward() calls and grad resets): the two
engines bit for bit (data, every grad after every pass, exception types),
upstream micrograd to rounding where its ops suffice (it walks `_prev` sets,
so its accumulation order varies), and fused nodes to rounding against the
same program written out in plain ops.

Example counts follow the hypothesis profile (tests/conftest.py): the
default, or HYPOTHESIS_PROFILE=thorough for many more programs."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micrograd_fast import engine
from programs import AWAY_FROM_ZERO, UPSTREAM_OPS, assert_close, programs, run

reference = engine.load("pure")
try:
    compiled = engine.load("compiled")
except ImportError:
    pytest.skip("the compiled engine is not built", allow_module_level=True)


# as many programs as the two tests this one replaced drew between them: the
# profile's count (repeated passes) and 400 (the fused and constant-side ops)
@settings(max_examples=settings().max_examples + 400)
@given(programs())
def test_engines_agree_bit_for_bit(program):
    assert repr(run(compiled, program)) == repr(run(reference, program))


# x ** 0 has slope 0 everywhere on our engines (PyTorch's); micrograd's
# formula, 0 * x ** -1, divides by zero at 0: a deliberate difference
@given(programs(UPSTREAM_OPS, numbers=AWAY_FROM_ZERO, exponents=st.sampled_from([2, 3, -1, 0.5, -0.5, 1.5, 2.0])))
def test_engines_agree_with_upstream(program):
    upstream = pytest.importorskip("micrograd.engine")
    assert_close(run(compiled, program), run(upstream, program))


# one backward pass: a second one pushes the grads the interior nodes kept,
# and the written-out graph has more interior nodes
@given(programs(numbers=AWAY_FROM_ZERO, passes=st.just(["backward"])))
def test_fused_nodes_agree_with_their_written_out_graph(program):
    assert_close(run(compiled, program), run(compiled, program, fused=False))
