// SPDX-License-Identifier: MIT
#include "jobfile.h"

#include "pythonsource.h"
#include "util/jsontocbor.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>

#include <cmath>

namespace taskfleet::sched {

namespace {

QString typeName(const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return QStringLiteral("a boolean");
    case QJsonValue::Double:
        return QStringLiteral("the number %1").arg(v.toDouble());
    case QJsonValue::String:
        return QStringLiteral("the text \"%1\"").arg(v.toString().left(40));
    case QJsonValue::Array:
        return QStringLiteral("an array");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Undefined:
        return QStringLiteral("nothing");
    }
    return QStringLiteral("something else");
}

bool isInteger(const QJsonValue &v)
{
    if (!v.isDouble())
        return false;
    const double d = v.toDouble();
    return std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15;
}

// Collects the first error as "origin: field "x": expected ..., got ...".
struct Problem {
    QString origin;
    QString *error;
    bool set(const QString &field, const QString &expected, const QJsonValue &got)
    {
        *error = QStringLiteral("%1: field \"%2\": expected %3, got %4").arg(origin, field, expected, typeName(got));
        return false;
    }
    bool say(const QString &text)
    {
        *error = QStringLiteral("%1: %2").arg(origin, text);
        return false;
    }
};

// \a range is the exact (CBOR) value from the job file, so 64-bit bounds such as 10^18 stay exact.
bool readRange(const QCborValue &range, const QJsonValue &shown, JobInputs *inputs, Problem &p)
{
    const QString expected = QStringLiteral("[start, stop] or [start, stop, step] of integers");
    if (!range.isArray())
        return p.set(QStringLiteral("inputs.range"), expected, shown);
    const QCborArray a = range.toArray();
    if (a.size() < 2 || a.size() > 3)
        return p.set(QStringLiteral("inputs.range"), expected, shown);
    for (qsizetype i = 0; i < a.size(); ++i)
        if (!a.at(i).isInteger())
            return p.set(QStringLiteral("inputs.range"), expected, shown.toArray().at(i));
    const qint64 start = a.at(0).toInteger();
    const qint64 stop = a.at(1).toInteger();
    const qint64 step = a.size() == 3 ? a.at(2).toInteger() : 1;
    if (step == 0)
        return p.say(QStringLiteral("field \"inputs.range\": the step must not be 0"));
    // In 128 bits: stop - start of two 64-bit bounds may not fit in 64 (a GCC/Clang extension; __extension__
    // tells -Wpedantic it is meant).
    __extension__ using Int128 = __int128;
    const Int128 span = step > 0 ? Int128(stop) - start : Int128(start) - stop;
    const Int128 stride = step > 0 ? Int128(step) : -Int128(step);
    const Int128 wide = span > 0 ? (span + stride - 1) / stride : 0;
    if (wide > MaxJobInputs)
        return p.say(QStringLiteral("field \"inputs.range\": more inputs than the limit of %1").arg(MaxJobInputs));
    const qint64 count = qint64(wide);
    if (count > MaxJobInputs)
        return p.say(QStringLiteral("field \"inputs.range\": %1 inputs is more than the limit of %2")
                         .arg(count)
                         .arg(MaxJobInputs));
    // Every value start + i * step lies between start and stop, so in 64 bits; they are made when a task
    // starts, not held for the whole job.
    *inputs = JobInputs::range(start, step, count);
    return true;
}

bool readLines(const QJsonValue &lines, const QString &baseDir, JobInputs *inputs, Problem &p)
{
    if (!lines.isString() || lines.toString().isEmpty())
        return p.set(QStringLiteral("inputs.lines"), QStringLiteral("the name of a text file"), lines);
    const QString path = QDir(baseDir).absoluteFilePath(lines.toString());
    // Only regular files of a sane size: a device such as /dev/zero would never end.
    const QFileInfo info(path);
    if (info.exists() && !info.isFile())
        return p.say(QStringLiteral("field \"inputs.lines\": %1 is not a regular file").arg(path));
    if (info.size() > MaxLinesFileSize)
        return p.say(
            QStringLiteral("field \"inputs.lines\": %1 is larger than %2 MiB").arg(path).arg(MaxLinesFileSize >> 20));
    // Each non-empty line is one input: JSON if it parses as JSON (42, "x", {...}), otherwise the text itself.
    // Only where each line starts is kept; the values are read again as their tasks start (LineSource).
    QString error;
    const auto source = LineSource::open(path, MaxJobInputs, &error);
    if (!source)
        return p.say(QStringLiteral("field \"inputs.lines\": ") + error);
    *inputs = JobInputs::lines(source);
    return true;
}

/**
 * The python plugin's shorthand: "script" (relative to the job file), "function" and "modules" become the
 * job's parameters, after a real CPython compiled the script and found the function.
 */
bool readPythonScript(const QJsonObject &o, const QString &baseDir, JobSpec *spec, Problem &p)
{
    const QJsonValue script = o.value(QStringLiteral("script"));
    const QJsonValue function = o.value(QStringLiteral("function"));
    const QJsonValue modules = o.value(QStringLiteral("modules"));
    if (o.contains(QStringLiteral("params")))
        return p.say(QStringLiteral("give either \"params\" or \"script\", not both"));
    if (!script.isString() || script.toString().isEmpty())
        return p.set(QStringLiteral("script"), QStringLiteral("the name of a Python file"), script);
    if (!function.isString() || function.toString().isEmpty())
        return p.set(QStringLiteral("function"), QStringLiteral("the name of a function in the script"), function);
    QStringList moduleNames;
    if (!modules.isUndefined()) {
        if (!modules.isArray())
            return p.set(QStringLiteral("modules"), QStringLiteral("an array of module names"), modules);
        for (const QJsonValue &m : modules.toArray()) {
            if (!m.isString() || m.toString().isEmpty())
                return p.set(QStringLiteral("modules"), QStringLiteral("an array of module names"), m);
            moduleNames.append(m.toString());
        }
    }
    const QString path = QDir(baseDir).absoluteFilePath(script.toString());
    const QFileInfo info(path);
    if (info.exists() && !info.isFile())
        return p.say(QStringLiteral("field \"script\": %1 is not a regular file").arg(path));
    if (info.size() > MaxPythonScriptSize)
        return p.say(
            QStringLiteral("field \"script\": %1 is larger than %2 MiB").arg(path).arg(MaxPythonScriptSize >> 20));
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return p.say(QStringLiteral("field \"script\": cannot read %1: %2").arg(path, f.errorString()));
    const QString source = QString::fromUtf8(f.readAll());
    const PythonSourceInfo check = inspectPythonSource(source, info.fileName(), function.toString());
    if (!check.error.isEmpty())
        return p.say(QStringLiteral("field \"script\": %1").arg(check.error));
    spec->parameters = pythonJobParameters(source, function.toString(), moduleNames, info.fileName());
    return true;
}

} // namespace

