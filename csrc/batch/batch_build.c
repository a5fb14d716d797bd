/* Building a batched tape's program (batch_program.h) from a scalar tape's
 * order: one pass, no recursion (a 10^6-node chain is one loop). */
#include "batch/batch_program.h"

/* --- node pointer -> order index: open addressing, the table twice the size */

static Py_ssize_t slot_of_key(PyObject *key, Py_ssize_t mask)
{
    uintptr_t h = (uintptr_t)key;
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (Py_ssize_t)(h >> 7) & mask;
}

Py_ssize_t mg_bprog_find(const mg_bprog *p, PyObject *node)
{
    Py_ssize_t i = slot_of_key(node, p->map_mask);
    while (p->map_keys[i] != NULL) {
        if (p->map_keys[i] == node)
            return p->map_index[i];
        i = (i + 1) & p->map_mask;
    }
    return -1;
}

static int build_map(mg_bprog *p, PyObject *const *order, Py_ssize_t n)
{
    Py_ssize_t cap = 16, i, j;
    while (cap < 2 * n)
        cap *= 2;
    p->map_keys = PyMem_Calloc((size_t)cap, sizeof(PyObject *));
    p->map_index = PyMem_Malloc((size_t)cap * sizeof(Py_ssize_t));
    if (p->map_keys == NULL || p->map_index == NULL)
        return -1;
    p->map_mask = cap - 1;
    for (i = 0; i < n; i++) {
        j = slot_of_key(order[i], p->map_mask);
        while (p->map_keys[j] != NULL)
            j = (j + 1) & p->map_mask;
        p->map_keys[j] = order[i];
        p->map_index[j] = i;
    }
    return 0;
}

/* --- the builder's state ------------------------------------------------- */

typedef struct builder {
    mg_bprog *p;
    int32_t *aux;           /* per node: its first aux slot, in its own space */
    int32_t *lane_of;       /* per shared slot: its lane, or -1 */
    uint8_t *as_array;      /* per lane: read or written as C doubles */
    Py_ssize_t lanes_cap, arrays_cap, args_len, args_cap, shared_cap, per_cap;
} builder;

static int grow(void **array, Py_ssize_t *cap, Py_ssize_t need, size_t item)
{
    void *bigger;
    Py_ssize_t c = *cap ? *cap : 64;
    if (need <= *cap)
        return 0;
    while (c < need)
        c *= 2;
    bigger = PyMem_Realloc(*array, (size_t)c * item);
    if (bigger == NULL)
        return -1;
    *array = bigger;
    *cap = c;
    return 0;
}

/* The ref by which an instruction of the per-example program (per) or of
 * the shared one reads a slot (its space and index). */
static int32_t ref_to(builder *b, int per, int shared, int32_t index, int array)
{
    mg_bprog *p = b->p;
    if (!per || !shared)
        return index;
    if (b->lane_of[index] < 0) {
        if (grow((void **)&p->lane_slot, &b->lanes_cap, p->n_lanes + 1, sizeof(int32_t)) < 0
                || grow((void **)&b->as_array, &b->arrays_cap, p->n_lanes + 1, 1) < 0)
            return INT32_MIN;
        p->lane_slot[p->n_lanes] = index;
        b->as_array[p->n_lanes] = 0;
        b->lane_of[index] = (int32_t)p->n_lanes++;
    }
    if (array)
        b->as_array[b->lane_of[index]] = 1;
    return -b->lane_of[index] - 1;
}

static int32_t ref_node(builder *b, int per, Py_ssize_t node, int array)
{
    return ref_to(b, per, b->p->node_shared[node], b->p->node_slot[node], array);
}

static Py_ssize_t index_of(builder *b, PyObject *o)
{
    return mg_bprog_find(b->p, o);
}

