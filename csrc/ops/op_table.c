#include <ctype.h>
#include "ops/op_table.h"

const char *const mg_op_names[MG_NUM_OPS] = {
#define MG_OP_NAME(code, name, ...) name,
    MG_OP_TABLE(MG_OP_NAME)
#undef MG_OP_NAME
};

const unsigned char mg_op_layout[MG_NUM_OPS] = {
#define MG_OP_LAYOUT(code, name, layout, ...) layout,
    MG_OP_TABLE(MG_OP_LAYOUT)
#undef MG_OP_LAYOUT
};

/* The codes' own spelling, "MG_LOG_SOFTMAX", from which the ids are made:
 * the preprocessor can quote a name but not lowercase it. */
static const char *const code_names[MG_NUM_OPS] = {
#define MG_OP_CODE_NAME(code, ...) #code,
    MG_OP_TABLE(MG_OP_CODE_NAME)
#undef MG_OP_CODE_NAME
};

#define ID_SIZE 32
static char id_text[MG_NUM_OPS][ID_SIZE];  /* written once, at import */
const char *mg_op_ids[MG_NUM_OPS];

int mg_op_table_ready(void)
{
    int op;
    for (op = 0; op < MG_NUM_OPS; op++) {
        const char *from = code_names[op] + 3;  /* past "MG_" */
        size_t i, n = strlen(from);
        if (n >= ID_SIZE) {
            PyErr_Format(PyExc_ImportError, "micrograd_fast._engine: op code %s is too long",
                         code_names[op]);
            return -1;
        }
        for (i = 0; i <= n; i++)
            id_text[op][i] = (char)tolower((unsigned char)from[i]);
        mg_op_ids[op] = id_text[op];
    }
    return 0;
}

static PyObject *ids_of(const int *codes, Py_ssize_t n)
{
    PyObject *ids = PyTuple_New(n), *id;
    Py_ssize_t i;
    if (ids == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        id = PyUnicode_FromString(mg_op_ids[codes[i]]);
        if (id == NULL) {
            Py_DECREF(ids);
            return NULL;
        }
        PyTuple_SET_ITEM(ids, i, id);
    }
    return ids;
}

#define MG_OP_CODE_ITEM(code, ...) code,

PyObject *mg_computing_op_ids(void)
{
    static const int codes[] = {MG_BINARY_OPS(MG_OP_CODE_ITEM) MG_UNARY_OPS(MG_OP_CODE_ITEM)
                                MG_FUSED_OPS(MG_OP_CODE_ITEM)};
    return ids_of(codes, sizeof(codes) / sizeof(codes[0]));
}

PyObject *mg_unary_op_ids(void)
{
    static const int codes[] = {MG_UNARY_OPS(MG_OP_CODE_ITEM)};
    return ids_of(codes, sizeof(codes) / sizeof(codes[0]));
}
