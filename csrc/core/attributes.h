/* Instance attributes of Values (a lecture's `label`, anything a user sets),
 * kept outside the object: a Value has no __dict__ pointer, so an ordinary
 * node stays 80 bytes with a __weakref__ slot. A table maps each Value that
 * has attributes (the MG_HAS_ATTRIBUTES flag) to its attribute dict.
 *
 * For the cyclic GC the dict belongs to its Value: the table's reference is
 * the Value's, visited by the Value's tp_traverse and dropped by its
 * tp_clear and dealloc; the table itself is no container the GC sees. */
#ifndef MG_ATTRIBUTES_H
#define MG_ATTRIBUTES_H

#include <Python.h>

/* o's attribute dict (borrowed), or NULL if it has none. */
PyObject *mg_attributes_of(PyObject *o);

/* o's attribute dict (borrowed), made if it has none; NULL with an
 * exception if out of memory. The caller sets the flag and GC-tracks o. */
PyObject *mg_attributes_make(PyObject *o);

/* Removes o's attribute dict from the table and returns the reference the
 * table held (the caller drops it), or NULL if it had none. */
PyObject *mg_attributes_take(PyObject *o);

#endif
