/* DataRow messages of a batch of rows, in C: the proxy's per-row work (pgproxy/types/rows.py).
 * Built when a C compiler is at hand (pyproject.toml, optional); without it the
 * generated Python encoder does the same.
 *
 * encode(rows, kinds, slow) -> bytes | None
 *
 * rows: a list or tuple of rows, each a tuple or list of len(kinds) values.
 * kinds: one byte per column, its fast path (rows.py's _kind): 'i' int in text,
 * 's' str in either format, 'f' float8 in text, 't' timestamp in text, 'b' bool in
 * text, 'd' date in text, 'a' any other; for binary fixed widths 'h' int2, 'l' int4, 'q' int8,
 * 'D' float8, 'T' timestamp (from its text). slow: per column, a function of one value returning its length
 * prefix and bytes (None: NULL) made from the same Python source as the generated
 * encoder's, called for every value this file has no fast path for: the bytes
 * are the generated encoder's, byte for byte, errors included. None: a batch this
 * does not take (not lists or tuples, a row of another length, a row over 2 GB),
 * which the caller hands to the generated encoder.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    char *data;
    Py_ssize_t size, cap;
} Out;

static int grow(Out *out, Py_ssize_t more) {
    if (out->size + more <= out->cap) return 0;
    Py_ssize_t cap = out->cap ? out->cap : 4096;
    while (cap < out->size + more) cap *= 2;
    char *data = PyMem_Realloc(out->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    out->data = data;
    out->cap = cap;
    return 0;
}

static void put32(char *p, uint32_t v) {
    p[0] = (char)(v >> 24), p[1] = (char)(v >> 16), p[2] = (char)(v >> 8), p[3] = (char)v;
}

static int put(Out *out, const char *data, Py_ssize_t n) {
    if (grow(out, 4 + n) < 0) return -1;
    put32(out->data + out->size, (uint32_t)n);
    memcpy(out->data + out->size + 4, data, (size_t)n);
    out->size += 4 + n;
    return 0;
}

static int put_null(Out *out) {
    if (grow(out, 4) < 0) return -1;
    memset(out->data + out->size, 0xff, 4);
    out->size += 4;
    return 0;
}

/* The slow path's bytes (length prefix included; None: NULL) appended. */
static int put_slow(Out *out, PyObject *slow, PyObject *v) {
    PyObject *got = PyObject_CallOneArg(slow, v);
    if (got == NULL) return -1;
    int rc;
    if (got == Py_None) {
        rc = put_null(out);
    } else if (!PyBytes_Check(got)) {
        PyErr_SetString(PyExc_TypeError, "a column's slow path returned no bytes");
        rc = -1;
    } else {
        Py_ssize_t n = PyBytes_GET_SIZE(got);
        rc = grow(out, n);
        if (rc == 0) {
            memcpy(out->data + out->size, PyBytes_AS_STRING(got), (size_t)n);
            out->size += n;
        }
    }
    Py_DECREF(got);
    return rc;
}

static int put_int(Out *out, long long v) {
    char digits[24];
    char *d = digits + sizeof digits;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--d = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--d = '-';
    return put(out, d, digits + sizeof digits - d);
}

/* A timestamp's text that is PostgreSQL's already (rows.py's "timestamp" fast path):
 * 'YYYY-MM-DD HH:MM:SS', or with a fraction of 1 to 6 digits not ending in 0. */
static int plain_timestamp(const char *s, Py_ssize_t n) {
    if (n == 19) return s[10] == ' ';
    if (n < 21 || n >= 27 || s[19] != '.' || s[10] != ' ' || s[n - 1] == '0') return 0;
    for (Py_ssize_t k = 20; k < n; k++)
        if (s[k] < '0' || s[k] > '9') return 0;
    return 1;
}

