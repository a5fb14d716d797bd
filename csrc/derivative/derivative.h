/* grad(outputs, inputs, grad_outputs, create_graph): PyTorch's
 * torch.autograd.grad for the engine's scalars (micrograd_fast/grad_checks.py
 * has the argument rules; src/grad.pxi checks them and calls mg_grad).
 *
 * It reads and writes no node's grad: each node's adjoint (the sum over
 * outputs of seed * d output / d node) lives in arrays indexed by the node's
 * place in one topological order over all outputs (derivative_sweep.h).
 *   numbers (create_graph = 0): adjoints are doubles, accumulated in
 *     backward()'s order with backward()'s arithmetic, so one output seeded
 *     with 1.0 gives backward()'s bits (derivative_numbers.c);
 *   graph (create_graph = 1): adjoints are Values built from the engine's
 *     own ops, so they can be differentiated again (derivative_graph.c);
 *   hvp (tangents set): adjoints are pairs, each with its derivative along
 *     the tangents, the Hessian-vector product with no graph built
 *     (derivative_hvp.c).
 * Only nodes between the outputs and the inputs (reached from an output and
 * reaching an input) are swept: the others' adjoints are never needed.
 */
#ifndef MG_DERIVATIVE_H
#define MG_DERIVATIVE_H

#include <Python.h>

/* mg_grad's outcomes besides 0 (done) and -1 (a Python exception is set):
 * the refusals that grad_checks.py words, with the node in *bad. */
enum {
    MG_GRAD_CUSTOM_OP = 1,     /* a node with a Python _backward lies between */
    MG_GRAD_NUMBERS_ONLY = 2,  /* create_graph over a Value(data, children, local_grads) */
};

typedef struct mg_grad_request {
    PyObject *const *outputs;      /* Values (borrowed) */
    Py_ssize_t n_outputs;
    PyObject *const *seed_values;  /* per output: a Value seed, or NULL: its number */
    const double *seed_numbers;    /* per output, used where seed_values[k] is NULL */
    PyObject *const *inputs;       /* Values (borrowed); duplicates allowed */
    Py_ssize_t n_inputs;
    int create_graph;
    /* graph only: relu's and abs's slopes as this point's numbers, not step
     * and sign nodes, so a zero slope drops its term (a dead unit's whole
     * branch): the same derivatives here from a smaller graph, but not one
     * to tape and replay on other data (hessian's and hvp's, swept once) */
    int kinks_as_numbers;
    /* hvp: per input, its entry of v (NULL for grad). The output's Hessian
     * over the inputs (leaves) times v, by forward-over-reverse
     * (derivative_hvp.c): numbers, no graph built, kinks as numbers */
    const double *tangents;
} mg_grad_request;

/* Fills results[0..n_inputs) with new references: a fresh leaf holding the
 * number (numbers), or the adjoint's node (graph); NULL for an input no
 * output reaches. Returns 0, -1 with an exception, or a refusal above with a
 * new reference to the node in *bad. On anything but 0 every results[i] is
 * NULL and nothing the caller can see has changed. */
int mg_grad(const mg_grad_request *request, PyObject **results, PyObject **bad);

#endif
