// SPDX-License-Identifier: MIT
// The python task plugin: calls a Python function per input in an embedded CPython 3 (Parallel Python's workload).

// Python.h comes first: it sets feature macros the system headers read, and it must not see Qt's "slots" macro.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pythonplugin.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QCryptographicHash>
#include <QtCore/QFile>
#include <QtCore/QVarLengthArray>

#include <dlfcn.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace taskfleet::plugins {

namespace {

/** Levels of arrays and maps converted either way; deeper (or a list that contains itself) is an error. */
constexpr int MaxNesting = 500;

const QString PlainData
    = QStringLiteral("return plain data (None, bool, int, float, str, bytes, list, tuple, dict with str keys), "
                     "or pass the arguments pickled to get any Python object back");

/** An owned reference: released when it goes out of scope. */
class Ref
{
public:
    Ref() = default;
    explicit Ref(PyObject *stolen)
        : m_o(stolen)
    {
    }
    Ref(Ref &&other) noexcept
        : m_o(std::exchange(other.m_o, nullptr))
    {
    }
    Ref &operator=(Ref &&other) noexcept
    {
        std::swap(m_o, other.m_o);
        return *this;
    }
    Ref(const Ref &) = delete;
    Ref &operator=(const Ref &) = delete;
    ~Ref() { Py_XDECREF(m_o); }

    static Ref borrowed(PyObject *o)
    {
        Py_XINCREF(o);
        return Ref(o);
    }

    PyObject *get() const { return m_o; }
    PyObject *release() { return std::exchange(m_o, nullptr); }
    explicit operator bool() const { return m_o != nullptr; }

private:
    PyObject *m_o = nullptr;
};

PyObject *toPyString(const QString &s)
{
    int byteOrder = Q_BYTE_ORDER == Q_LITTLE_ENDIAN ? -1 : 1;
    return PyUnicode_DecodeUTF16(reinterpret_cast<const char *>(s.utf16()), s.size() * 2, "surrogatepass", &byteOrder);
}

QString fromPyString(PyObject *s)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) {
        PyErr_Clear();
        return {};
    }
#endif
    const Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    const void *data = PyUnicode_DATA(s);
    switch (PyUnicode_KIND(s)) {
    case PyUnicode_1BYTE_KIND:
        return QString::fromLatin1(static_cast<const char *>(data), n);
    case PyUnicode_2BYTE_KIND:
        return QString(static_cast<const QChar *>(data), n);
    default:
        return QString::fromUcs4(static_cast<const char32_t *>(data), n);
    }
}

/** str(o), or "" when that fails. Never leaves an exception set. */
QString describe(PyObject *o)
{
    Ref s(o ? PyObject_Str(o) : nullptr);
    if (!s) {
        PyErr_Clear();
        return {};
    }
    return fromPyString(s.get());
}

QString typeName(PyObject *o)
{
    return QString::fromUtf8(Py_TYPE(o)->tp_name);
}

QString chopNewline(QString s)
{
    while (s.endsWith(QLatin1Char('\n')))
        s.chop(1);
    return s;
}

// QPluginLoader dlopen()s this plugin, and libpython with it, RTLD_LOCAL: the extension modules of lib-dynload
// (_decimal, _json, ...) are not linked to libpython and would not find its symbols. Make them global.
void promoteLibpython()
{
    const char *soname = TF_LIBPYTHON_SONAME;
    if (*soname && dlopen(soname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD))
        return;
    // Another file name (a newer soname, or Python linked statically into this plugin): whichever object holds Py_None.
    Dl_info info;
    if (dladdr(static_cast<void *>(Py_None), &info) && info.dli_fname)
        dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
}

/** The interpreter, and the objects each task uses, looked up once. Lives as long as the process. */
/**
 * A pickle whose big contiguous buffers (numpy arrays, bytearrays, ...) travel out of band (pickle protocol
 * 5): they are not copied into the pickle, and the client unpickles its result from the received memory.
 * Small or non-contiguous buffers stay in band. The client's taskfleet/_frames.py does the same.
 */
const char OutOfBandSource[] = R"(
import io
import pickle
class SharedUnpickler(pickle.Unpickler):
    def __init__(self, data, buffers, shared):
        super().__init__(io.BytesIO(data), buffers=buffers)
        self.shared = shared
    def persistent_load(self, pid):
        if type(pid) is tuple and len(pid) == 2 and pid[0] == "taskfleet-shared":
            try:
                return self.shared[pid[1]]
            except KeyError:
                raise pickle.UnpicklingError("shared value %s is not among the job's shared values" % pid[1])
        raise pickle.UnpicklingError("unknown persistent id %r" % (pid,))
def loads_shared(data, buffers, shared):
    return SharedUnpickler(data, buffers, shared).load()
def load_shared(entries):
    return {key: pickle.loads(data, buffers=buffers) for key, (data, buffers) in entries.items()}
def dumps_out_of_band(obj):
    buffers = []
    def take(buffer):
        try:
            view = buffer.raw()
        except BufferError:
            return True
        if view.nbytes < 65536:
            return True
        buffers.append(view)
        return False
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL, buffer_callback=take), buffers
)";

/** CBOR tag of a pickle with out-of-band buffers: [pickle, buffer, ...] (docs/python.md). */
constexpr quint64 Pickle5Tag = 0x74660005;
/**
 * CBOR tag, in place of one of those buffers, over the key of a job's shared value that holds it: a big buffer the
 * client saw in more than one submit travels once per node, in the job's parameters (docs/python.md).
 */
