"""Builds micrograd_fast._engine: the Cython module in src/ over the C in csrc/."""

import glob
import os

from Cython.Build import cythonize
from setuptools import Extension, setup

# Portable and bit-exact: no -march=native, no -ffast-math, no fused
# multiply-add (it would round a*b+c differently from Python), and pow()
# always the C library's, as Python's float ** calls it: gcc would otherwise
# fold pow(x, -1.0) with a constant exponent into 1.0 / x, which rounds
# differently (0.9999999999999999 ** -1 is 1.0 in Python).
# -Werror=switch: a switch over op codes lists every code (csrc/ops/op_table.h),
# so an op without a case is a compile error.
compile_args = ["-O3", "-ffp-contract=off", "-fno-strict-aliasing", "-fno-builtin-pow", "-Werror=switch"]
link_args = []
if os.environ.get("MICROGRAD_FAST_SANITIZE"):
    # make asan: AddressSanitizer + UndefinedBehaviorSanitizer build
    sanitize = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
    compile_args += sanitize
    link_args += sanitize
else:
    # no debug info in the shipped extension: CPython's own CFLAGS carry -g,
    # which is most of the .so's bytes; -g0 comes after them and wins
    compile_args.append("-g0")

engine = Extension(
    "micrograd_fast._engine",
    sources=["src/_engine.pyx"] + sorted(glob.glob("csrc/*/*.c")),
    include_dirs=["csrc"],
    depends=sorted(glob.glob("csrc/*/*.h") + glob.glob("src/*.pxi") + glob.glob("src/*.pxd")),
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

setup(ext_modules=cythonize([engine], include_path=["src"], compiler_directives={"language_level": "3"}))
