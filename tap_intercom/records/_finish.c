/* The checked fast path's last step in C (records/checked.py): a record that msgspec has checked is copied and
 * its few values that must change are converted, in one call rather than a block of Python per field.
 *
 * finish(value, drop, texts, dates, numbers, custom, custom_dates, custom_numbers) -> dict, or None when a value is
 * not what the check let through (the caller then takes the Python fast path, which decides):
 *   - a copy of `value` (a dict) without the keys in `drop` (deselected fields; all present);
 *   - each name in `texts` still in the copy whose value is an int: its decimal text (a string field sent as an
 *     integer, Intercom's owner_id);
 *   - each key in `dates` whose value is not None: epoch seconds (an int, 0 <= v < 1e11) as singer's date-time text,
 *     2024-05-01T09:30:00.000000Z;
 *   - each key in `numbers` whose value is an int: as a float, when -2**53 < v < 2**53 (else None);
 *   - `custom` (a key or None): that value, a dict or None; when a dict, a copy of it (made only when something
 *     changes) with `custom_dates` converted as dates and `custom_numbers` sent as ints as floats.
 * The same as the Python it replaces (checked.Checker.keyed's generated source), which tests/test_checked.py holds
 * equal on every schema. Nothing here keeps a reference to its arguments.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MS_ABOVE 100000000000LL /* timestamps.py's _MS_ABOVE */
#define TEXT_LENGTH 27          /* 2024-05-01T09:30:00.000000Z */

static void digits(char *at, long long value, int width) {
    for (int i = width - 1; i >= 0; i--) {
        at[i] = (char)('0' + value % 10);
        value /= 10;
    }
}

/* Epoch seconds (0 <= seconds < MS_ABOVE) as singer's date-time text; NULL with no exception set when the value is
 * not such an int. The civil date from the day number: H. Hinnant's days_from_civil, inverted. */
static PyObject *date_text(PyObject *value) {
    if (!PyLong_CheckExact(value)) {
        return NULL;
    }
    int overflow = 0;
    long long seconds = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || seconds < 0 || seconds >= MS_ABOVE) {
        if (seconds == -1 && PyErr_Occurred()) {
            PyErr_Clear();
        }
        return NULL;
    }
    long long days = seconds / 86400, second = seconds % 86400;
    long long z = days + 719468;
    long long era = z / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long day = doy - (153 * mp + 2) / 5 + 1;
    long long month = mp < 10 ? mp + 3 : mp - 9;
    long long year = yoe + era * 400 + (month <= 2);
    PyObject *text = PyUnicode_New(TEXT_LENGTH, 127);
    if (text == NULL) {
        return NULL;
    }
    char *at = (char *)PyUnicode_1BYTE_DATA(text);
    memcpy(at, "0000-00-00T00:00:00.000000Z", TEXT_LENGTH);
    digits(at, year, 4);
    digits(at + 5, month, 2);
    digits(at + 8, day, 2);
    digits(at + 11, second / 3600, 2);
    digits(at + 14, second / 60 % 60, 2);
    digits(at + 17, second % 60, 2);
    return text;
}

/* Sets out[key] to the int `value` as a float: 1 done, 0 not convertible (beyond a double, or when `bounded`, not
 * strictly between -2**53 and 2**53), -1 an error. */
static int as_float(PyObject *out, PyObject *key, PyObject *value, int bounded) {
    double number;
    if (bounded) {
        int overflow = 0;
        long long exact = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (exact == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (overflow || exact <= -9007199254740992LL || exact >= 9007199254740992LL) {
            return 0;
        }
        number = (double)exact;
    } else {
        number = PyLong_AsDouble(value);
        if (number == -1.0 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
                return -1;
            }
            PyErr_Clear();
            return 0;
        }
    }
    PyObject *converted = PyFloat_FromDouble(number);
    if (converted == NULL) {
        return -1;
    }
    int failed = PyDict_SetItem(out, key, converted);
    Py_DECREF(converted);
    return failed ? -1 : 1;
}

static int check_tuple(PyObject *value, const char *name) {
    if (!PyTuple_CheckExact(value)) {
        PyErr_Format(PyExc_TypeError, "finish: %s must be a tuple", name);
        return 0;
    }
    return 1;
}

/* The custom attributes' copy with dates and numbers converted; Py_None (a new reference) when nothing changes,
 * NULL with an exception on an error, and NULL without one when a value is not convertible. */