std::optional<JobSpec> parseJobJson(const QByteArray &json, const QString &origin, const QString &baseDir,
                                    const exec::PluginRegistry &plugins, QString *error)
{
    Problem p {origin, error};
    // Parsed once, exactly (64-bit integers, no lone surrogates, strings kept as UTF-8 bytes); inputs, range
    // and params are read from this tree. The other fields are checked on a QJsonObject made from it
    // without the inputs and params, which may be big (a second parse of a 50 MB input took longer than
    // running it).
    // A key named twice is refused at every level: with QJsonDocument's rule (the last one wins),
    // {"plugin": "echo", "plugin": "/etc/passwd"} would run a plugin the reader of the file does not see first.
    QCborValue exact;
    QString exactError;
    QVector<QCborValue> inputList; // the "inputs" array's values, each held once
    util::JsonRefusal refusal = util::JsonRefusal::NotJson;
    util::JsonReadOptions options;
    options.uniqueKeys = true;
    options.topLevelInputs = &inputList;
    options.refusal = &refusal;
    if (!util::parseJsonExact(json, &exact, &exactError, options)) {
        if (refusal == util::JsonRefusal::DuplicateKey)
            p.say(exactError);
        else
            p.say(QStringLiteral("not valid JSON: %1").arg(exactError));
        return std::nullopt;
    }
    if (!exact.isMap()) {
        p.say(QStringLiteral("expected a JSON object with \"plugin\" and \"inputs\""));
        return std::nullopt;
    }
    const QCborMap exactMap = exact.toMap();
    QJsonObject o;
    for (auto it = exactMap.cbegin(); it != exactMap.cend(); ++it) {
        const QString key = it.key().toString();
        if (key == QLatin1String("params"))
            o.insert(key, QJsonValue(QJsonValue::Null));
        else if (key == QLatin1String("inputs") && it.value().isArray())
            o.insert(key, QJsonArray());
        else
            o.insert(key, it.value().toJsonValue());
    }
    static const QStringList known
        = {QStringLiteral("plugin"),   QStringLiteral("inputs"),   QStringLiteral("name"),   QStringLiteral("retries"),
           QStringLiteral("timeout"),  QStringLiteral("priority"), QStringLiteral("params"), QStringLiteral("script"),
           QStringLiteral("function"), QStringLiteral("modules")};
    for (auto it = o.begin(); it != o.end(); ++it) {
        if (!known.contains(it.key())) {
            p.say(QStringLiteral("unknown field \"%1\" (known: %2)").arg(it.key(), known.join(QStringLiteral(", "))));
            return std::nullopt;
        }
    }

    JobSpec spec;
    spec.sourceFile = origin;

    const QJsonValue plugin = o.value(QStringLiteral("plugin"));
    if (!plugin.isString() || plugin.toString().isEmpty()) {
        p.set(QStringLiteral("plugin"), QStringLiteral("a plugin name or the path of a plugin file"), plugin);
        return std::nullopt;
    }
    QString pluginRef = plugin.toString();
    if (pluginRef.contains(QLatin1Char('/')) && QDir::isRelativePath(pluginRef))
        pluginRef = QDir(baseDir).absoluteFilePath(pluginRef);
    QString pluginError;
    const auto info = plugins.resolve(pluginRef, &pluginError);
    if (!info) {
        p.say(QStringLiteral("field \"plugin\": %1").arg(pluginError));
        return std::nullopt;
    }
    spec.plugin = *info;
    if (o.contains(QStringLiteral("script")) || o.contains(QStringLiteral("function"))
        || o.contains(QStringLiteral("modules"))) {
        if (spec.plugin.name != QLatin1String("python")) {
            p.say(QStringLiteral("fields \"script\", \"function\" and \"modules\" are for the python plugin, not %1")
                      .arg(spec.plugin.name));
            return std::nullopt;
        }
        if (!readPythonScript(o, baseDir, &spec, p))
            return std::nullopt;
    } else if (o.contains(QStringLiteral("params"))) {
        spec.parameters = exactMap.value(QStringLiteral("params"));
    }

    const QJsonValue inputs = o.value(QStringLiteral("inputs"));
    const QString inputsExpected
        = QStringLiteral("an array of inputs, {\"range\": [start, stop, step]} or {\"lines\": \"file.txt\"}");
    if (inputs.isArray()) {
        spec.inputs = std::move(inputList);
    } else if (inputs.isObject()) {
        const QJsonObject io = inputs.toObject();
        if (io.size() != 1 || !(io.contains(QStringLiteral("range")) || io.contains(QStringLiteral("lines")))) {
            p.set(QStringLiteral("inputs"), inputsExpected, inputs);
            return std::nullopt;
        }
        const bool ok = io.contains(QStringLiteral("range"))
                            ? readRange(exactMap.value(QStringLiteral("inputs")).toMap().value(QStringLiteral("range")),
                                        io.value(QStringLiteral("range")), &spec.inputs, p)
                            : readLines(io.value(QStringLiteral("lines")), baseDir, &spec.inputs, p);
        if (!ok)
            return std::nullopt;
    } else {
        p.set(QStringLiteral("inputs"), inputsExpected, inputs);
        return std::nullopt;
    }

    if (o.contains(QStringLiteral("name"))) {
        const QJsonValue v = o.value(QStringLiteral("name"));
        if (!v.isString()) {
            p.set(QStringLiteral("name"), QStringLiteral("text"), v);
            return std::nullopt;
        }
        spec.name = v.toString();
    }
    if (spec.name.isEmpty())
        spec.name = origin.isEmpty() ? spec.plugin.name : QFileInfo(origin).completeBaseName();

    if (o.contains(QStringLiteral("retries"))) {
        const QJsonValue v = o.value(QStringLiteral("retries"));
        if (!isInteger(v) || v.toDouble() < 0 || v.toDouble() > 100) {
            p.set(QStringLiteral("retries"), QStringLiteral("an integer from 0 to 100"), v);
            return std::nullopt;
        }
        spec.retries = int(v.toDouble());
    }
    if (o.contains(QStringLiteral("timeout"))) {
        const QJsonValue v = o.value(QStringLiteral("timeout"));
        if (!v.isDouble() || !(v.toDouble() > 0) || v.toDouble() > 30 * 86400) {
            p.set(QStringLiteral("timeout"), QStringLiteral("a number of seconds greater than 0"), v);
            return std::nullopt;
        }
        spec.timeoutMs = std::max<qint64>(1, qint64(v.toDouble() * 1000.0));
    }
    if (o.contains(QStringLiteral("priority"))) {
        const QJsonValue v = o.value(QStringLiteral("priority"));
        if (!isInteger(v) || std::fabs(v.toDouble()) > 1000) {
            p.set(QStringLiteral("priority"), QStringLiteral("an integer from -1000 to 1000"), v);
            return std::nullopt;
        }
        spec.priority = int(v.toDouble());
    }
    return spec;
}

std::optional<JobSpec> parseJobFile(const QString &path, const exec::PluginRegistry &plugins, QString *error)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("%1: cannot read the job file: %2").arg(path, f.errorString());
        return std::nullopt;
    }
    if (f.size() > 512 * 1024 * 1024) {
        *error = QStringLiteral("%1: job file is larger than 512 MiB").arg(path);
        return std::nullopt;
    }
    return parseJobJson(f.readAll(), path, QFileInfo(path).absolutePath(), plugins, error);
}

} // namespace taskfleet::sched