constexpr quint64 SharedBufferTag = 0x74660006;

struct Runtime {
    QString startError; // non-empty: no interpreter, every task fails with this

    PyObject *sysDict = nullptr;
    PyObject *builtins = nullptr;
    PyObject *capture = nullptr; // the io.StringIO that is sys.stdout and sys.stderr during a call
    PyObject *stringIO = nullptr;
    PyObject *pickleLoads = nullptr;
    PyObject *pickleDumps = nullptr;
    PyObject *pickleProtocol = nullptr;
    PyObject *dumpsOutOfBand = nullptr; // (obj) -> (pickle, [big buffers]): see OutOfBandSource
    PyObject *loadsShared = nullptr;    // (pickle, buffers, shared) -> obj, "taskfleet-shared" ids resolved
    PyObject *loadShared = nullptr;     // {key: (pickle, buffers)} -> {key: obj}
    PyObject *formatException = nullptr;
    PyObject *formatExceptionOnly = nullptr;
    PyObject *linecache = nullptr; // linecache.cache: lets tracebacks quote the job's source lines
    PyObject *zero = nullptr;
    PyObject *empty = nullptr;
    PyObject *sStdout = nullptr;
    PyObject *sStderr = nullptr;
    PyObject *sMain = nullptr;
    PyObject *sTell = nullptr;
    PyObject *sGetvalue = nullptr;
    PyObject *sTruncate = nullptr;
    PyObject *sSeek = nullptr;

    void start();
    bool newCapture();
};

QString statusMessage(const PyStatus &status)
{
    QString text = QString::fromUtf8(status.err_msg ? status.err_msg : "unknown error");
    if (status.func)
        text += QStringLiteral(" (in %1)").arg(QString::fromUtf8(status.func));
    return QStringLiteral("cannot start the Python interpreter: ") + text;
}

PyObject *attribute(const char *module, const char *name)
{
    Ref m(PyImport_ImportModule(module));
    return m ? PyObject_GetAttrString(m.get(), name) : nullptr;
}

void Runtime::start()
{
    if (Py_IsInitialized()) {
        // The host embeds Python itself: take the GIL for good, as after our own start.
        PyGILState_Ensure();
    } else {
        promoteLibpython();
        PyPreConfig pre;
        PyPreConfig_InitPythonConfig(&pre);
        pre.coerce_c_locale = 0; // leave the locale of the worker (and the environment of its children) alone
        pre.coerce_c_locale_warn = 0;
        PyStatus status = Py_PreInitialize(&pre);
        if (PyStatus_Exception(status)) {
            startError = statusMessage(status);
            return;
        }
        PyConfig config;
        PyConfig_InitPythonConfig(&config);
        config.install_signal_handlers = 0; // the worker has its own crash handlers
        config.parse_argv = 0;
        config.configure_c_stdio = 0;
        // Name the interpreter whose libpython we link, or the path search may find another one (pyenv's shim)
        // and take its prefix; it also gives sys.executable a Python for subprocess and multiprocessing.
        if (QFile::exists(QStringLiteral(TF_PYTHON3_EXECUTABLE)))
            status = PyConfig_SetBytesString(&config, &config.program_name, TF_PYTHON3_EXECUTABLE);
        if (!PyStatus_Exception(status))
            status = Py_InitializeFromConfig(&config);
        PyConfig_Clear(&config);
        if (PyStatus_Exception(status)) {
            startError = statusMessage(status);
            return;
        }
    }

    Ref sys(PyImport_ImportModule("sys"));
    if (sys)
        sysDict = PyModule_GetDict(sys.get());
    Py_XINCREF(sysDict);
    builtins = PyImport_ImportModule("builtins");
    stringIO = attribute("io", "StringIO");
    pickleLoads = attribute("pickle", "loads");
    pickleDumps = attribute("pickle", "dumps");
    pickleProtocol = attribute("pickle", "HIGHEST_PROTOCOL");
    {
        Ref globals(PyDict_New());
        if (globals && PyDict_SetItemString(globals.get(), "__builtins__", builtins) == 0) {
            Ref ran(PyRun_String(OutOfBandSource, Py_file_input, globals.get(), globals.get()));
            if (ran) {
                dumpsOutOfBand = PyDict_GetItemString(globals.get(), "dumps_out_of_band");
                loadsShared = PyDict_GetItemString(globals.get(), "loads_shared");
                loadShared = PyDict_GetItemString(globals.get(), "load_shared");
            }
            Py_XINCREF(dumpsOutOfBand);
            Py_XINCREF(loadsShared);
            Py_XINCREF(loadShared);
        }
    }
    formatException = attribute("traceback", "format_exception");
    formatExceptionOnly = attribute("traceback", "format_exception_only");
    linecache = attribute("linecache", "cache");
    zero = PyLong_FromLong(0);
    empty = PyUnicode_FromString("");
    sStdout = PyUnicode_InternFromString("stdout");
    sStderr = PyUnicode_InternFromString("stderr");
    sMain = PyUnicode_InternFromString("__main__");
    sTell = PyUnicode_InternFromString("tell");
    sGetvalue = PyUnicode_InternFromString("getvalue");
    sTruncate = PyUnicode_InternFromString("truncate");
    sSeek = PyUnicode_InternFromString("seek");
    const bool ok = sysDict && builtins && stringIO && pickleLoads && pickleDumps && pickleProtocol && dumpsOutOfBand
                    && loadsShared && loadShared && formatException && formatExceptionOnly && linecache
                    && PyDict_Check(linecache) && zero && empty && sStdout && sStderr && sMain && sTell && sGetvalue
                    && sTruncate && sSeek && newCapture();
    if (!ok) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        startError = QStringLiteral("cannot set up the Python interpreter (sys, io, pickle, traceback, linecache): ")
                     + describe(value ? value : type);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    }
}