static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9') return -1;
        v = v * 10 + (s[k] - '0');
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long long civil_days(int y, int m, int d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* A timestamp's binary value (microseconds since 2000-01-01) from the text a backend
 * keeps, 'YYYY-MM-DD HH:MM:SS' with a fraction of 1 to 6 digits or none, a valid date and
 * time of years 1 to 9999: what datetime.fromisoformat reads it as. 0: not that text (the
 * slow path reads it). */
static int timestamp_micros(const char *s, Py_ssize_t n, long long *out) {
    int y, mo, d, h, mi, sec, frac = 0;
    if (n < 19 || n == 20 || n > 26 || s[4] != '-' || s[7] != '-' || s[10] != ' ' ||
        s[13] != ':' || s[16] != ':' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
        digits(s + 8, 2, &d) || digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
        digits(s + 17, 2, &sec))
        return 0;
    if (n > 19) {
        if (s[19] != '.' || digits(s + 20, (int)(n - 20), &frac)) return 0;
        for (Py_ssize_t k = n; k < 26; k++) frac *= 10;
    }
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] + (mo == 2 && leap) ||
        h > 23 || mi > 59 || sec > 59)
        return 0;
    long long days = civil_days(y, mo, d) - 10957; /* 1970 -> 2000 */
    *out = ((days * 24 + h) * 60 + mi) * 60000000LL + sec * 1000000LL + frac;
    return 1;
}

/* A naive datetime's fields, as datetime.isoformat(' ') writes them: the fraction's
 * trailing zeros dropped (rows.py's "timestamp" fast path), none when it is 0. */
static int put_datetime_text(Out *out, PyObject *v) {
    char text[32];
    int us = PyDateTime_DATE_GET_MICROSECOND(v);
    int n = snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d",
                     PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v),
                     PyDateTime_DATE_GET_HOUR(v), PyDateTime_DATE_GET_MINUTE(v),
                     PyDateTime_DATE_GET_SECOND(v));
    if (us) {
        n += snprintf(text + n, sizeof text - (size_t)n, ".%06d", us);
        while (text[n - 1] == '0') n--;
    }
    return put(out, text, n);
}

/* One value by its column's fast path: 0 done, 1 not taken (the slow path's), -1 error. */
static int fast(Out *out, char kind, PyObject *v) {
    if (v == Py_None) return put_null(out);
    switch (kind) {
    case 'i':
        if (PyLong_CheckExact(v)) {
            int overflow;
            long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
            if (!overflow && !(x == -1 && PyErr_Occurred())) return put_int(out, x);
            PyErr_Clear();
        }
        return 1;
    case 's':
        if (PyUnicode_CheckExact(v)) {
            Py_ssize_t n;
            const char *s = PyUnicode_AsUTF8AndSize(v, &n);
            if (s != NULL) return put(out, s, n);
            PyErr_Clear(); /* a lone surrogate: the slow path raises as Python does */
        }
        return 1;
    case 't':
        if (PyUnicode_CheckExact(v) && PyUnicode_IS_ASCII(v)) {
            const char *s = (const char *)PyUnicode_DATA(v);
            Py_ssize_t n = PyUnicode_GET_LENGTH(v);
            if (plain_timestamp(s, n)) return put(out, s, n);
        } else if (PyDateTime_CheckExact(v) && PyDateTime_DATE_GET_TZINFO(v) == Py_None) {
            return put_datetime_text(out, v);
        }
        return 1;
    case 'd':
        if (PyDate_CheckExact(v)) {
            char text[16];
            int n = snprintf(text, sizeof text, "%04d-%02d-%02d", PyDateTime_GET_YEAR(v),
                             PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v));
            return put(out, text, n);
        }
        return 1;
    case 'f':
        if (PyFloat_CheckExact(v)) {
            double x = PyFloat_AS_DOUBLE(v);
            if (-1e15 < x && x < 1e15) {
                char *s = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
                if (s == NULL) return -1;
                size_t n = strlen(s);
                if (n >= 2 && s[n - 2] == '.' && s[n - 1] == '0') n -= 2;
                int rc = put(out, s, (Py_ssize_t)n);
                PyMem_Free(s);
                return rc;
            }
        }
        return 1;
    case 'b':
        if (v == Py_True) return put(out, "t", 1);
        if (v == Py_False) return put(out, "f", 1);
        return 1;
    case 'h': case 'l': case 'q':
        if (PyLong_CheckExact(v)) {
            int overflow;
            long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
            if (overflow || (x == -1 && PyErr_Occurred())) {
                PyErr_Clear();
                return 1; /* out of range: the slow path raises as Python does */
            }
            char b[8];
            if (kind == 'h') {
                if (x < -32768 || x > 32767) return 1;
                b[0] = (char)(x >> 8), b[1] = (char)x;
                return put(out, b, 2);
            }
            if (kind == 'l') {
                if (x < INT32_MIN || x > INT32_MAX) return 1;
                put32(b, (uint32_t)x);
                return put(out, b, 4);
            }
            put32(b, (uint32_t)((unsigned long long)x >> 32));
            put32(b + 4, (uint32_t)x);
            return put(out, b, 8);
        }
        return 1;
    case 'T': {
        long long us;
        if (PyUnicode_CheckExact(v) && PyUnicode_IS_ASCII(v)) {
            if (!timestamp_micros((const char *)PyUnicode_DATA(v), PyUnicode_GET_LENGTH(v), &us))
                return 1;
        } else if (PyDateTime_CheckExact(v)) {
            /* the wall clock, any zone dropped (datetimes.timestamp_binary) */
            long long days = civil_days(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v),
                                        PyDateTime_GET_DAY(v)) - 10957;
            us = ((days * 24 + PyDateTime_DATE_GET_HOUR(v)) * 60 +
                  PyDateTime_DATE_GET_MINUTE(v)) * 60000000LL +
                 PyDateTime_DATE_GET_SECOND(v) * 1000000LL + PyDateTime_DATE_GET_MICROSECOND(v);
        } else {
            return 1;
        }
        char b[8];
        put32(b, (uint32_t)((unsigned long long)us >> 32));
        put32(b + 4, (uint32_t)us);
        return put(out, b, 8);
    }
    case 'D':
        if (PyFloat_CheckExact(v)) {
            double x = PyFloat_AS_DOUBLE(v);
            uint64_t bits;
            memcpy(&bits, &x, 8);
            char b[8];
            put32(b, (uint32_t)(bits >> 32));
            put32(b + 4, (uint32_t)bits);
            return put(out, b, 8);
        }
        return 1;
    default:
        return 1;
    }
}

