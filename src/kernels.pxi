# Kernels: what the libraries run over many Values at once, in C. The
# optimizer updates are the same arithmetic as reference/kernels.py's loops, step for
# step; nll_rows makes losses.cross_entropy's nodes for a whole batch.


cdef inline mg_node *param_node(list params, Py_ssize_t i) except NULL:
    p = params[i]
    if type(p) is not Value and not isinstance(p, Value):
        raise TypeError(f"parameter {i} is a {type(p).__name__}, not a compiled Value")
    return MG_NODE(p)


def zero_grads(list params):
    """p.grad = 0 for every parameter."""
    cdef Py_ssize_t i
    for i in range(len(params)):
        param_node(params, i).grad = 0.0


def sgd_update(list params, double lr, double momentum, double weight_decay,
               double[::1] buf, bint first):
    cdef Py_ssize_t i, n = len(params)
    cdef mg_node *p
    cdef double d
    if buf.shape[0] != n:
        raise ValueError(f"sgd_update: {buf.shape[0]} buffer entries for {n} parameters")
    for i in range(n):
        p = param_node(params, i)
        d = p.grad
        if weight_decay != 0.0:
            d = d + weight_decay * p.data
        if momentum != 0.0:
            buf[i] = d if first else buf[i] * momentum + d
            d = buf[i]
        p.data = p.data - lr * d


def adam_update(list params, double lr, double beta1, double beta2, double eps,
                double weight_decay, bint decoupled, long step, double[::1] m, double[::1] v):
    cdef Py_ssize_t i, n = len(params)
    cdef mg_node *p
    cdef double g, x, denom
    if m.shape[0] != n or v.shape[0] != n:
        raise ValueError(f"adam_update: moment buffers do not match {n} parameters")
    cdef int err = MG_OK
    cdef double bias_correction1 = 1.0 - mg_pow(beta1, step, &err)
    cdef double bias_correction2_sqrt = sqrt(1.0 - mg_pow(beta2, step, &err))
    mg_raise(err)
    cdef double step_size = lr / bias_correction1
    for i in range(n):
        p = param_node(params, i)
        g = p.grad
        x = p.data
        if weight_decay != 0.0:
            if decoupled:
                x = x * (1.0 - lr * weight_decay)
            else:
                g = g + weight_decay * x
        m[i] = m[i] + (1.0 - beta1) * (g - m[i])
        v[i] = v[i] * beta2 + (1.0 - beta2) * g * g
        denom = sqrt(v[i]) / bias_correction2_sqrt + eps
        p.data = x - step_size * (m[i] / denom)



def nll_rows(list rows, list targets):
    """cross_entropy(row, t) for each row and target, one node each, made in
    one call. Returns None unless every row is a list of C plain Values (C the
    same for all) and every target an int in [0, C): losses.py then takes its
    own path, which handles everything else and words the errors."""
    cdef Py_ssize_t i, j, c, n = len(rows)
    cdef list out, frozen
    cdef tuple row
    cdef Value node
    if n == 0 or len(targets) != n or type(rows[0]) is not list:
        return None
    c = len(<list>rows[0])
    if c == 0:
        return None
    cdef Py_ssize_t *index = <Py_ssize_t *>PyMem_Malloc(n * sizeof(Py_ssize_t))
    if index == NULL:
        raise MemoryError()
    try:
        for i in range(n):  # first, as an __index__ may run any code
            if not class_index(targets[i], c, &index[i]):
                return None
        frozen = [None] * n  # tuples: nothing can change them while nodes are made
        for i in range(n):
            if type(rows[i]) is not list or len(<list>rows[i]) != c:
                return None
            row = tuple(<list>rows[i])
            for j in range(c):
                if type(row[j]) is not Value:
                    return None
            frozen[i] = row
        out = [None] * n
        for i in range(n):
            node = node_over(MG_NLL, frozen[i], 1, "cross_entropy")
            t = leaf(<double>index[i])
            Py_INCREF(t)
            node.node.u.nary.children[c] = <PyObject *>t
            out[i] = computed(node)
        return out
    finally:
        PyMem_Free(index)


cdef bint class_index(object target, Py_ssize_t classes, Py_ssize_t *index) except -1:
    """Stores operator.index(target) and says whether it is a class index in
    [0, classes); a bool is not one (torch refuses it too)."""
    if type(target) is not int:
        if isinstance(target, bool):
            return False
        try:
            target = operator.index(target)  # numpy's integers
        except TypeError:
            return False
    if not 0 <= target < classes:
        return False
    index[0] = target
    return True


# The no_grad switch (micrograd_fast.grad_mode), per thread.


def grad_enabled():
    """Whether ops on this thread record their children (see no_grad)."""
    return bool(mg_grad_enabled())


def set_grad_enabled(enabled):
    mg_set_grad_enabled(1 if enabled else 0)