bool Runtime::newCapture()
{
    PyObject *fresh = PyObject_CallNoArgs(stringIO);
    if (!fresh)
        return false;
    Py_XDECREF(capture);
    capture = fresh;
    return true;
}

Runtime &runtime()
{
    static Runtime *rt = nullptr; // never deleted: the interpreter is never finalized either
    if (!rt) {
        rt = new Runtime;
        rt->start();
    }
    return *rt;
}

/**
 * Makes the runtime's StringIO sys.stdout and sys.stderr (one buffer: the two stay in the order they were
 * written) until finish(), which puts the previous streams back and returns the text. A pending exception
 * stays pending.
 */
class OutputCapture
{
public:
    explicit OutputCapture(Runtime &rt)
        : m_rt(rt)
    {
        m_stdout = Ref::borrowed(PyDict_GetItem(rt.sysDict, rt.sStdout));
        m_stderr = Ref::borrowed(PyDict_GetItem(rt.sysDict, rt.sStderr));
        PyDict_SetItem(rt.sysDict, rt.sStdout, rt.capture);
        PyDict_SetItem(rt.sysDict, rt.sStderr, rt.capture);
    }
    OutputCapture(const OutputCapture &) = delete;
    OutputCapture &operator=(const OutputCapture &) = delete;
    ~OutputCapture() { finish(); }

    QString finish()
    {
        if (m_finished)
            return {};
        m_finished = true;
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        restore(m_rt.sStdout, m_stdout.get());
        restore(m_rt.sStderr, m_stderr.get());
        QString text;
        Ref position(PyObject_CallMethodNoArgs(m_rt.capture, m_rt.sTell));
        if (!position) {
            PyErr_Clear(); // the task closed it: what it held is lost, the next task gets a new one
            if (!m_rt.newCapture())
                PyErr_Clear();
        } else if (PyLong_AsSsize_t(position.get()) != 0) {
            Ref written(PyObject_CallMethodNoArgs(m_rt.capture, m_rt.sGetvalue));
            if (written && PyUnicode_Check(written.get()))
                text = fromPyString(written.get());
            Ref truncated(PyObject_CallMethodOneArg(m_rt.capture, m_rt.sTruncate, m_rt.zero));
            Ref rewound(PyObject_CallMethodOneArg(m_rt.capture, m_rt.sSeek, m_rt.zero));
            PyErr_Clear();
        }
        PyErr_Restore(type, value, tb);
        return text;
    }

private:
    void restore(PyObject *name, PyObject *previous)
    {
        if (previous)
            PyDict_SetItem(m_rt.sysDict, name, previous);
        else if (PyDict_DelItem(m_rt.sysDict, name) < 0)
            PyErr_Clear();
    }

    Runtime &m_rt;
    Ref m_stdout;
    Ref m_stderr;
    bool m_finished = false;
};

/** A job prepared in this worker: its module, its function, or why it cannot run. */
struct Job {
    QByteArray id;
    QString error; // non-empty: preparing failed, every task of the job fails with this
    Ref module;
    Ref function;
    Ref filename;
    Ref sourceLines;        // (size, None, lines, filename): linecache's entry for the job's source
    Ref shared;             // {key: object}: the job's shared values (server.share()), unpickled once per worker
    qint64 sharedBytes = 0; // their pickles' size: prepared jobs are bounded by it too
};

/** The pending exception, formatted as Python prints it (with the traceback when asked), and cleared. */
struct PendingError {
    QString text;
    QString message; // a SyntaxError's msg, else str(exception)
    long line = 0;   // a SyntaxError's line
};

PendingError takeError(Runtime &rt, const Job *job, bool withTraceback)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value && tb)
        PyException_SetTraceback(value, tb);
    PendingError e;
    if (!type)
        return e;
    if (job && job->sourceLines && PyDict_SetItem(rt.linecache, job->filename.get(), job->sourceLines.get()) < 0)
        PyErr_Clear();

    if (value && PyErr_GivenExceptionMatches(type, PyExc_SyntaxError)) {
        Ref msg(PyObject_GetAttrString(value, "msg"));
        Ref line(PyObject_GetAttrString(value, "lineno"));
        PyErr_Clear();
        e.message = describe(msg.get());
        if (line && PyLong_Check(line.get()))
            e.line = PyLong_AsLong(line.get());
    } else {
        e.message = describe(value);
    }

    Ref lines(withTraceback
                  ? PyObject_CallFunctionObjArgs(rt.formatException, type, value ? value : Py_None, tb ? tb : Py_None,
                                                 nullptr)
                  : PyObject_CallFunctionObjArgs(rt.formatExceptionOnly, type, value ? value : Py_None, nullptr));
    Ref joined(lines ? PyUnicode_Join(rt.empty, lines.get()) : nullptr);
    if (joined)
        e.text = chopNewline(fromPyString(joined.get()));
    if (e.text.isEmpty()) {
        PyErr_Clear();
        e.text = QString::fromUtf8(reinterpret_cast<PyTypeObject *>(type)->tp_name) + QStringLiteral(": ") + e.message;
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return e;
}

