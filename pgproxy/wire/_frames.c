/* A client's frames read in C, where every statement pays for reading them in Python:
 * what a request read in one piece is (wire/repeats.py's recognise: the first step of
 * every request answered at the wire) and a Bind's fields (wire/messages.py's
 * parse_bind: every extended-protocol statement). Built when a C compiler is at hand
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

/* parse_bind(body) -> Bind
 *
 * A well-formed Bind in a bytes object, read as messages._parse_bind reads it, made
 * into a Bind; anything else (a bytearray, a bad length, count or format code, a name
 * that is not UTF-8, bytes left over) is handed to messages._parse_bind itself, whose
 * error (or Bind) is this call's. Both are given by setup(Bind, _parse_bind). */
static PyObject *BIND, *FALLBACK;

static int read_u16(const unsigned char *s, Py_ssize_t n, Py_ssize_t *pos) {
    if (*pos + 2 > n)
        return -1;
    int v = (s[*pos] << 8) | s[*pos + 1];
    *pos += 2;
    return v;
}

/* A format-code list: a new list, or NULL with no error set for the fallback. */
static PyObject *read_formats(const unsigned char *s, Py_ssize_t n, Py_ssize_t *pos) {
    int count = read_u16(s, n, pos);
    if (count < 0 || *pos + 2 * (Py_ssize_t)count > n)
        return NULL;
    PyObject *codes = PyList_New(count);
    if (codes == NULL)
        return NULL;
    for (int i = 0; i < count; i++) {
        int code = (s[*pos] << 8) | s[*pos + 1];
        *pos += 2;
        if (code != 0 && code != 1) {
            Py_DECREF(codes);
            return NULL;
        }
        PyList_SET_ITEM(codes, i, PyLong_FromLong(code));  /* small ints: never fails */
    }
    return codes;
}

/* The name ending at the next NUL from *pos: a new str, or NULL (no error set) for the
 * fallback. */
static PyObject *read_name(const unsigned char *s, Py_ssize_t n, Py_ssize_t *pos) {
    const unsigned char *zero = memchr(s + *pos, 0, (size_t)(n - *pos));
    if (zero == NULL)
        return NULL;
    Py_ssize_t size = zero - (s + *pos);
    PyObject *name = PyUnicode_DecodeUTF8((const char *)s + *pos, size, NULL);
    if (name == NULL) {
        PyErr_Clear();
        return NULL;
    }
    *pos += size + 1;
    return name;
}

static PyObject *parse_bind(PyObject *self, PyObject *body) {
    (void)self;
    if (BIND == NULL || FALLBACK == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "parse_bind before setup()");
        return NULL;
    }
    if (!PyBytes_CheckExact(body))
        return PyObject_CallOneArg(FALLBACK, body);
    Py_ssize_t n = PyBytes_GET_SIZE(body), pos = 0;
    const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(body);
    PyObject *portal = NULL, *statement = NULL, *formats = NULL, *values = NULL,
             *results = NULL, *bind = NULL;
    if ((portal = read_name(s, n, &pos)) == NULL ||
        (statement = read_name(s, n, &pos)) == NULL ||
        (formats = read_formats(s, n, &pos)) == NULL)
        goto fallback;
    int count = read_u16(s, n, &pos);
    if (count < 0 || 4 * (Py_ssize_t)count > n - pos || (values = PyList_New(count)) == NULL)
        goto fallback;
    for (int i = 0; i < count; i++) {
        long length = (long)(int32_t)(((uint32_t)s[pos] << 24) | ((uint32_t)s[pos + 1] << 16) |
                                      ((uint32_t)s[pos + 2] << 8) | (uint32_t)s[pos + 3]);
        pos += 4;
        PyObject *value;
        if (length == -1) {
            value = Py_NewRef(Py_None);
        } else {
            if (length < 0 || pos + length > n)
                goto fallback;
            value = PyBytes_FromStringAndSize((const char *)s + pos, length);
            if (value == NULL)
                goto fallback;
            pos += length;
        }
        PyList_SET_ITEM(values, i, value);
        if (i + 1 < count && pos + 4 > n)
            goto fallback;
    }
    if ((results = read_formats(s, n, &pos)) == NULL || pos != n)
        goto fallback;
    PyObject *args[5] = {portal, statement, formats, values, results};
    bind = PyObject_Vectorcall(BIND, args, 5, NULL);
    goto done;
fallback:
    if (!PyErr_Occurred())  /* a malformed Bind: the fallback says how, as Python does */
        bind = PyObject_CallOneArg(FALLBACK, body);
done:
    Py_XDECREF(portal);
    Py_XDECREF(statement);
    Py_XDECREF(formats);
    Py_XDECREF(values);
    Py_XDECREF(results);
    return bind;
}

static PyObject *setup(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *bind, *fallback;
    if (!PyArg_ParseTuple(args, "OO", &bind, &fallback))
        return NULL;
    Py_XSETREF(BIND, Py_NewRef(bind));
    Py_XSETREF(FALLBACK, Py_NewRef(fallback));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"recognise", recognise, METH_O,
     "What a request read in one piece is (see wire/repeats.py's recognise)."},
    {"parse_bind", parse_bind, METH_O,
     "A Bind message's body read into a Bind (see wire/messages.py's parse_bind)."},
    {"setup", setup, METH_VARARGS, "setup(Bind, _parse_bind): what parse_bind makes and "
     "hands a malformed Bind to."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_frames", "A client's frames read in C.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__frames(void) {
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
