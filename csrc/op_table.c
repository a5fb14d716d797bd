#include "op_table.h"

const char *const mg_op_names[MG_NUM_OPS] = {
#define MG_OP_NAME(code, name, layout) name,
    MG_OP_TABLE(MG_OP_NAME)
#undef MG_OP_NAME
};

const unsigned char mg_op_layout[MG_NUM_OPS] = {
#define MG_OP_LAYOUT(code, name, layout) layout,
    MG_OP_TABLE(MG_OP_LAYOUT)
#undef MG_OP_LAYOUT
};
