#include "core/attributes.h"
#include "core/process_state.h"

/* Open addressing with linear probing, keyed by the Value's address; a
 * removal shifts later entries back, so there are no tombstones. The table
 * is process_state.h's mg_attribute_table. */
typedef struct mg_attribute_entry entry;

static size_t home_of(PyObject *key, size_t mask)
{
    uintptr_t h = (uintptr_t)key >> 4;  /* objects are 16-byte aligned */
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 7) & mask;
}

static entry *find(PyObject *key)
{
    size_t i, mask = mg_attribute_table.capacity - 1;
    if (mg_attribute_table.capacity == 0)
        return NULL;
    for (i = home_of(key, mask); mg_attribute_table.slots[i].key != NULL; i = (i + 1) & mask)
        if (mg_attribute_table.slots[i].key == key)
            return &mg_attribute_table.slots[i];
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
    size_t i, new_capacity = mg_attribute_table.capacity ? 2 * mg_attribute_table.capacity : 64;
    entry *table = PyMem_Calloc(new_capacity, sizeof(entry));
    if (table == NULL)
        return -1;
    for (i = 0; i < mg_attribute_table.capacity; i++) {
        const entry *e = &mg_attribute_table.slots[i];
        if (e->key != NULL)
            insert(table, new_capacity - 1, e->key, e->attrs);
    }
    PyMem_Free(mg_attribute_table.slots);
    mg_attribute_table.slots = table;
    mg_attribute_table.capacity = new_capacity;
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
    if (3 * (mg_attribute_table.used + 1) > 2 * mg_attribute_table.capacity && grow() < 0)
        return PyErr_NoMemory();
    attrs = PyDict_New();
    if (attrs == NULL)
        return NULL;
    insert(mg_attribute_table.slots, mg_attribute_table.capacity - 1, o, attrs);
    mg_attribute_table.used++;
    return attrs;
}

PyObject *mg_attributes_take(PyObject *o)
{
    size_t mask = mg_attribute_table.capacity - 1, hole, i;
    PyObject *attrs;
    entry *e = find(o);
    if (e == NULL)
        return NULL;
    attrs = e->attrs;
    /* backward-shift deletion: move up each later entry of the run that
     * may sit at the hole (its home is not cyclically in (hole, i]) */
    hole = (size_t)(e - mg_attribute_table.slots);
    for (i = (hole + 1) & mask; mg_attribute_table.slots[i].key != NULL; i = (i + 1) & mask) {
        size_t home = home_of(mg_attribute_table.slots[i].key, mask);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            mg_attribute_table.slots[hole] = mg_attribute_table.slots[i];
            hole = i;
        }
    }
    mg_attribute_table.slots[hole].key = NULL;
    mg_attribute_table.slots[hole].attrs = NULL;
    mg_attribute_table.used--;
    return attrs;
}
