#include "attributes.h"

/* Open addressing with linear probing, keyed by the Value's address; a
 * removal shifts later entries back, so there are no tombstones. Only the
 * GIL's holder touches it. */
typedef struct {
    PyObject *key;    /* the Value, not a reference */
    PyObject *attrs;  /* its dict, a strong reference */
} entry;

static entry *slots = NULL;
static size_t capacity = 0, used = 0;  /* capacity: 0 or a power of two */

static size_t home_of(PyObject *key, size_t mask)
{
    uintptr_t h = (uintptr_t)key >> 4;  /* objects are 16-byte aligned */
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 7) & mask;
}

static entry *find(PyObject *key)
{
    size_t i, mask = capacity - 1;
    if (capacity == 0)
        return NULL;
    for (i = home_of(key, mask); slots[i].key != NULL; i = (i + 1) & mask)
        if (slots[i].key == key)
            return &slots[i];
    return NULL;
}

static void insert(entry *table, size_t mask, PyObject *key, PyObject *attrs)
{
    size_t i = home_of(key, mask);
    while (table[i].key != NULL)
        i = (i + 1) & mask;
    table[i].key = key;
    table[i].attrs = attrs;
}

static int grow(void)
{
    size_t i, new_capacity = capacity ? 2 * capacity : 64;
    entry *table = PyMem_Calloc(new_capacity, sizeof(entry));
    if (table == NULL)
        return -1;
    for (i = 0; i < capacity; i++)
        if (slots[i].key != NULL)
            insert(table, new_capacity - 1, slots[i].key, slots[i].attrs);
    PyMem_Free(slots);
    slots = table;
    capacity = new_capacity;
    return 0;
}

PyObject *mg_attributes_of(PyObject *o)
{
    entry *e = find(o);
    return e ? e->attrs : NULL;
}

PyObject *mg_attributes_make(PyObject *o)
{
    PyObject *attrs = mg_attributes_of(o);
    if (attrs != NULL)
        return attrs;
    if (3 * (used + 1) > 2 * capacity && grow() < 0)
        return PyErr_NoMemory();
    attrs = PyDict_New();
    if (attrs == NULL)
        return NULL;
    insert(slots, capacity - 1, o, attrs);
    used++;
    return attrs;
}

PyObject *mg_attributes_take(PyObject *o)
{
    size_t mask = capacity - 1, hole, i;
    PyObject *attrs;
    entry *e = find(o);
    if (e == NULL)
        return NULL;
    attrs = e->attrs;
    /* backward-shift deletion: move up each later entry of the run that
     * may sit at the hole (its home is not cyclically in (hole, i]) */
    hole = (size_t)(e - slots);
    for (i = (hole + 1) & mask; slots[i].key != NULL; i = (i + 1) & mask) {
        size_t home = home_of(slots[i].key, mask);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            slots[hole] = slots[i];
            hole = i;
        }
    }
    slots[hole].key = NULL;
    slots[hole].attrs = NULL;
    used--;
    return attrs;
}
