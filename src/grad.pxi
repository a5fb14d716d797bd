# grad(outputs, inputs, ...): PyTorch's torch.autograd.grad for Values. The
# arguments are checked by micrograd_fast/grad_checks.py (the reference's
# rules and words); the sort, the sweep and every node of a derivative graph
# are csrc/derivative/'s, with no Python call per node.

from micrograd_fast import grad_checks, second_order  # import no engine


def grad(outputs, inputs, grad_outputs=None, create_graph=False, allow_unused=False, *, replayable=True):
    """For each input, the sum over outputs of grad_output * d output / d input
    (grad_outputs default 1.0 each), as a list. Reads and writes no .grad.
    create_graph=False: fresh leaves holding backward()'s numbers;
    create_graph=True: nodes of the engine's own ops, differentiable again.
    An input no output reaches: ValueError, or None with allow_unused=True.
    replayable=False (hessian's and hvp's): relu's and abs's slopes are this
    point's numbers, so a dead unit's terms are dropped: the same derivatives
    from a smaller graph, but not one to tape and replay on other data."""
    outs, ins, seeds = grad_checks.arguments(outputs, inputs, grad_outputs, Value)
    results = _sweep(outs, ins, seeds, create_graph, not replayable, None)
    if not allow_unused:
        for i, r in enumerate(results):
            if r is None:
                raise grad_checks.unused_input(i)
    return results


def hessian_vector_product(output, inputs, vector):
    """The Hessian of output over inputs times vector (floats, one per input;
    micrograd_fast.hvp checks them), 0.0 where output does not reach an
    input. Over leaves by forward-over-reverse in C (csrc/derivative/derivative_hvp.c):
    one pass with tangents, one reverse sweep with pairs, no graph built.
    An input that is a node depends on others: the definition then, the
    gradient of dot(grad(output, inputs), vector), both built as graphs."""
    if not isinstance(output, Value) or any(not isinstance(x, Value) or (<Value>x).node.op != MG_LEAF for x in inputs):
        return second_order.hvp_by_graphs(grad, dot, output, inputs, vector)
    results = _sweep([output], list(inputs), [1.0], False, True, [float(v) for v in vector])
    return [0.0 if r is None else r.data for r in results]


cdef list _sweep(list outs, list ins, list seeds, create_graph, bint kinks_as_numbers, list tangents):
    """mg_grad over checked arguments: its results (None: unreached), with
    tangents (one per input) hvp's."""

    cdef Py_ssize_t i, n_out = len(outs), n_in = len(ins)
    for v in outs:
        ready(v)
    for v in ins:
        ready(v)
    for s in seeds:
        if isinstance(s, Value):
            ready(s)
    cdef PyObject **out_p = <PyObject **>PyMem_Malloc((n_out * 2 + n_in * 2 + 1) * sizeof(PyObject *))
    cdef double *numbers = <double *>PyMem_Malloc((n_out + n_in + 1) * sizeof(double))
    if out_p == NULL or numbers == NULL:
        PyMem_Free(out_p)
        PyMem_Free(numbers)
        raise MemoryError()
    cdef PyObject **seed_p = out_p + n_out
    cdef PyObject **in_p = seed_p + n_out
    cdef PyObject **res_p = in_p + n_in
    cdef PyObject *bad = NULL
    cdef mg_grad_request request
    cdef int status
    try:
        for i in range(n_out):
            out_p[i] = <PyObject *>outs[i]
            if isinstance(seeds[i], Value):
                seed_p[i] = <PyObject *>seeds[i]
                numbers[i] = 0.0
            else:
                seed_p[i] = NULL
                numbers[i] = <double>seeds[i]
        for i in range(n_in):
            in_p[i] = <PyObject *>ins[i]
            if tangents is not None:
                numbers[n_out + i] = <double>tangents[i]
        request.outputs = out_p
        request.n_outputs = n_out
        request.seed_values = seed_p
        request.seed_numbers = numbers
        request.inputs = in_p
        request.n_inputs = n_in
        request.create_graph = bool(create_graph)
        request.kinks_as_numbers = kinks_as_numbers
        request.tangents = numbers + n_out if tangents is not None else NULL
        status = mg_grad(&request, res_p, &bad)  # -1 raises
        if status > 0:
            node = <object>bad
            Py_DECREF(node)  # the reference mg_grad handed over
            if status == MG_GRAD_CUSTOM_OP:
                raise grad_checks.custom_op(node._op)
            raise grad_checks.numbers_only(node._op)
        results = [None] * n_in
        for i in range(n_in):  # take every reference before any raise
            if res_p[i] != NULL:
                results[i] = <object>res_p[i]
                Py_DECREF(results[i])
        return results
    finally:
        PyMem_Free(out_p)
        PyMem_Free(numbers)
