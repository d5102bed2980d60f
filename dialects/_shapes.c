/* A statement text's literals and skeleton, in C: the step of dialects/shapes.py's scan
 * that every simple Query with new literals pays for (a regex pass and a Python loop
 * over its matches). Built when a C compiler is at hand (pyproject.toml, optional);
 * without it the same is done in Python.
 *
 * literals(sql) -> (skeleton, runs, found, starts, rest) | None
 *
 * For an ASCII text only (the caller checks), read exactly as shapes._LITERALS reads
 * it: runs of words (their digits and `$` with them), quoted identifiers, `$n`
 * parameters and other characters, each run followed by a string literal, a number,
 * a quote no string follows, or the end. `found` are the literals scan may lift:
 * every string, and the numbers that are integers of at most 18 digits or decimals
 * of at most 15 significant ones; `starts` their offsets; `runs` the text before
 * each (from the end of the one before); `rest` the text after the last; `skeleton`
 * the text with each of them replaced by "\0'" (a string) or "\0#" (a number).
 * None: no literal to lift.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_word(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* The end of a quoted run opened by s[pos] (a ' or a "), its quote doubled inside:
 * as the regex `q[^q]*(?:qq[^q]*)*q` matches, greedy then backing off (a text ending
 * in a doubled quote closes at the first of the last pair); -1: no closing quote. */
static Py_ssize_t quoted_end(const char *s, Py_ssize_t n, Py_ssize_t pos) {
    char q = s[pos];
    Py_ssize_t i = pos + 1, last_pair = -1;
    for (;;) {
        const char *hit = memchr(s + i, q, (size_t)(n - i));
        if (hit == NULL)
            return last_pair < 0 ? -1 : last_pair + 1;
        i = hit - s;
        if (i + 1 < n && s[i + 1] == q) {
            last_pair = i;
            i += 2;
            continue;
        }
        return i + 1;
    }
}

/* Whether number text s[a:b] is one scan may lift: \d{1,18}, or \d+\.\d* with at most
 * 15 significant digits. */
static int liftable(const char *s, Py_ssize_t a, Py_ssize_t b) {
    Py_ssize_t i = a, dot = -1, significant = 0;
    int leading = 1;
    for (; i < b; i++) {
        if (s[i] == '.' && dot < 0 && i > a) {
            dot = i;
            continue;
        }
        if (!is_digit(s[i]))
            return 0;
        if (leading && s[i] == '0')
            continue;
        leading = 0;
        significant++;
    }
    if (dot < 0)
        return b - a <= 18;
    return significant <= 15;
}

static PyObject *literals(PyObject *module, PyObject *arg) {
    if (!PyUnicode_Check(arg) || !PyUnicode_IS_ASCII(arg)) {
        PyErr_SetString(PyExc_TypeError, "literals() takes an ASCII str");
        return NULL;
    }
    const char *s = (const char *)PyUnicode_DATA(arg);
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    PyObject *runs = NULL, *found = NULL, *starts = NULL, *result = NULL;
    char *skeleton = PyMem_Malloc((size_t)(2 * n + 1));
    if (skeleton == NULL)
        return PyErr_NoMemory();
    Py_ssize_t out = 0, pos = 0, segment = 0;
    runs = PyList_New(0);
    found = PyList_New(0);
    starts = PyList_New(0);
    if (runs == NULL || found == NULL || starts == NULL)
        goto done;
    for (;;) {
        Py_ssize_t run = pos;
        while (pos < n) {
            char c = s[pos];
            if (is_word(c) && !is_digit(c)) { /* a word, its digits and $ with it */
                pos++;
                while (pos < n && (is_word(s[pos]) || s[pos] == '$'))
                    pos++;
            } else if (c == '"') { /* a quoted identifier, or a lone " */
                Py_ssize_t end = quoted_end(s, n, pos);
                pos = end < 0 ? pos + 1 : end;
            } else if (c == '$') { /* $n, or a lone $ */
                pos++;
                if (pos < n && is_digit(s[pos]))
                    while (pos < n && is_digit(s[pos]))
                        pos++;
            } else if (is_digit(c) || c == '\'') {
                break;
            } else {
                pos++;
            }
        }
        memcpy(skeleton + out, s + run, (size_t)(pos - run));
        out += pos - run;
        if (pos == n)
            break;
        Py_ssize_t start = pos, end;
        int number = is_digit(s[pos]);
        if (number) {
            end = pos;
            while (end < n && is_digit(s[end]))
                end++;
            if (end < n && s[end] == '.')
                end++;
            while (end < n && is_digit(s[end]))
                end++;
            if (end < n && (s[end] == 'e' || s[end] == 'E')) {
                Py_ssize_t k = end + 1;
                if (k < n && (s[k] == '+' || s[k] == '-'))
                    k++;
                if (k < n && is_digit(s[k])) {
                    while (k < n && is_digit(s[k]))
                        k++;
                    end = k;
                }
            }
            while (end < n && (is_word(s[end]) || s[end] == '$'))
                end++;
            if (!liftable(s, start, end)) { /* part of the skeleton as it is */
                memcpy(skeleton + out, s + start, (size_t)(end - start));
                out += end - start;
                pos = end;
                continue;
            }
        } else {
            end = quoted_end(s, n, pos);
            if (end < 0) { /* a quote no string follows */
                skeleton[out++] = '\'';
                pos++;
                continue;
            }
        }
        PyObject *before = PyUnicode_FromStringAndSize(s + segment, start - segment);
        PyObject *text = PyUnicode_FromStringAndSize(s + start, end - start);
        PyObject *at = PyLong_FromSsize_t(start);
        int failed = before == NULL || text == NULL || at == NULL
            || PyList_Append(runs, before) < 0 || PyList_Append(found, text) < 0
            || PyList_Append(starts, at) < 0;
        Py_XDECREF(before);
        Py_XDECREF(text);
        Py_XDECREF(at);
        if (failed)
            goto done;
        skeleton[out++] = '\0';
        skeleton[out++] = number ? '#' : '\'';
        pos = segment = end;
    }
    if (PyList_GET_SIZE(found) == 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    result = Py_BuildValue("(s#OOOs#)", skeleton, out, runs, found, starts, s + segment,
                           n - segment);
done:
    PyMem_Free(skeleton);
    Py_XDECREF(runs);
    Py_XDECREF(found);
    Py_XDECREF(starts);
    return result;
}

static PyMethodDef methods[] = {
    {"literals", literals, METH_O,
     "An ASCII statement text's liftable literals and skeleton (see the module's source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_shapes", "A statement text's literals and skeleton.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__shapes(void) { return PyModule_Create(&module); }
