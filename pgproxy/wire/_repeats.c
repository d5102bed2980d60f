/* What a request read in one piece is, in C: the first step of every request answered
 * at the wire (wire/repeats.py's recognise, which a cache hit, an inline SQLite read and
 * a MariaDB read at the wire all take). Built when a C compiler is at hand
 * (pyproject.toml, optional); without it the same is done in Python.
 *
 * recognise(data) -> QUERY | (at, end, name_end, describe) | None
 *
 * Exactly as repeats.recognise reads it: QUERY for one whole Query message; for [a Parse
 * of the unnamed statement,] a Bind of the unnamed portal, [a Describe of that portal,]
 * an Execute with no row limit and a Sync: where the Bind starts (0: no Parse), where it
 * ends, where its statement name ends, and whether the portal is described. None for
 * anything else, a text longer than MAX_REQUEST or an object that is not exactly bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_REQUEST 1024

/* [Describe portal ""] Execute "" 0, Sync: what ends a request (repeats.py). */
static const char DESCRIBE_EXECUTE_SYNC[] =
    "D\x00\x00\x00\x06P\x00" "E\x00\x00\x00\x09\x00\x00\x00\x00\x00" "S\x00\x00\x00\x04";
#define DESCRIBE_SIZE 7
#define EXECUTE_SYNC_SIZE 15

static PyObject *QUERY;

static Py_ssize_t length_at(const unsigned char *s, Py_ssize_t at) {
    return ((Py_ssize_t)s[at] << 24) | ((Py_ssize_t)s[at + 1] << 16) |
           ((Py_ssize_t)s[at + 2] << 8) | (Py_ssize_t)s[at + 3];
}

static PyObject *recognise(PyObject *self, PyObject *data) {
    (void)self;
    if (!PyBytes_CheckExact(data))
        Py_RETURN_NONE;
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(data);
    if (n > MAX_REQUEST || n < 5)
        Py_RETURN_NONE;
    Py_ssize_t at = 0, end = 1 + length_at(s, 1);
    if (s[0] == 'Q') {
        if (end != n)
            Py_RETURN_NONE;
        Py_INCREF(QUERY);
        return QUERY;
    }
    if (s[0] == 'P') {  /* Parse of the unnamed statement, then its Bind */
        if (n < 6 || s[5] != 0 || end >= n || s[end] != 'B' || end + 5 > n)
            Py_RETURN_NONE;
        at = end;
        end = at + 1 + length_at(s, at + 1);
    } else if (s[0] != 'B') {
        Py_RETURN_NONE;
    }
    int describe;
    Py_ssize_t rest = n - end;
    if (rest == DESCRIBE_SIZE + EXECUTE_SYNC_SIZE &&
        memcmp(s + end, DESCRIBE_EXECUTE_SYNC, (size_t)rest) == 0)
        describe = 1;
    else if (rest == EXECUTE_SYNC_SIZE &&
             memcmp(s + end, DESCRIBE_EXECUTE_SYNC + DESCRIBE_SIZE, (size_t)rest) == 0)
        describe = 0;
    else
        Py_RETURN_NONE;
    if (s[at + 5] != 0)  /* a named portal */
        Py_RETURN_NONE;
    const unsigned char *zero =
        end > at + 6 ? memchr(s + at + 6, 0, (size_t)(end - at - 6)) : NULL;
    if (zero == NULL)
        Py_RETURN_NONE;
    return Py_BuildValue("(nnnO)", at, end, (Py_ssize_t)(zero - s),
                         describe ? Py_True : Py_False);
}

static PyMethodDef methods[] = {
    {"recognise", recognise, METH_O,
     "What a request read in one piece is (see wire/repeats.py's recognise)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_repeats", "What a request read in one piece is.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__repeats(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    QUERY = Py_BuildValue("(iiiO)", -1, 0, 0, Py_False);
    if (QUERY == NULL || PyModule_AddObjectRef(m, "QUERY", QUERY) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