// ---- CBOR to Python

PyObject *toPython(const QCborValue &v, int depth, QString *error)
{
    switch (v.type()) {
    case QCborValue::Integer:
        return PyLong_FromLongLong(v.toInteger());
    case QCborValue::Double:
        return PyFloat_FromDouble(v.toDouble());
    case QCborValue::String:
        return toPyString(v.toString());
    case QCborValue::ByteArray: {
        const QByteArray bytes = v.toByteArray();
        return PyBytes_FromStringAndSize(bytes.constData(), bytes.size());
    }
    case QCborValue::False:
        Py_RETURN_FALSE;
    case QCborValue::True:
        Py_RETURN_TRUE;
    case QCborValue::Null:
    case QCborValue::Undefined:
        Py_RETURN_NONE;
    case QCborValue::Array:
    case QCborValue::Map:
        break;
    default:
        if (v.isTag()) // and the extended types (date-time, URL, UUID, ...): their tagged value
            return toPython(v.taggedValue(), depth, error);
        *error
            = QStringLiteral("the input holds a CBOR value that has no Python form: %1").arg(v.toDiagnosticNotation());
        return nullptr;
    }
    if (depth >= MaxNesting) {
        *error = QStringLiteral("the input is nested deeper than %1 levels").arg(MaxNesting);
        return nullptr;
    }
    if (v.isArray()) {
        const QCborArray array = v.toArray();
        Ref list(PyList_New(array.size()));
        if (!list)
            return nullptr;
        for (qsizetype i = 0; i < array.size(); ++i) {
            PyObject *item = toPython(array.at(i), depth + 1, error);
            if (!item)
                return nullptr;
            PyList_SET_ITEM(list.get(), i, item);
        }
        return list.release();
    }
    const QCborMap map = v.toMap();
    Ref dict(PyDict_New());
    if (!dict)
        return nullptr;
    for (auto it = map.begin(); it != map.end(); ++it) {
        Ref key(toPython(it.key(), depth + 1, error));
        Ref value(key ? toPython(it.value(), depth + 1, error) : nullptr);
        if (!value)
            return nullptr;
        if (PyDict_SetItem(dict.get(), key.get(), value.get()) < 0) {
            PyErr_Clear();
            *error = QStringLiteral("the input's map key %1 cannot be a Python dict key")
                         .arg(it.key().toDiagnosticNotation());
            return nullptr;
        }
    }
    return dict.release();
}

// ---- Python to CBOR

/** Converts a result; on failure says which part (as Python subscripts) of which type could not be. */
class ResultConverter
{
public:
    bool convert(PyObject *o, QCborValue *out, int depth)
    {
        if (o == Py_None) {
            *out = QCborValue(nullptr);
            return true;
        }
        if (o == Py_True || o == Py_False) {
            *out = QCborValue(o == Py_True);
            return true;
        }
        if (PyLong_Check(o)) {
            int overflow = 0;
            const long long n = PyLong_AsLongLongAndOverflow(o, &overflow);
            if (overflow || (n == -1 && PyErr_Occurred())) {
                PyErr_Clear();
                Ref bits(PyObject_CallMethod(o, "bit_length", nullptr));
                PyErr_Clear();
                return fail(o, QStringLiteral(": the integer needs %1 bits, more than the 64 of a JSON/CBOR integer "
                                              "(return it as a str, or pass the arguments pickled)")
                                   .arg(bits ? describe(bits.get()) : QStringLiteral("over 64")));
            }
            *out = QCborValue(qint64(n));
            return true;
        }
        if (PyFloat_Check(o)) {
            *out = QCborValue(PyFloat_AS_DOUBLE(o));
            return true;
        }
        if (PyUnicode_Check(o)) {
            *out = QCborValue(fromPyString(o));
            return true;
        }
        if (PyBytes_Check(o)) {
            *out = QCborValue(QByteArray(PyBytes_AS_STRING(o), PyBytes_GET_SIZE(o)));
            return true;
        }
        if (PyByteArray_Check(o)) {
            *out = QCborValue(QByteArray(PyByteArray_AS_STRING(o), PyByteArray_GET_SIZE(o)));
            return true;
        }
        const bool sequence = PyList_Check(o) || PyTuple_Check(o);
        if (!sequence && !PyDict_Check(o))
            return fail(o, QStringLiteral("; ") + PlainData);
        if (depth >= MaxNesting)
            return fail(
                o, QStringLiteral(": it is nested deeper than %1 levels (does it contain itself?)").arg(MaxNesting));
        if (sequence) {
            const Py_ssize_t n = PySequence_Fast_GET_SIZE(o);
            PyObject **items = PySequence_Fast_ITEMS(o);
            QCborArray array;
            for (Py_ssize_t i = 0; i < n; ++i) {
                QCborValue item;
                if (!convert(items[i], &item, depth + 1)) {
                    m_path.prepend(QStringLiteral("[%1]").arg(i));
                    return false;
                }
                array.append(std::move(item));
            }
            *out = std::move(array);
            return true;
        }
        QCborMap map;
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(o, &pos, &key, &value)) {
            if (!PyUnicode_Check(key)) {
                Ref repr(PyObject_Repr(key));
                PyErr_Clear();
                return fail(o, QStringLiteral(": its key %1 is of type '%2', and JSON/CBOR results need str keys")
                                   .arg(repr ? fromPyString(repr.get()).left(80) : QStringLiteral("?"), typeName(key)));
            }
            const QString name = fromPyString(key);
            QCborValue item;
            if (!convert(value, &item, depth + 1)) {
                m_path.prepend(QStringLiteral("['%1']").arg(name.left(80)));
                return false;
            }
            map.insert(name, std::move(item));
        }
        *out = std::move(map);
        return true;
    }

    QString message() const
    {
        const QString where = m_path.isEmpty() ? QString() : QStringLiteral(" (at result%1)").arg(m_path);
        return QStringLiteral("cannot convert a result of type '%1'%2 to JSON/CBOR%3").arg(m_type, where, m_detail);
    }

