# Fused n-ary nodes: one node with n children where micrograd's code makes
# 2n binary ones, summing in micrograd's order (bit for bit the same data),
# and DensePlan, which makes a whole MLP's nodes in one call.


def dot(ws, xs, bias=0.0):
    """bias + ws[0]*xs[0] + ws[1]*xs[1] + ... as ONE node, summed left to right
    exactly as micrograd's Neuron does with sum(generator, bias)."""
    ws = ws if type(ws) is list or type(ws) is tuple else list(ws)
    xs = xs if type(xs) is list or type(xs) is tuple else list(xs)
    cdef Py_ssize_t n = len(ws)
    if len(xs) != n:
        raise checks.lengths_differ("dot", n, "weights", len(xs), "inputs")
    cdef bint has_bias = isinstance(bias, Value)
    if has_bias:
        ready(bias)
    cdef double start = 0.0 if has_bias else real_operand(bias, "dot bias")
    cdef Value out = <Value>mg_new_nary(MG_DOT, 2 * n + has_bias)
    cdef mg_nary *e = out.node.u.nary
    e.pairs = n
    e.start = start
    fill_children(e, 0, n, ws, "dot")
    fill_children(e, n, n, xs, "dot")
    if has_bias:
        Py_INCREF(bias)
        e.children[2 * n] = <PyObject *>bias
    return computed(out)


def dense(list weights, list biases, xs, bint relu):
    """A layer of neurons in one call: [dot(w, xs, b), relu'd if asked, for
    each row w of weights and b of biases]. Number inputs become leaves once,
    shared by every neuron."""
    cdef Py_ssize_t j, k = len(weights)
    if len(biases) != k:
        raise checks.lengths_differ("dense", k, "weight rows", len(biases), "biases")
    cdef list inputs = [ready(x) if isinstance(x, Value) else leaf(real_operand(x, "dense input")) for x in xs]
    for j in range(k):
        if len(weights[j]) != len(inputs):
            raise checks.weights_for_inputs(f"dense: neuron {j}", len(weights[j]), len(inputs))
        if not isinstance(biases[j], Value):
            raise checks.is_not(f"dense: bias {j}", biases[j], "a Value")
        ready(biases[j])
    return dense_nodes(weights, biases, inputs, relu)


def linear(x, W):
    """[sum(w * xi for w, xi in zip(row, x)) for row in W], each row one dot
    node (no bias; the same bits as that code). Number inputs become leaves
    once, shared by every row."""
    if type(W) is not list and type(W) is not tuple:
        raise checks.must_be("linear: W", "a list of rows", W)
    cdef list inputs = [ready(v) if isinstance(v, Value) else leaf(real_operand(v, "linear input")) for v in x]
    cdef Py_ssize_t j
    for j in range(len(W)):
        if type(W[j]) is not list and type(W[j]) is not tuple:
            raise checks.is_not(f"linear: row {j} of W", W[j], "a list")
        if len(W[j]) != len(inputs):
            raise checks.weights_for_inputs(f"linear: row {j} of W", len(W[j]), len(inputs))
    return dense_nodes(W, None, inputs, False)


cdef list dense_nodes(weights, biases, list inputs, bint relu):
    """dense's and linear's nodes. weights (and biases, or None for none)
    are lists or tuples, inputs a list of Values that only the caller can
    reach; the caller has checked that every row of weights has len(inputs)
    entries and that every bias is a Value. (A weight that is a number runs
    its __float__, which could change weights or biases: hence the checks in
    the loop.)"""
    cdef Py_ssize_t i, j, k = PySequence_Fast_GET_SIZE(weights), n = len(inputs)
    cdef bint has_bias = biases is not None
    cdef list out = [None] * k
    cdef Value node
    cdef mg_nary *e
    cdef PyObject *x
    for j in range(k):
        if PySequence_Fast_GET_SIZE(weights) != k:
            raise RuntimeError("dense: the weights changed while the layer was computed")
        node = <Value>mg_new_nary(MG_DOT, 2 * n + has_bias)
        e = node.node.u.nary
        e.pairs = n
        e.start = 0.0
        fill_children(e, 0, n, <object>PySequence_Fast_GET_ITEM(weights, j), "dense")
        for i in range(n):
            x = PySequence_Fast_GET_ITEM(inputs, i)
            Py_INCREF(<object>x)
            e.children[n + i] = x
        if has_bias:
            if (PySequence_Fast_GET_SIZE(biases) != k
                    or not isinstance(<object>PySequence_Fast_GET_ITEM(biases, j), Value)):
                raise RuntimeError("dense: the biases changed while the layer was computed")
            x = PySequence_Fast_GET_ITEM(biases, j)
            Py_INCREF(<object>x)
            e.children[2 * n] = x
        computed(node)
        out[j] = mg_new_unary(MG_RELU, node) if relu else node
    return out


