/* Statement events' JSON, a batch at a time: the one step of the observers that
 * costs per event what the statement path itself costs (pgproxy/observers/watch.py,
 * _statement_events). Built when a C compiler is at hand (pyproject.toml,
 * optional); without it the same JSON is made in Python.
 *
 * json(head, between_id_and_time, before_duration, first_id, nows, offset,
 *      seconds, rests) -> list[bytes] | None
 *
 * Event k: head, first_id + k, between_id_and_time, the Unix time nows[k] + offset
 * in microseconds, before_duration, seconds[k] in milliseconds to the microsecond,
 * then rests[k] (or `rests` itself, one bytes for every event). The numbers are
 * written as Python's repr writes round(x * 1e6) / 1e6 and round(x * 1e6) / 1000:
 * None when one is outside the range where that is plain fixed-point (the caller
 * then makes the batch in Python).
 *
 * dicts(prefix, first_id, nows, offset, seconds, kept) -> list[dict]
 *
 * Event k's fields for a subscriber that takes dicts: a copy of kept[k] (or of `kept`,
 * one dict for every event) with "id" prefix + str(first_id + k), "time" and
 * "duration_ms" the numbers json() writes, and "tables" a copy of its list.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

/* Microsecond counts whose fixed-point text is repr's of the count / 1e6 (a time) or
 * / 1000 (a duration): the spacing of doubles there is under half the last digit's
 * unit, so no shorter decimal names the same double (and no exponent form). */
#define MAX_TIME_US 4503599627370496.0 /* 2**52: a time before 2112 */
#define MAX_DURATION_US 8796093022208.0 /* 2**43: a duration under 101 days */