private:
    bool fail(PyObject *o, const QString &detail)
    {
        m_type = typeName(o);
        m_detail = detail;
        return false;
    }

    QString m_type;
    QString m_detail;
    QString m_path;
};

// ---- Jobs

struct JobSpec {
    QString source;
    QString function;
    QString filename = QStringLiteral("<job>");
    QStringList modules;
};

const QString ParamsShape
    = QStringLiteral("{\"source\": <Python source>, \"function\": <name>, \"modules\": [<names>] (optional), "
                     "\"filename\": <name> (optional)}");

bool parseParams(const QCborValue &params, JobSpec *spec, QString *error)
{
    if (!params.isMap()) {
        *error = params.isNull() || params.isUndefined()
                     ? QStringLiteral("the python plugin needs job parameters %1; this job has none").arg(ParamsShape)
                     : QStringLiteral("the python plugin's job parameters must be a map %1").arg(ParamsShape);
        return false;
    }
    const QCborMap map = params.toMap();
    const QCborValue source = map.value(QLatin1String("source"));
    const QCborValue function = map.value(QLatin1String("function"));
    const QCborValue modules = map.value(QLatin1String("modules"));
    const QCborValue filename = map.value(QLatin1String("filename"));
    if (!source.isString()) {
        *error = QStringLiteral("the python plugin's job parameters need \"source\": the Python source text");
        return false;
    }
    if (!function.isString() || function.toString().isEmpty()) {
        *error
            = QStringLiteral("the python plugin's job parameters need \"function\": the name of the function to call");
        return false;
    }
    spec->source = source.toString();
    spec->function = function.toString();
    if (!modules.isUndefined() && !modules.isNull()) {
        const auto bad = [&] {
            *error = QStringLiteral("the python plugin's \"modules\" must be an array of module names");
            return false;
        };
        if (!modules.isArray())
            return bad();
        for (const QCborValue &m : modules.toArray()) {
            if (!m.isString() || m.toString().trimmed().isEmpty())
                return bad();
            spec->modules.append(m.toString().trimmed());
        }
    }
    if (!filename.isUndefined() && !filename.isNull()) {
        if (!filename.isString() || filename.toString().isEmpty()) {
            *error = QStringLiteral("the python plugin's \"filename\" must be a non-empty string");
            return false;
        }
        spec->filename = filename.toString();
    }
    return true;
}

void setMainModule(Runtime &rt, PyObject *module)
{
    PyObject *modules = PyImport_GetModuleDict();
    if (PyDict_GetItem(modules, rt.sMain) != module && PyDict_SetItem(modules, rt.sMain, module) < 0)
        PyErr_Clear();
}

/**
 * (pickle bytes, [buffers as bytearrays]) from a pickled value's CBOR form: a byte string, or Pickle5Tag over
 * [pickle, buffer, ...]. Null (and *error set) for anything else.
 */
PyObject *pickledParts(const QCborValue &value, QString *error)
{
    const bool outOfBand = value.isTag() && value.tag() == QCborTag(Pickle5Tag);
    const QCborArray parts = outOfBand ? value.taggedValue().toArray() : QCborArray {value};
    bool wellFormed = !parts.isEmpty();
    for (const QCborValue &part : parts)
        wellFormed = wellFormed && part.isByteArray();
    if (!wellFormed) {
        *error = QStringLiteral("a pickled value must be bytes or [pickle, buffer, ...] under tag 0x74660005");
        return nullptr;
    }
    const QByteArray main = parts.at(0).toByteArray();
    Ref data(PyBytes_FromStringAndSize(main.constData(), main.size()));
    Ref buffers(PyList_New(0));
    for (qsizetype i = 1; data && buffers && i < parts.size(); ++i) {
        const QByteArray b = parts.at(i).toByteArray();
        Ref copy(PyByteArray_FromStringAndSize(b.constData(), b.size()));
        if (!copy || PyList_Append(buffers.get(), copy.get()) < 0)
            buffers = Ref();
    }
    return data && buffers ? PyTuple_Pack(2, data.get(), buffers.get()) : nullptr;
}

/** Bytes of pickledParts()'s (pickle bytes, [buffers]): what holding the value costs. */
qint64 pickledSize(PyObject *parts)
{
    qint64 size = PyBytes_Size(PyTuple_GetItem(parts, 0));
    PyObject *buffers = PyTuple_GetItem(parts, 1);
    for (Py_ssize_t i = 0; i < PyList_Size(buffers); ++i)
        size += PyByteArray_Size(PyList_GetItem(buffers, i));
    return size;
}