static PyObject *encode(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3 || !PyBytes_CheckExact(args[1]) || !PyTuple_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "encode(rows, kinds: bytes, slow: tuple)");
        return NULL;
    }
    PyObject *rows = args[0], *slow = args[2];
    const char *kinds = PyBytes_AS_STRING(args[1]);
    Py_ssize_t ncols = PyBytes_GET_SIZE(args[1]);
    if (PyTuple_GET_SIZE(slow) != ncols || ncols > 32767) {
        PyErr_SetString(PyExc_ValueError, "encode(): a slow path per column");
        return NULL;
    }
    if (!PyList_CheckExact(rows) && !PyTuple_CheckExact(rows)) Py_RETURN_NONE;
    Py_ssize_t nrows = PySequence_Fast_GET_SIZE(rows);
    Out out = {NULL, 0, 0};
    for (Py_ssize_t r = 0; r < nrows; r++) {
        PyObject *row = PySequence_Fast_GET_ITEM(rows, r);
        if ((!PyTuple_CheckExact(row) && !PyList_CheckExact(row)) ||
            PySequence_Fast_GET_SIZE(row) != ncols)
            goto not_taken;
        Py_ssize_t start = out.size;
        if (grow(&out, 7) < 0) goto failed;
        out.size += 7; /* 'D', the length, the column count: written below */
        for (Py_ssize_t c = 0; c < ncols; c++) {
            /* (an item of a list row is read again each time: a slow path may not change it,
             * but holding a reference keeps it alive while it runs) */
            PyObject *v = PySequence_Fast_GET_ITEM(row, c);
            Py_INCREF(v);
            int rc = fast(&out, kinds[c], v);
            if (rc == 1) rc = put_slow(&out, PyTuple_GET_ITEM(slow, c), v);
            Py_DECREF(v);
            if (rc < 0) goto failed;
            if (PyList_CheckExact(row) && PyList_GET_SIZE(row) != ncols) goto not_taken;
        }
        Py_ssize_t length = out.size - start - 1;
        if (length > INT32_MAX) goto not_taken;
        char *p = out.data + start;
        p[0] = 'D';
        put32(p + 1, (uint32_t)length);
        p[5] = (char)(ncols >> 8), p[6] = (char)ncols;
    }
    PyObject *result = PyBytes_FromStringAndSize(out.data ? out.data : "", out.size);
    PyMem_Free(out.data);
    return result;
not_taken:
    PyMem_Free(out.data);
    Py_RETURN_NONE;
failed:
    PyMem_Free(out.data);
    return NULL;
}

static PyMethodDef methods[] = {
    {"encode", (PyCFunction)(void (*)(void))encode, METH_FASTCALL,
     "The DataRow messages of a batch of rows (see the module's source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rows", "DataRow messages of a batch of rows, in C.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__rows(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    return PyModule_Create(&module);
}