@cython.final
cdef class DensePlan:
    """A stack of dense layers called as one: micrograd_fast.nn's MLP makes
    one from its parts and calls it instead of each Layer in turn. Calling it
    returns what the layers would, or None when it no longer applies: the
    lists it was made from (model.layers, each layer.neurons) now hold other
    parts, a weight list changed length, or x is not a list of Values and
    numbers of the right size. nn.py then calls the layers one by one, which
    also words the errors."""
    cdef tuple parts      # the lists that must keep their contents...
    cdef tuple contents   # ...and those contents, as tuples
    cdef tuple weights    # per layer, a tuple of each neuron's weight list
    cdef tuple biases     # per layer, a tuple of each neuron's bias Value
    cdef tuple relus      # per layer, whether its neurons are ReLU'd

    def __cinit__(self, parts, weights, biases, relus):
        self.parts = tuple(parts)
        for p in self.parts:
            if type(p) is not list:
                raise checks.must_be("DensePlan: parts", "lists", p)
        self.contents = tuple([tuple(p) for p in self.parts])
        self.weights = tuple([tuple(w) for w in weights])
        self.biases = tuple([tuple(b) for b in biases])
        self.relus = tuple([bool(r) for r in relus])
        if not len(self.weights) == len(self.biases) == len(self.relus):
            raise checks.plan_layers_differ()
        for ws, bs in zip(self.weights, self.biases):
            if len(ws) == 0 or len(ws) != len(bs):
                raise checks.plan_layer_unmatched()
            for b in bs:
                if not isinstance(b, Value):
                    raise checks.is_not("DensePlan: bias", b, "a Value")

    def __call__(self, xs):
        cdef Py_ssize_t i, j
        cdef list x
        for i in range(len(self.parts)):
            if not same_items(self.parts[i], self.contents[i]):
                return None
        if type(xs) is not list and type(xs) is not tuple:
            return None
        for v in xs:
            if type(v) is not Value and not (type(v) is float or type(v) is int):
                return None
        x = [ready(v) if type(v) is Value else leaf(real_operand(v, "dense input")) for v in xs]
        cdef tuple ws
        for i in range(len(self.weights)):
            ws = self.weights[i]
            for j in range(len(ws)):
                if type(ws[j]) is not list or len(<list>ws[j]) != len(x):
                    return None
            x = dense_nodes(ws, self.biases[i], x, self.relus[i])
        return x[0] if len(x) == 1 else x


cdef bint same_items(list now, tuple then):
    cdef Py_ssize_t i, n = len(then)
    if len(now) != n:
        return False
    for i in range(n):
        if <PyObject *>now[i] != <PyObject *>then[i]:
            return False
    return True


def sum(values, start=0.0):
    """start + values[0] + values[1] + ... as ONE node, left to right."""
    values = values if type(values) is list or type(values) is tuple else list(values)
    cdef bint start_is_child = isinstance(start, Value)
    if start_is_child:
        ready(start)
    cdef double start_data = 0.0 if start_is_child else real_operand(start, "sum start")
    cdef Value out = <Value>mg_new_nary(MG_SUM, len(values) + start_is_child)
    cdef mg_nary *e = out.node.u.nary
    e.start = start_data
    if start_is_child:
        Py_INCREF(start)
        e.children[0] = <PyObject *>start
        out.node.flags |= MG_START_IS_CHILD
    fill_children(e, start_is_child, len(values), values, "sum")
    return computed(out)