/** Imports the modules and runs the source in a new "__main__"; what they print goes to *output. */
void prepare(Runtime &rt, Job *job, const QCborValue &params, QString *output)
{
    JobSpec spec;
    if (!parseParams(params, &spec, &job->error))
        return;
    job->filename = Ref(toPyString(spec.filename));
    Ref source(toPyString(spec.source));
    job->module = Ref(PyModule_New("__main__"));
    if (!job->filename || !source || !job->module) {
        job->error = QStringLiteral("cannot prepare the job's Python code: ") + takeError(rt, nullptr, false).text;
        return;
    }
    Ref lines(PyUnicode_Splitlines(source.get(), 1));
    if (lines)
        job->sourceLines = Ref(
            Py_BuildValue("(nOOO)", PyUnicode_GET_LENGTH(source.get()), Py_None, lines.get(), job->filename.get()));
    PyErr_Clear();

    PyObject *globals = PyModule_GetDict(job->module.get()); // borrowed
    PyDict_SetItemString(globals, "__builtins__", rt.builtins);
    setMainModule(rt, job->module.get());
    OutputCapture capture(rt);

    for (const QString &name : std::as_const(spec.modules)) {
        const QByteArray utf8 = name.toUtf8();
        const QByteArray top = utf8.left(utf8.indexOf('.') < 0 ? utf8.size() : utf8.indexOf('.'));
        Ref imported(PyImport_ImportModule(utf8.constData()));
        Ref bound(imported ? PyImport_ImportModule(top.constData()) : nullptr);
        if (!bound || PyDict_SetItemString(globals, top.constData(), bound.get()) < 0) {
            job->error = QStringLiteral("cannot import \"%1\" (from the job's \"modules\"): %2")
                             .arg(name, takeError(rt, job, false).text);
            *output = capture.finish();
            return;
        }
    }

    const QByteArray sourceUtf8 = spec.source.toUtf8();
    Ref code(Py_CompileStringObject(sourceUtf8.constData(), job->filename.get(), Py_file_input, nullptr, -1));
    if (!code) {
        const PendingError e = takeError(rt, job, false);
        job->error = e.line > 0 ? QStringLiteral("syntax error in %1, line %2: %3\n%4")
                                      .arg(spec.filename)
                                      .arg(e.line)
                                      .arg(e.message, e.text)
                                : QStringLiteral("cannot compile %1: %2").arg(spec.filename, e.text);
        *output = capture.finish();
        return;
    }
    // The source runs under another name, so a script's `if __name__ == "__main__":` block (Parallel Python's
    // demos all have one) does not run on every worker. Afterwards the module is "__main__" again and what it
    // defined says so, so that pickles name them __main__.X, as they are in the client's own script.
    static const char RunName[] = "__taskfleet_job__";
    Ref runName(PyUnicode_FromString(RunName));
    PyDict_SetItemString(globals, "__name__", runName.get());
    Ref ran(PyEval_EvalCode(code.get(), globals, globals));
    PyDict_SetItemString(globals, "__name__", rt.sMain);
    if (ran) {
        PyObject *key = nullptr, *value = nullptr;
        Py_ssize_t pos = 0;
        while (PyDict_Next(globals, &pos, &key, &value)) {
            if (!PyType_Check(value) && !PyFunction_Check(value))
                continue;
            Ref owner(PyObject_GetAttrString(value, "__module__"));
            if (owner && PyUnicode_Check(owner.get()) && PyUnicode_CompareWithASCIIString(owner.get(), RunName) == 0)
                PyObject_SetAttrString(value, "__module__", rt.sMain);
            PyErr_Clear();
        }
    }
    if (!ran) {
        job->error = QStringLiteral("running %1 failed:\n%2").arg(spec.filename, takeError(rt, job, true).text);
        *output = capture.finish();
        return;
    }
    *output = capture.finish();

    job->function = Ref::borrowed(PyDict_GetItemString(globals, spec.function.toUtf8().constData()));
    if (!job->function)
        job->error = QStringLiteral("%1 defines no function \"%2\"").arg(spec.filename, spec.function);
    else if (!PyCallable_Check(job->function.get()))
        job->error = QStringLiteral("\"%1\" in %2 is of type '%3', not a function")
                         .arg(spec.function, spec.filename, typeName(job->function.get()));
    if (!job->error.isEmpty())
        return;

    // Values the client shared (server.share()): they came once with the parameters, and are unpickled once
    // here for every task of the job in this worker.
    const QCborValue shared = params.toMap().value(QLatin1String("shared"));
    if (shared.isMap()) {
        Ref entries(PyDict_New());
        for (auto it = shared.toMap().cbegin(); entries && it != shared.toMap().cend(); ++it) {
            QString why;
            Ref key(toPyString(it.key().toString()));
            Ref parts(pickledParts(it.value(), &why));
            if (parts)
                job->sharedBytes += pickledSize(parts.get());
            if (!why.isEmpty()) {
                job->error = QStringLiteral("the job's shared value %1: %2").arg(it.key().toString(), why);
                return;
            }
            if (!key || !parts || PyDict_SetItem(entries.get(), key.get(), parts.get()) < 0)
                entries = Ref();
        }
        job->shared = Ref(entries ? PyObject_CallOneArg(rt.loadShared, entries.get()) : nullptr);
        if (!job->shared)
            job->error = QStringLiteral("cannot unpickle the job's shared values:\n") + takeError(rt, job, true).text;
    }
}

} // namespace

