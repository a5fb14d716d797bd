/* Undefines op_table.h's vocabulary of local derivatives (D_A ... D_IF), so
 * that a file can read the rows in words of its own: derivative_rules.c as
 * nodes, derivative_hvp.c as dual numbers. No include guard: it is meant to
 * be included again. */
#undef D_A
#undef D_B
#undef D_OUT
#undef D_NUM
#undef D_ADD
#undef D_SUB
#undef D_MUL
#undef D_NEG
#undef D_DIV
#undef D_POW
#undef D_POWV
#undef D_LOG
#undef D_SIN
#undef D_COS
#undef D_STEP
#undef D_SIGN
#undef D_IF