static PyObject *finish_custom(PyObject *attributes, PyObject *dates, PyObject *numbers) {
    PyObject *copy = NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(dates); i++) {
        PyObject *name = PyTuple_GET_ITEM(dates, i);
        PyObject *value = PyDict_GetItemWithError(attributes, name);
        if (value == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            continue;
        }
        if (value == Py_None) {
            continue;
        }
        PyObject *text = date_text(value);
        if (text == NULL) {
            goto error;
        }
        if (copy == NULL && (copy = PyDict_Copy(attributes)) == NULL) {
            Py_DECREF(text);
            goto error;
        }
        int failed = PyDict_SetItem(copy, name, text);
        Py_DECREF(text);
        if (failed) {
            goto error;
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(numbers); i++) {
        PyObject *name = PyTuple_GET_ITEM(numbers, i);
        PyObject *value = PyDict_GetItemWithError(attributes, name);
        if (value == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            continue;
        }
        if (!PyLong_CheckExact(value)) {
            continue;
        }
        if (copy == NULL && (copy = PyDict_Copy(attributes)) == NULL) {
            goto error;
        }
        int done = as_float(copy, name, value, 0);
        if (done != 1) {
            goto error; /* an exception set (-1), or not convertible (0): refused */
        }
    }
    if (copy == NULL) {
        Py_RETURN_NONE;
    }
    return copy;
error:
    Py_XDECREF(copy);
    return NULL;
}

static PyObject *finish(PyObject *module, PyObject *const *args, Py_ssize_t count) {
    (void)module;
    if (count != 8) {
        PyErr_SetString(PyExc_TypeError, "finish takes 8 arguments");
        return NULL;
    }
    PyObject *value = args[0], *drop = args[1], *texts = args[2], *dates = args[3], *numbers = args[4];
    PyObject *custom = args[5], *custom_dates = args[6], *custom_numbers = args[7];
    if (!PyDict_Check(value)) {
        Py_RETURN_NONE;
    }
    if (!check_tuple(drop, "drop") || !check_tuple(texts, "texts") || !check_tuple(dates, "dates")
        || !check_tuple(numbers, "numbers") || !check_tuple(custom_dates, "custom_dates")
        || !check_tuple(custom_numbers, "custom_numbers")) {
        return NULL;
    }
    PyObject *out = PyDict_Copy(value);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(drop); i++) {
        if (PyDict_DelItem(out, PyTuple_GET_ITEM(drop, i))) {
            goto error;
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(texts); i++) {
        PyObject *name = PyTuple_GET_ITEM(texts, i);
        PyObject *item = PyDict_GetItemWithError(out, name);
        if (item == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            continue;
        }
        if (!PyLong_CheckExact(item)) {
            continue;
        }
        PyObject *text = PyObject_Str(item);
        if (text == NULL) {
            goto error;
        }
        int failed = PyDict_SetItem(out, name, text);
        Py_DECREF(text);
        if (failed) {
            goto error;
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(dates); i++) {
        PyObject *key = PyTuple_GET_ITEM(dates, i);
        PyObject *item = PyDict_GetItemWithError(value, key);
        if (item == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            goto refused;
        }
        if (item == Py_None) {
            continue;
        }
        PyObject *text = date_text(item);
        if (text == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            goto refused;
        }
        int failed = PyDict_SetItem(out, key, text);
        Py_DECREF(text);
        if (failed) {
            goto error;
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(numbers); i++) {
        PyObject *key = PyTuple_GET_ITEM(numbers, i);
        PyObject *item = PyDict_GetItemWithError(value, key);
        if (item == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            goto refused;
        }
        if (!PyLong_CheckExact(item)) {
            continue;
        }
        int done = as_float(out, key, item, 1);
        if (done < 0) {
            goto error;
        }
        if (done == 0) {
            goto refused;
        }
    }
    if (custom != Py_None) {
        PyObject *attributes = PyDict_GetItemWithError(value, custom);
        if (attributes == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            goto refused;
        }
        if (attributes != Py_None) {
            if (!PyDict_Check(attributes)) {
                goto refused;
            }
            PyObject *changed = finish_custom(attributes, custom_dates, custom_numbers);
            if (changed == NULL) {
                if (PyErr_Occurred()) {
                    goto error;
                }
                goto refused;
            }
            int failed = changed != Py_None && PyDict_SetItem(out, custom, changed);
            Py_DECREF(changed);
            if (failed) {
                goto error;
            }
        }
    }
    return out;
refused:
    Py_DECREF(out);
    Py_RETURN_NONE;
error:
    Py_DECREF(out);
    return NULL;
}

static PyObject *epoch_text(PyObject *module, PyObject *value) {
    (void)module;
    PyObject *text = date_text(value);
    if (text == NULL && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "epoch_text: an int from 0 to 1e11 expected");
    }
    return text;
}

static PyMethodDef methods[] = {
    {"finish", (PyCFunction)(void (*)(void))finish, METH_FASTCALL,
     "finish(value, drop, texts, dates, numbers, custom, custom_dates, custom_numbers): a checked record's copy "
     "with its values converted, or None (see the module's source)."},
    {"epoch_text", epoch_text, METH_O, "Epoch seconds as singer's date-time text."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_finish", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__finish(void) {
    return PyModule_Create(&module);
}