struct PythonPlugin::Private {
    std::vector<Job> jobs; // most recently used first

    ~Private()
    {
        // Deliberately leaked: the interpreter outlives the plugin (never finalized), and dropping the last
        // reference to a job's module could run its code (__del__) while the process exits.
        for (Job &job : jobs) {
            job.module.release();
            job.function.release();
            job.filename.release();
            job.sourceLines.release();
            job.shared.release();
        }
    }

    Job &job(Runtime &rt, const QByteArray &id, TaskContext &context, QString *output)
    {
        if (!jobs.empty() && jobs.front().id == id)
            return jobs.front();
        for (size_t i = 1; i < jobs.size(); ++i) {
            if (jobs[i].id == id) {
                std::rotate(jobs.begin(), jobs.begin() + qsizetype(i), jobs.begin() + qsizetype(i) + 1);
                return jobs.front();
            }
        }
        if (jobs.size() >= size_t(MaxPreparedJobs))
            jobs.pop_back();
        jobs.insert(jobs.begin(), Job());
        jobs.front().id = id;
        prepare(rt, &jobs.front(), context.jobParameters(), output);
        // Bounded in bytes too, like the worker's cache of job parameters: the oldest jobs' shared values go first.
        qint64 bytes = 0;
        for (const Job &j : jobs)
            bytes += j.sharedBytes;
        while (jobs.size() > 1 && bytes > sharedBytesBound()) {
            bytes -= jobs.back().sharedBytes;
            jobs.pop_back();
        }
        return jobs.front();
    }
};

qint64 PythonPlugin::sharedBytesBound()
{
    static const qint64 bound = [] {
        const qint64 fromPool = qEnvironmentVariable("TASKFLEET_WORKER_VALUE_CACHE").toLongLong();
        return fromPool > 0 ? fromPool : MaxSharedBytes;
    }();
    return bound;
}

PythonPlugin::PythonPlugin()
    : d(std::make_unique<Private>())
{
    // Start the interpreter now, on the thread that loads the plugin: a worker told to preload it
    // (WorkerPoolOptions::preloadPlugins) is then ready before its first task arrives.
    runtime();
}

PythonPlugin::~PythonPlugin() = default;