static const char PAIRS[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static char *put_int(char *p, unsigned long long v) {
    char digits[24];
    char *d = digits + sizeof digits;
    while (v >= 100) {  /* two digits a step: a fifth of the time a digit a step takes */
        unsigned long long q = v / 100;
        d -= 2;
        memcpy(d, PAIRS + 2 * (v - q * 100), 2);
        v = q;
    }
    if (v >= 10) {
        d -= 2;
        memcpy(d, PAIRS + 2 * v, 2);
    } else {
        *--d = (char)('0' + v);
    }
    size_t n = (size_t)(digits + sizeof digits - d);
    memcpy(p, d, n);
    return p + n;
}

/* us / 10**places (6: a time, 3: a duration) as repr prints it: the fraction's
 * trailing zeros dropped, one kept. */
static char *put_fixed(char *p, long long us, int places) {
    if (us < 0) {
        *p++ = '-';
        us = -us;
    }
    unsigned long long whole, frac;
    char digits[6];
    if (places == 6) {
        whole = (unsigned long long)us / 1000000, frac = (unsigned long long)us % 1000000;
        memcpy(digits, PAIRS + 2 * (frac / 10000), 2);
        memcpy(digits + 2, PAIRS + 2 * (frac / 100 % 100), 2);
        memcpy(digits + 4, PAIRS + 2 * (frac % 100), 2);
    } else {
        whole = (unsigned long long)us / 1000, frac = (unsigned long long)us % 1000;
        digits[0] = (char)('0' + frac / 100);
        memcpy(digits + 1, PAIRS + 2 * (frac % 100), 2);
    }
    p = put_int(p, whole);
    *p++ = '.';
    int n = places;
    while (n > 1 && digits[n - 1] == '0') n--;
    memcpy(p, digits, (size_t)n);
    return p + n;
}

/* rint((x + offset) * 1e6) when its fixed-point text is repr's; else -1 (x is not a
 * float, or out of range: below `low` repr writes an exponent). */
static int micros(PyObject *x, double offset, long long *out, double low, double high) {
    if (!PyFloat_CheckExact(x)) return -1;
    double us = rint((PyFloat_AS_DOUBLE(x) + offset) * 1e6);
    if (!(fabs(us) < high) || (us != 0.0 && fabs(us) < low)) return -1;
    *out = (long long)us;
    return 0;
}

/* What json() and dicts() both take: the first id, the offset to Unix time, and the
 * columns beside `nows` (seconds, and the per-event pieces: a list of the same length,
 * or one object of type `one_type` for every event). 0, or -1 with the error set. */
static int batch_args(const char *name, PyObject *first_obj, PyObject *offset_obj,
                      PyObject *nows, PyObject *seconds, PyObject *pieces,
                      PyTypeObject *one_type, unsigned long long *first, double *offset,
                      int *one) {
    *first = PyLong_AsUnsignedLongLong(first_obj);
    if (*first == (unsigned long long)-1 && PyErr_Occurred()) return -1;
    *offset = PyFloat_AsDouble(offset_obj);
    if (*offset == -1.0 && PyErr_Occurred()) return -1;
    Py_ssize_t n = PyList_GET_SIZE(nows);
    *one = Py_IS_TYPE(pieces, one_type);
    if (PyList_GET_SIZE(seconds) != n ||
        (!*one && (!PyList_CheckExact(pieces) || PyList_GET_SIZE(pieces) != n))) {
        PyErr_Format(PyExc_ValueError, "%s(): columns of different lengths", name);
        return -1;
    }
    return 0;
}

static PyObject *json(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "json() takes 8 arguments");
        return NULL;
    }
    PyObject *head = args[0], *mid = args[1], *dur = args[2], *nows = args[4],
             *seconds = args[6], *rests = args[7];
    if (!PyBytes_CheckExact(head) || !PyBytes_CheckExact(mid) || !PyBytes_CheckExact(dur) ||
        !PyList_CheckExact(nows) || !PyList_CheckExact(seconds)) {
        PyErr_SetString(PyExc_TypeError, "json(): bytes, bytes, bytes, int, list, float, "
                                         "list, list or bytes");
        return NULL;
    }
    unsigned long long first;
    double offset;
    int one_rest;
    if (batch_args("json", args[3], args[5], nows, seconds, rests, &PyBytes_Type, &first,
                   &offset, &one_rest) < 0)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(nows);
    Py_ssize_t lh = PyBytes_GET_SIZE(head), lm = PyBytes_GET_SIZE(mid),
               ld = PyBytes_GET_SIZE(dur);
    const char *ph = PyBytes_AS_STRING(head), *pm = PyBytes_AS_STRING(mid),
               *pd = PyBytes_AS_STRING(dur);
    PyObject *out = PyList_New(n);
    if (out == NULL) return NULL;
    char numbers[128];
    for (Py_ssize_t k = 0; k < n; k++) {
        long long t, d;
        PyObject *rest = one_rest ? rests : PyList_GET_ITEM(rests, k);
        if (micros(PyList_GET_ITEM(nows, k), offset, &t, 100.0, MAX_TIME_US) < 0 ||
            micros(PyList_GET_ITEM(seconds, k), 0.0, &d, 0.1, MAX_DURATION_US) < 0 ||
            !PyBytes_CheckExact(rest)) {
            Py_DECREF(out);
            Py_RETURN_NONE;
        }
        char *id_end = put_int(numbers, first + (unsigned long long)k);
        char *time_end = put_fixed(id_end, t, 6);
        char *ms_end = put_fixed(time_end, d, 3);
        Py_ssize_t li = id_end - numbers, lt = time_end - id_end, lms = ms_end - time_end;
        Py_ssize_t lr = PyBytes_GET_SIZE(rest);
        PyObject *event = PyBytes_FromStringAndSize(NULL, lh + li + lm + lt + ld + lms + lr);
        if (event == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        char *p = PyBytes_AS_STRING(event);
        memcpy(p, ph, (size_t)lh), p += lh;
        memcpy(p, numbers, (size_t)li), p += li;
        memcpy(p, pm, (size_t)lm), p += lm;
        memcpy(p, id_end, (size_t)lt), p += lt;
        memcpy(p, pd, (size_t)ld), p += ld;
        memcpy(p, time_end, (size_t)lms), p += lms;
        memcpy(p, PyBytes_AS_STRING(rest), (size_t)lr);
        PyList_SET_ITEM(out, k, event);
    }
    return out;
}

/* The fields dicts() sets, interned once (their hashes kept). */
static PyObject *ID_KEY, *TIME_KEY, *DURATION_KEY, *TABLES_KEY;

/* An event's id: an ASCII prefix and its number, written straight into a new str
 * (PyUnicode_FromFormat's vsprintf was a third of each dict's making). */
