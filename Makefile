# Development checks beyond the test suite (see README, "Development").
PYTHON ?= python
LIBASAN := $(shell gcc -print-file-name=libasan.so)
PYEXE := $(shell $(PYTHON) -c "import sys; print(sys.executable)")

.PHONY: build test lint typecheck asan tsan valgrind clean

build:
	$(PYTHON) setup.py build_ext --inplace

test: build
	$(PYTHON) -m pytest -q

# The linter (pyproject.toml's [tool.ruff]); pip install -e ".[dev]" installs it.
lint:
	$(PYTHON) -m ruff check .

# The types: the compiled engine's stub (micrograd_fast/_engine.pyi) against
# the built module, then mypy --strict over the examples and a typed usage file
# (and the library modules they import). pip install -e ".[examples,dev]" first:
# it builds the module and installs mypy and the examples' libraries.
typecheck:
	$(PYTHON) -m mypy.stubtest micrograd_fast._engine --allowlist tests/typing/stubtest-allowlist.txt
	$(PYTHON) -m mypy --strict examples/ tests/typing/

# The extension built with AddressSanitizer + UndefinedBehaviorSanitizer, and
# the suite run over it (the interpreter itself is not instrumented, so the
# runtime is preloaded and CPython's own exit-time leaks are not reported).
asan:
	MICROGRAD_FAST_SANITIZE=1 $(PYTHON) setup.py build_ext --inplace --force
	LD_PRELOAD=$(LIBASAN) ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	$(PYTHON) -m pytest -q -m "not slow" -p no:cacheprovider --ignore=tests/unit/test_viz.py --ignore=tests/parity/test_examples.py
	$(PYTHON) setup.py build_ext --inplace --force

# ThreadSanitizer over threaded batched-tape replays (a scratch build; the
# in-place one is left alone): no data race between the worker threads.
tsan:
	PYTHON=$(PYTHON) sh tools/tsan_batch.sh

# A small training loop under valgrind memcheck: no invalid reads or writes,
# no definite leaks from the extension.
valgrind: build
	PYTHONMALLOC=malloc valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
	  --error-exitcode=1 --show-leak-kinds=definite --suppressions=tools/valgrind-python.supp \
	  $(PYEXE) tools/memcheck_loop.py

clean:
	rm -rf build src/_engine.c micrograd_fast/*.so