/* The instruction of node i (interior), appended to its program. */
static int emit(builder *b, PyObject *const *order, Py_ssize_t i)
{
    mg_bprog *p = b->p;
    const mg_node *n = MG_NODE(order[i]);
    const int per = !p->node_shared[i];
    PyObject *const *kids = NULL;
    Py_ssize_t nk = mg_children(n, &kids), j;
    mg_binstr *ins;
    if (per) {
        if (grow((void **)&p->per, &b->per_cap, p->n_per_code + 1, sizeof(mg_binstr)) < 0)
            return -1;
        ins = &p->per[p->n_per_code++];
    } else {
        if (grow((void **)&p->shared, &b->shared_cap, p->n_shared_code + 1, sizeof(mg_binstr)) < 0)
            return -1;
        ins = &p->shared[p->n_shared_code++];
    }
    memset(ins, 0, sizeof(*ins));
    ins->op = (uint8_t)n->op;
    ins->out = p->node_slot[i];
    ins->aux = b->aux[i];
    ins->topo = i;
    ins->a = ins->b = ins->c = ins->d = ins->e = -1;
    switch ((enum mg_children_layout)mg_op_layout[n->op]) {
    case MG_NO_CHILDREN:
        return 0;
    case MG_BASE_AND_EXPONENT:
        ins->a = ref_node(b, per, index_of(b, kids[0]), 1);
        ins->k = n->u.pow.exponent;
        return ins->a == INT32_MIN ? -1 : 0;
    case MG_ONE_CHILD:
        ins->a = ref_node(b, per, index_of(b, kids[0]), 1);
        return ins->a == INT32_MIN ? -1 : 0;
    case MG_TWO_CHILDREN: {
        Py_ssize_t z = index_of(b, kids[1]);
        ins->a = ref_node(b, per, index_of(b, kids[0]), 1);
        ins->b = ref_node(b, per, z, 1);
        if (n->op == MG_SOFTMAX || n->op == MG_LOG_SOFTMAX) {
            if (MG_NODE(kids[1])->op != MG_EXPSUM)
                ins->flags |= MG_BI_NOT_EXPSUM;
            else  /* the expsum's max: its first aux number */
                ins->c = ref_to(b, per, p->node_shared[z], b->aux[z], 1);
            if (ins->c == INT32_MIN)
                return -1;
            if (n->op == MG_SOFTMAX && !(ins->flags & MG_BI_NOT_EXPSUM)) {
                /* the total's powers: the expsum's aux after the max and the exps */
                PyObject *const *exps_of;
                const int32_t after = b->aux[z] + 1 + (int32_t)mg_children(MG_NODE(kids[1]), &exps_of);
                ins->d = ref_to(b, per, p->node_shared[z], after, 1);
                ins->e = ref_to(b, per, p->node_shared[z], after + 1, 1);
                if (ins->d == INT32_MIN || ins->e == INT32_MIN)
                    return -1;
            }
        }
        return ins->a == INT32_MIN || ins->b == INT32_MIN ? -1 : 0;
    }
    case MG_CHILD_LIST:
        break;
    }
    if (grow((void **)&p->args_of, &b->args_cap, b->args_len + nk, sizeof(int32_t)) < 0)
        return -1;
    ins->args = (int32_t)b->args_len;
    ins->nargs = (int32_t)nk;
    if (nk > p->max_args)
        p->max_args = nk;
    for (j = 0; j < nk; j++) {
        /* a dot's operands and an embedding's table are read as numbers */
        const int array = !(n->op == MG_DOT || (n->op == MG_EMBED && j < nk - 1));
        int32_t r = ref_node(b, per, index_of(b, kids[j]), array);
        if (r == INT32_MIN)
            return -1;
        p->args_of[b->args_len++] = r;
    }
    if (n->op == MG_DOT) {
        ins->pairs = (int32_t)n->u.nary->pairs;
        ins->k = n->u.nary->start;
        if (nk > 2 * ins->pairs)
            ins->flags |= MG_BI_HAS_BIAS;
    } else if (n->op == MG_SUM) {
        ins->k = n->u.nary->start;
        if (n->flags & MG_START_IS_CHILD)
            ins->flags |= MG_BI_START_IS_CHILD;
    } else if (n->op == MG_RMS_SCALE) {
        ins->k = n->u.nary->rms.eps;
    }
    return 0;
}

/* A dot of a layer: every weight a lane (a shared number), every input
 * per-example. */