static PyObject *ascii_id(PyObject *prefix, unsigned long long number) {
    char digits[24];
    Py_ssize_t lp = PyUnicode_GET_LENGTH(prefix), ln = put_int(digits, number) - digits;
    PyObject *id = PyUnicode_New(lp + ln, 127);
    if (id == NULL) return NULL;
    memcpy(PyUnicode_1BYTE_DATA(id), PyUnicode_1BYTE_DATA(prefix), (size_t)lp);
    memcpy(PyUnicode_1BYTE_DATA(id) + lp, digits, (size_t)ln);
    return id;
}

static PyObject *dicts(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 6 || !PyUnicode_CheckExact(args[0]) || !PyList_CheckExact(args[2]) ||
        !PyList_CheckExact(args[4])) {
        PyErr_SetString(PyExc_TypeError, "dicts(str, int, list, float, list, list or dict)");
        return NULL;
    }
    PyObject *prefix = args[0], *nows = args[2], *seconds = args[4], *kept = args[5];
    unsigned long long first;
    double offset;
    int one;
    if (batch_args("dicts", args[1], args[3], nows, seconds, kept, &PyDict_Type, &first,
                   &offset, &one) < 0)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(nows);
    int ascii = PyUnicode_IS_ASCII(prefix);  /* (the boot prefix's hex always is) */
    PyObject *out = PyList_New(n);
    if (out == NULL) return NULL;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *now = PyList_GET_ITEM(nows, k), *took = PyList_GET_ITEM(seconds, k);
        PyObject *source = one ? kept : PyList_GET_ITEM(kept, k);
        if (!PyFloat_CheckExact(now) || !PyFloat_CheckExact(took) || !PyDict_CheckExact(source)) {
            PyErr_SetString(PyExc_TypeError, "dicts(): float times and dict fields");
            goto failed;
        }
        PyObject *d = PyDict_Copy(source);
        if (d == NULL) goto failed;
        PyList_SET_ITEM(out, k, d);
        double at = rint((PyFloat_AS_DOUBLE(now) + offset) * 1e6) / 1e6;
        double ms = rint(PyFloat_AS_DOUBLE(took) * 1e6) / 1000;
        PyObject *tables = PyDict_GetItemWithError(source, TABLES_KEY);  /* borrowed */
        PyObject *id = ascii ? ascii_id(prefix, first + (unsigned long long)k)
                             : PyUnicode_FromFormat("%U%llu", prefix, first + (unsigned long long)k);
        PyObject *time = PyFloat_FromDouble(at), *duration = PyFloat_FromDouble(ms);
        PyObject *copy = tables != NULL && PyList_CheckExact(tables)
                             ? PyList_GetSlice(tables, 0, PyList_GET_SIZE(tables)) : NULL;
        int rc = id == NULL || time == NULL || duration == NULL ||
                 (tables != NULL && PyList_CheckExact(tables) && copy == NULL) ||
                 PyDict_SetItem(d, ID_KEY, id) < 0 || PyDict_SetItem(d, TIME_KEY, time) < 0 ||
                 PyDict_SetItem(d, DURATION_KEY, duration) < 0 ||
                 (copy != NULL && PyDict_SetItem(d, TABLES_KEY, copy) < 0);
        Py_XDECREF(id);
        Py_XDECREF(time);
        Py_XDECREF(duration);
        Py_XDECREF(copy);
        if (rc) goto failed;
    }
    return out;
failed:
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"dicts", (PyCFunction)(void (*)(void))dicts, METH_FASTCALL,
     "The fields of a batch of statement events, a dict each (see the module's source)."},
    {"json", (PyCFunction)(void (*)(void))json, METH_FASTCALL,
     "The JSON of a batch of statement events (see the module's source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_statements", "Statement events' JSON, a batch at a time.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__statements(void) {
    ID_KEY = PyUnicode_InternFromString("id");
    TIME_KEY = PyUnicode_InternFromString("time");
    DURATION_KEY = PyUnicode_InternFromString("duration_ms");
    TABLES_KEY = PyUnicode_InternFromString("tables");
    if (!ID_KEY || !TIME_KEY || !DURATION_KEY || !TABLES_KEY) return NULL;
    return PyModule_Create(&module);
}
