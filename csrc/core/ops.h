/* Each op's forward (recompute the node's data from its children), local
 * chain rule (push the node's grad into its children) and local derivatives.
 * Eager ops, backward() and the tape all call these, so the three can never
 * disagree. The elementwise cases are generated from op_table.h's rows; the
 * fused ops' are fused.h's, a custom op's the user's. */
#ifndef MG_OPS_H
#define MG_OPS_H

#include "ops/float_math.h"
#include "core/fused.h"

/* An elementwise op's first child (MG_POW's base) and the second operand's
 * data (the second child's, or MG_POW's exponent). The layout is a constant
 * in each generated case, so the choice costs nothing. */
static inline mg_node *mg_first_child(const mg_node *n, int layout)
{
    return MG_NODE(layout == MG_BASE_AND_EXPONENT ? n->u.pow.base : n->u.kids[0]);
}

static inline double mg_second_operand(const mg_node *n, int layout)
{
    return layout == MG_BASE_AND_EXPONENT ? n->u.pow.exponent : MG_NODE(n->u.kids[1])->data;
}

/* The names a row's expressions use (op_table.h): a, b, out (the node's
 * data, in the derivatives) and err (&status, declared by each function).
 * Not every row reads every one. */
#define MG_OPERAND_A(layout)                                                        \
    mg_node *const first = mg_first_child(node, layout);                            \
    const double a = first->data;                                                   \
    (void)a
#define MG_OPERANDS_A_B(layout)                                                     \
    MG_OPERAND_A(layout);                                                           \
    const double b = mg_second_operand(node, layout);                               \
    (void)b
#define MG_RESULT                                                                   \
    const double out = node->data;                                                  \
    (void)out

#define MG_FORWARD_BINARY(code, name, layout, forward, local_a, local_b)           \
    case code: {                                                                    \
        MG_OPERANDS_A_B(layout);                                                    \
        r = (forward);                                                              \
        goto computed;                                                              \
    }
#define MG_FORWARD_UNARY(code, name, layout, forward, local_a, doc)                \
    case code: {                                                                    \
        MG_OPERAND_A(layout);                                                       \
        r = (forward);                                                              \
        goto computed;                                                              \
    }
/* Returns MG_OK, or an error code with the node's data unchanged. */
static inline int mg_forward(mg_node *node)
{
    int status = MG_OK, *const err = &status;
    double r;
    switch ((enum mg_op)node->op) {
    MG_BINARY_OPS(MG_FORWARD_BINARY)
    MG_UNARY_OPS(MG_FORWARD_UNARY)
    MG_FUSED_OPS(MG_OP_CASE)
        status = mg_fused_forward(node, &r);
        goto computed;
    case MG_LEAF:
    case MG_CUSTOM:  /* they keep the data they were given */
        return MG_OK;
    }
    return MG_ERR_NO_CASE;  /* a code outside the table */
computed:
    if (status == MG_OK)
        node->data = r;
    return status;
}

/* microgpt's chain rule, child.grad += local * g with g the node's grad,
 * applied once every local is known: an error changes no grad. The grad of
 * child j is MG_CHILD_GRAD(j), which the code expanding the rows defines at
 * the switch (backward()'s below: the children's .grad; grad()'s sweep in
 * derivative_numbers.c: its adjoints), so the rule is written once. */
#define MG_CHAIN_RULE_BINARY(code, name, layout, forward, local_a, local_b)        \
    case code: {                                                                    \
        MG_OPERANDS_A_B(layout);                                                    \
        MG_RESULT;                                                                  \
        const double d_a = (local_a), d_b = (local_b);                              \
        if (status != MG_OK)                                                        \
            return status;                                                          \
        MG_CHILD_GRAD(0) += d_a * g;                                                \
        if (layout == MG_TWO_CHILDREN)                                              \
            MG_CHILD_GRAD(1) += d_b * g;                                            \
        return MG_OK;                                                               \
    }
#define MG_CHAIN_RULE_UNARY(code, name, layout, forward, local_a, doc)             \
    case code: {                                                                    \
        MG_OPERAND_A(layout);                                                       \
        MG_RESULT;                                                                  \
        const double d_a = (local_a);                                               \
        if (status != MG_OK)                                                        \
            return status;                                                          \
        MG_CHILD_GRAD(0) += d_a * g;                                                \
        return MG_OK;                                                               \
    }

/* Returns MG_OK, or an error code with no grad changed by this node. */
static inline int mg_backward_local(mg_node *node)
{
    int status = MG_OK, *const err = &status;
    const double g = node->grad;
#define MG_CHILD_GRAD(j) ((j) == 0 ? first : MG_NODE(node->u.kids[1]))->grad
    switch ((enum mg_op)node->op) {
    MG_BINARY_OPS(MG_CHAIN_RULE_BINARY)
    MG_UNARY_OPS(MG_CHAIN_RULE_UNARY)
    MG_FUSED_OPS(MG_OP_CASE)
        return mg_fused_backward(node);
    case MG_CUSTOM: {
        const mg_nary *e = node->u.nary;
        PyObject *fn = e ? e->backward : NULL, *r;
        Py_ssize_t i;
        if (fn != NULL) {  /* micrograd's way: the user's closure */
            Py_INCREF(fn);  /* the closure may replace itself while it runs */
            r = PyObject_CallNoArgs(fn);
            Py_DECREF(fn);
            if (r == NULL)
                return MG_ERR_PYTHON;
            Py_DECREF(r);
        } else if (e != NULL && e->local_grads != NULL) {  /* microgpt's way */
            for (i = 0; i < e->count; i++)
                MG_NODE(e->children[i])->grad
                    += PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(e->local_grads, i)) * g;
        }
        return MG_OK;
    }
    case MG_LEAF:
        return MG_OK;
    }
    return MG_ERR_NO_CASE;
}

#define MG_LOCAL_GRADS_BINARY(code, name, layout, forward, local_a, local_b)       \
    case code: {                                                                    \
        MG_OPERANDS_A_B(layout);                                                    \
        MG_RESULT;                                                                  \
        d[0] = (local_a);                                                           \
        if (layout == MG_TWO_CHILDREN)                                              \
            d[1] = (local_b);                                                       \
        return status;                                                              \
    }
#define MG_LOCAL_GRADS_UNARY(code, name, layout, forward, local_a, doc)            \
    case code: {                                                                    \
        MG_OPERAND_A(layout);                                                       \
        MG_RESULT;                                                                  \
        d[0] = (local_a);                                                           \
        return status;                                                              \
    }

/* The derivative of the node with respect to each of its children, at the
 * children's current data, into d[0..count): what microgpt's Value keeps as
 * _local_grads, the locals mg_backward_local applies. Returns MG_OK or an
 * error code; a custom op's are its own (value.pxi), a leaf has none. */
static inline int mg_local_grads(const mg_node *node, double *d)
{
    int status = MG_OK, *const err = &status;
    switch ((enum mg_op)node->op) {
    MG_BINARY_OPS(MG_LOCAL_GRADS_BINARY)
    MG_UNARY_OPS(MG_LOCAL_GRADS_UNARY)
    MG_FUSED_OPS(MG_OP_CASE)
        return mg_fused_local_grads(node, d);
    case MG_LEAF:
    case MG_CUSTOM:
        return MG_OK;
    }
    return MG_ERR_NO_CASE;
}

#endif