static int layer_dot(const mg_bprog *p, const mg_binstr *ins)
{
    const int32_t *r = p->args_of + ins->args;
    Py_ssize_t i;
    if (ins->op != MG_DOT)
        return 0;
    for (i = 0; i < ins->pairs; i++)
        if (r[i] >= 0 || r[ins->pairs + i] < 0)
            return 0;
    return 1;
}

/* Pairs each layer dot with the next unpaired one over the same inputs
 * within a window of the program (a layer's neurons lie a few instructions
 * apart: each dot's activation follows it): MG_BI_PAIR_FIRST. */
static void pair_layer_dots(mg_bprog *p)
{
    enum { WINDOW = 32 };
    Py_ssize_t i, j, t;
    for (i = 0; i < p->n_per_code; i++) {
        mg_binstr *a = &p->per[i];
        if ((a->flags & MG_BI_PAIR_SECOND) || !layer_dot(p, a))
            continue;
        for (j = i + 1; j < p->n_per_code && j <= i + WINDOW; j++) {
            mg_binstr *b = &p->per[j];
            int same = !(b->flags & MG_BI_PAIR_SECOND) && layer_dot(p, b) && a->pairs == b->pairs;
            for (t = 0; same && t < a->pairs; t++)
                same = p->args_of[a->args + a->pairs + t] == p->args_of[b->args + b->pairs + t];
            if (same) {
                a->flags |= MG_BI_PAIR_FIRST;
                a->pair = (int32_t)(j - i);
                b->flags |= MG_BI_PAIR_SECOND;
                break;
            }
        }
    }
}

/* How many aux numbers node n keeps (see batch_kernels.h). */
static Py_ssize_t aux_count(const mg_node *n)
{
    PyObject *const *kids;
    Py_ssize_t nk = mg_children(n, &kids);
    switch ((enum mg_op)n->op) {
    case MG_RMS_SCALE:
        return 1;           /* the mean square */
    case MG_EXPSUM:
        return 3 + nk;      /* the max, each exp, total ** -1 and ** -2 (its softmaxes') */
    case MG_SOFTMAX:
        return 1;           /* the numerator, exp(x - max) */
    case MG_NLL:
        return 2 + nk - 1;  /* the max, the total, each logit's exp */
    MG_BINARY_OPS(MG_OP_CASE)
    MG_UNARY_OPS(MG_OP_CASE)
    case MG_LEAF:
    case MG_CUSTOM:
    case MG_DOT:
    case MG_SUM:
    case MG_LOG_SOFTMAX:
    case MG_EMBED:
        return 0;
    }
    return 0;
}

void mg_bprog_free(mg_bprog *p)
{
    if (p == NULL)
        return;
    PyMem_Free(p->shared);
    PyMem_Free(p->per);
    PyMem_Free(p->args_of);
    PyMem_Free(p->lane_slot);
    PyMem_Free(p->array_lanes);
    PyMem_Free(p->lane_is_array);
    PyMem_Free(p->node_slot);
    PyMem_Free(p->node_shared);
    PyMem_Free(p->leaf_node);
    PyMem_Free(p->leaf_slot);
    PyMem_Free(p->input_slot);
    PyMem_Free(p->map_keys);
    PyMem_Free(p->map_index);
    PyMem_Free(p);
}

