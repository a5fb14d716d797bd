# The fused ops of a small GPT (csrc/core/fused.h): each made in one call as a
# few nodes where written-out code makes many. A structure never depends on
# the data: the max of a softmax is taken inside its expsum node, the row of
# an embedding and the target of a cross-entropy are read from Values, so a
# tape replays them with new data.


cdef list values_of(object xs, str where):
    """xs as a new non-empty list of Values, numbers made leaves."""
    cdef list out = list(xs)
    cdef Py_ssize_t i
    if not out:
        raise checks.empty(where)
    for i in range(len(out)):
        if isinstance(out[i], Value):
            ready(out[i])
        else:
            out[i] = leaf(real_operand(out[i], where))
    return out


cdef Value node_over(int op, object children, Py_ssize_t extra, str where):
    """A node of op whose first children are children (a list or tuple of
    Values), with extra slots after them for the caller to fill before
    computing it."""
    cdef Value node = <Value>mg_new_nary(op, len(children) + extra)
    fill_children(node.node.u.nary, 0, len(children), children, where)
    return node


cdef object index_value(object index, Py_ssize_t n, str where):
    """index as a Value holding an integer in [0, n): a Value is checked
    with the rule a replay applies (csrc/core/fused.h's mg_as_index), worded by
    checks.index_of; an int is made a leaf (checks.class_index)."""
    cdef Py_ssize_t row
    if isinstance(index, Value):
        ready(index)
        if mg_as_index((<Value>index).node.data, n, &row) != MG_OK:
            checks.index_of((<Value>index).node.data, n, where)  # raises
        return index
    return leaf(<double>checks.class_index(index, n, where))


def rmsnorm(x, eps=1e-5):
    """[xi * scale for xi in x], scale = (sum(xi * xi) / len(x) + eps) ** -0.5
    one node (microgpt's rmsnorm, the same bits)."""
    cdef list xs = values_of(x, "rmsnorm")
    cdef double epsilon = real_operand(eps, "rmsnorm eps")
    cdef Value scale = node_over(MG_RMS_SCALE, xs, 0, "rmsnorm")
    scale.node.u.nary.rms.eps = epsilon
    computed(scale)
    return [mg_new_binary(MG_MUL, v, scale) for v in xs]


cdef list over_expsum(int op, str name, object logits):
    """An expsum node over logits and one op node per logit over it."""
    cdef list xs = values_of(logits, name), outs
    cdef bint recording = mg_grad_enabled()
    mg_set_grad_enabled(1)  # the outputs read the expsum's max: it must be made whole
    try:
        total = computed(node_over(MG_EXPSUM, xs, 0, name))
        outs = [mg_new_binary(op, v, total) for v in xs]
    finally:
        mg_set_grad_enabled(recording)
    if not recording:  # under no_grad the outputs are leaves
        for out in outs:
            mg_release_children(&(<Value>out).node)
    return outs


def softmax(logits):
    """[e / total for e in exps], exps = [(v - max_v).exp() ...], total =
    sum(exps): the same bits, with the max taken inside a shared expsum node
    (one node per output and that one)."""
    return over_expsum(MG_SOFTMAX, "softmax", logits)


def log_softmax(logits):
    """[(v - max_v) - log(total) ...] as softmax builds it: one node per
    output and a shared expsum node."""
    return over_expsum(MG_LOG_SOFTMAX, "log_softmax", logits)


def cross_entropy(logits, target):
    """-log_softmax(logits)[target] as one node. target is an int class index
    or a Value holding one: a tape replays the node with the Value's new data."""
    cdef list xs = values_of(logits, "cross_entropy")
    t = index_value(target, len(xs), "cross_entropy target")
    cdef Value node = node_over(MG_NLL, xs, 1, "cross_entropy")
    Py_INCREF(t)
    node.node.u.nary.children[len(xs)] = <PyObject *>t
    return computed(node)


def embedding(table, index):
    """table[int(index.data)] as one node per column, each over the whole
    column and the index, so a tape replays it with a new index; only the
    selected row gets a gradient. table is a list of rows of Values; index a
    Value holding a row number (or an int)."""
    if type(table) is not list and type(table) is not tuple:
        raise checks.must_be("embedding: the table", "a list of rows", table)
    cdef list rows = [list(row) if type(row) is list or type(row) is tuple else None for row in table]
    cdef Py_ssize_t r, j, n = len(rows), width
    if n == 0:
        raise checks.empty("embedding", "table")
    for r in range(n):
        if rows[r] is None:
            raise checks.is_not(f"embedding: row {r}", table[r], "a list of Values")
        if len(rows[r]) != len(rows[0]) or not rows[r]:
            raise checks.ragged_table(r, len(rows[r]), len(rows[0]))
        for v in rows[r]:
            if not isinstance(v, Value):
                raise checks.holds("embedding: the table", v, "a Value")
    width = len(rows[0])
    i = index_value(index, n, "embedding")
    cdef list out = [None] * width
    cdef Value node
    for j in range(width):
        node = node_over(MG_EMBED, [row[j] for row in rows], 1, "embedding")
        Py_INCREF(i)
        node.node.u.nary.children[n] = <PyObject *>i
        out[j] = computed(node)
    return out