QCborValue PythonPlugin::run(const QCborValue &input, TaskContext &context, QString *error)
{
    Runtime &rt = runtime();
    if (!rt.startError.isEmpty()) {
        *error = rt.startError;
        return {};
    }
    if (!PyGILState_Check()) {
        *error = QStringLiteral("the python plugin runs only on the thread that first called it");
        return {};
    }

    QByteArray id = context.jobParametersId();
    if (id.isEmpty()) { // a host without parameter ids: key the job by its parameters' digest ourselves
        const QCborValue params = context.jobParameters();
        if (!params.isNull() && !params.isUndefined())
            id = QCryptographicHash::hash(params.toCbor(), QCryptographicHash::Sha256);
        else
            id = QByteArrayLiteral("none");
    }
    QString printed;
    Job &job = d->job(rt, id, context, &printed);
    if (!printed.isEmpty())
        context.appendOutput(printed);
    if (!job.error.isEmpty()) {
        *error = job.error;
        return {};
    }

    // Pickles name the job's classes and functions __main__.X: that must be this job's module.
    setMainModule(rt, job.module.get());
    OutputCapture capture(rt);
    const bool outOfBand = input.isTag() && input.tag() == QCborTag(Pickle5Tag);
    const bool pickled = input.isByteArray() || outOfBand;
    Ref result;
    QString inputError;
    if (pickled) {
        // The pickle is read through a memoryview of the received bytes (the unpickler keeps no reference
        // to it); out-of-band buffers become bytearrays (one copy: they must outlive the task if the
        // function keeps them, and numpy arrays made from them must be writable, as in-band ones are).
        const QCborArray parts = outOfBand ? input.taggedValue().toArray() : QCborArray();
        const QByteArray bytes = outOfBand ? parts.at(0).toByteArray() : input.toByteArray();
        Ref data(PyMemoryView_FromMemory(const_cast<char *>(bytes.constData()), bytes.size(), PyBUF_READ));
        Ref kwargs;
        if (outOfBand) {
            bool wellFormed = !parts.isEmpty() && parts.at(0).isByteArray();
            for (const QCborValue &part : parts)
                wellFormed = wellFormed
                             && (part.isByteArray()
                                 || (part.isTag() && part.tag() == QCborTag(SharedBufferTag)
                                     && part.taggedValue().isString()));
            Ref buffers(wellFormed ? PyList_New(0) : nullptr);
            for (qsizetype i = 1; buffers && i < parts.size(); ++i) {
                Ref copy;
                if (parts.at(i).isTag()) {
                    // A buffer of the job's shared values: each task gets its own copy, as if it had travelled
                    // with the task (a task that writes to its array must not change the next task's).
                    const QString key = parts.at(i).taggedValue().toString();
                    Ref pyKey(toPyString(key));
                    PyObject *held = job.shared && pyKey ? PyDict_GetItem(job.shared.get(), pyKey.get()) : nullptr;
                    if (!held) {
                        inputError = QStringLiteral("the input names the shared buffer %1, which is not among the "
                                                    "job's shared values")
                                         .arg(key.left(20));
                        buffers = Ref();
                        break;
                    }
                    copy = Ref(PyByteArray_FromObject(held));
                } else {
                    const QByteArray b = parts.at(i).toByteArray();
                    copy = Ref(PyByteArray_FromStringAndSize(b.constData(), b.size()));
                }
                if (!copy || PyList_Append(buffers.get(), copy.get()) < 0)
                    buffers = Ref();
            }
            kwargs = Ref(buffers ? Py_BuildValue("{s:O}", "buffers", buffers.get()) : nullptr);
            if (!wellFormed)
                inputError = QStringLiteral("a pickled input with out-of-band buffers must be [pickle, buffer, ...]");
        }
        Ref loadArgs(data && inputError.isEmpty() ? PyTuple_Pack(1, data.get()) : nullptr);
        Ref args;
        if (job.shared && loadArgs && (!outOfBand || kwargs)) { // arguments that name shared values
            Ref noBuffers(outOfBand ? nullptr : PyList_New(0));
            PyObject *buffers = outOfBand ? PyDict_GetItemString(kwargs.get(), "buffers") : noBuffers.get();
            Ref pickle(buffers ? PyBytes_FromStringAndSize(bytes.constData(), bytes.size()) : nullptr);
            args = Ref(
                pickle ? PyObject_CallFunctionObjArgs(rt.loadsShared, pickle.get(), buffers, job.shared.get(), nullptr)
                       : nullptr);
        } else if (loadArgs && (!outOfBand || kwargs)) {
            args = Ref(PyObject_Call(rt.pickleLoads, loadArgs.get(), kwargs.get()));
        }
        if (args && PyList_Check(args.get()))
            args = Ref(PyList_AsTuple(args.get()));
        if (!args && inputError.isEmpty())
            inputError = QStringLiteral("cannot unpickle the input:\n") + takeError(rt, &job, true).text;
        else if (!args)
            PyErr_Clear(); // the input was refused before unpickling: inputError says why
        else if (!PyTuple_Check(args.get()))
            inputError = QStringLiteral("a pickled input must hold the tuple of arguments, not a '%1'")
                             .arg(typeName(args.get()));
        else
            result = Ref(PyObject_Call(job.function.get(), args.get(), nullptr));
    } else if (input.isArray()) {
        const QCborArray array = input.toArray();
        QVarLengthArray<PyObject *, 8> args;
        for (const QCborValue &v : array) {
            PyObject *arg = toPython(v, 1, &inputError);
            if (!arg)
                break;
            args.append(arg);
        }
        if (args.size() == array.size())
            result = Ref(PyObject_Vectorcall(job.function.get(), args.data(), size_t(args.size()), nullptr));
        else if (inputError.isEmpty())
            inputError = QStringLiteral("cannot convert the input to Python: ") + takeError(rt, nullptr, false).text;
        for (PyObject *arg : args)
            Py_DECREF(arg);
    } else {
        Ref arg(toPython(input, 0, &inputError));
        if (arg)
            result = Ref(PyObject_CallOneArg(job.function.get(), arg.get()));
        else if (inputError.isEmpty())
            inputError = QStringLiteral("cannot convert the input to Python: ") + takeError(rt, nullptr, false).text;
    }

    QCborValue out;
    if (!inputError.isEmpty()) {
        PyErr_Clear();
        *error = inputError;
    } else if (!result) {
        *error = takeError(rt, &job, true).text;
    } else if (pickled) {
        Ref pair(PyObject_CallOneArg(rt.dumpsOutOfBand, result.get()));
        PyObject *bytes = pair && PyTuple_Check(pair.get()) && PyTuple_GET_SIZE(pair.get()) == 2
                              ? PyTuple_GET_ITEM(pair.get(), 0)
                              : nullptr;
        PyObject *buffers = bytes ? PyTuple_GET_ITEM(pair.get(), 1) : nullptr;
        if (bytes && PyBytes_Check(bytes) && PyList_Check(buffers)) {
            QByteArray main(PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
            if (PyList_GET_SIZE(buffers) == 0) {
                out = QCborValue(std::move(main));
            } else {
                QCborArray parts {QCborValue(std::move(main))};
                for (Py_ssize_t i = 0; i < PyList_GET_SIZE(buffers); ++i) {
                    Py_buffer view;
                    if (PyObject_GetBuffer(PyList_GET_ITEM(buffers, i), &view, PyBUF_SIMPLE) < 0)
                        break;
                    // Not copied into a QByteArray first: the array copies it into its own storage, once.
                    parts.append(QByteArray::fromRawData(static_cast<const char *>(view.buf), view.len));
                    PyBuffer_Release(&view);
                }
                if (parts.size() == PyList_GET_SIZE(buffers) + 1)
                    out = QCborValue(QCborTag(Pickle5Tag), parts);
                else
                    *error = QStringLiteral("cannot pickle the result:\n") + takeError(rt, &job, true).text;
            }
        } else {
            *error = QStringLiteral("cannot pickle the result:\n") + takeError(rt, &job, true).text;
        }
    } else {
        ResultConverter converter;
        if (!converter.convert(result.get(), &out, 0)) {
            PyErr_Clear();
            *error = converter.message();
            out = QCborValue();
        }
    }
    result = Ref(); // its __del__, if any, prints into this task's output
    printed = capture.finish();
    if (!printed.isEmpty())
        context.appendOutput(printed);
    return out;
}

} // namespace taskfleet::plugins