mg_bprog *mg_bprog_build(PyObject *const *order, Py_ssize_t n, PyObject *const *inputs,
                         Py_ssize_t n_in)
{
    builder b = {0};
    Py_ssize_t i, j, nk;
    PyObject *const *kids;
    mg_bprog *p = PyMem_Calloc(1, sizeof(mg_bprog));
    if (p == NULL)
        return NULL;
    b.p = p;
    p->n_nodes = n;
    p->root = n - 1;
    p->n_inputs = n_in;
    p->node_slot = PyMem_Malloc((size_t)(n + 1) * sizeof(int32_t));
    p->node_shared = PyMem_Malloc((size_t)(n + 1));
    p->leaf_node = PyMem_Malloc((size_t)(n + 1) * sizeof(Py_ssize_t));
    p->leaf_slot = PyMem_Malloc((size_t)(n + 1) * sizeof(int32_t));
    p->input_slot = PyMem_Malloc((size_t)(n_in + 1) * sizeof(int32_t));
    b.aux = PyMem_Malloc((size_t)(n + 1) * sizeof(int32_t));
    if (p->node_slot == NULL || p->node_shared == NULL || p->leaf_node == NULL
            || p->leaf_slot == NULL || p->input_slot == NULL || b.aux == NULL
            || build_map(p, order, n) < 0)
        goto fail;
    /* which nodes vary per example: the inputs, and whatever reads one */
    for (i = 0; i < n; i++)
        p->node_shared[i] = 1;
    for (j = 0; j < n_in; j++) {
        Py_ssize_t at = mg_bprog_find(p, inputs[j]);
        p->input_slot[j] = (int32_t)at;  /* an order index for now */
        if (at >= 0)
            p->node_shared[at] = 0;
    }
    for (i = 0; i < n; i++) {
        const mg_node *node = MG_NODE(order[i]);
        if (node->op == MG_LEAF || node->op == MG_CUSTOM)
            continue;  /* a taped custom node has no children: a leaf */
        nk = mg_children(node, &kids);
        for (j = 0; j < nk; j++)
            if (!p->node_shared[mg_bprog_find(p, kids[j])])
                p->node_shared[i] = 0;
    }
    /* slots, each node's aux right after it, in its own space */
    for (i = 0; i < n; i++) {
        Py_ssize_t *count = p->node_shared[i] ? &p->n_shared : &p->n_per;
        Py_ssize_t extra = aux_count(MG_NODE(order[i]));
        if (*count + 1 + extra > INT32_MAX / 2)
            goto fail;
        p->node_slot[i] = (int32_t)(*count)++;
        b.aux[i] = (int32_t)*count;
        *count += extra;
    }
    for (j = 0; j < n_in; j++)
        if (p->input_slot[j] >= 0)
            p->input_slot[j] = p->node_slot[p->input_slot[j]];
    b.lane_of = PyMem_Malloc((size_t)(p->n_shared + 1) * sizeof(int32_t));
    if (b.lane_of == NULL)
        goto fail;
    for (i = 0; i < p->n_shared; i++)
        b.lane_of[i] = -1;
    for (i = 0; i < n; i++) {
        int op = MG_NODE(order[i])->op;
        if (op == MG_LEAF || op == MG_CUSTOM) {
            if (p->node_shared[i]) {
                p->leaf_node[p->n_leaves] = i;
                p->leaf_slot[p->n_leaves++] = p->node_slot[i];
            }
            continue;
        }
        if (emit(&b, order, i) < 0)
            goto fail;
    }
    pair_layer_dots(p);
    p->array_lanes = PyMem_Malloc((size_t)(p->n_lanes + 1) * sizeof(int32_t));
    if (p->array_lanes == NULL)
        goto fail;
    for (i = 0; i < p->n_lanes; i++)
        if (b.as_array[i])
            p->array_lanes[p->n_array_lanes++] = (int32_t)i;
    p->lane_is_array = b.as_array;
    b.as_array = NULL;
    PyMem_Free(b.aux);
    PyMem_Free(b.lane_of);
    return p;
fail:
    PyMem_Free(b.aux);
    PyMem_Free(b.lane_of);
    PyMem_Free(b.as_array);
    mg_bprog_free(p);
    return NULL;
}

void mg_bprog_read_leaves(const mg_bprog *p, PyObject *const *order, double *sv)
{
    Py_ssize_t k;
    for (k = 0; k < p->n_leaves; k++)
        sv[p->leaf_slot[k]] = MG_NODE(order[p->leaf_node[k]])->data;
}

void mg_bprog_add_grads(const mg_bprog *p, PyObject *const *order, const double *sg,
                        double divisor)
{
    Py_ssize_t k;
    for (k = 0; k < p->n_leaves; k++) {
        const double g = sg[p->leaf_slot[k]];
        MG_NODE(order[p->leaf_node[k]])->grad += divisor == 1.0 ? g : g / divisor;
    }
}
