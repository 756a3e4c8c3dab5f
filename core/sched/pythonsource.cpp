// SPDX-License-Identifier: MIT
#include "pythonsource.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QFileInfo>
#include <QtCore/QProcess>
#include <QtCore/QStandardPaths>

namespace taskfleet::sched {

namespace {
// Runs in the child: compile the whole source (as the worker will), then list the top-level functions.
// Prints "ok" and one function per line, or "error" and the message. Reads the source from stdin.
const char Checker[] = R"PY(
import ast, sys
name, wanted = sys.argv[1], sys.argv[2]
src = sys.stdin.buffer.read().decode("utf-8")
try:
    compile(src, name, "exec")
    tree = ast.parse(src, name)
except (SyntaxError, ValueError) as e:
    print("error")
    print("%s:%s: %s" % (getattr(e, "filename", None) or name, getattr(e, "lineno", None) or 1, getattr(e, "msg", None) or e))
    sys.exit(0)
funcs = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
if wanted and wanted not in funcs:
    print("error")
    print("%s: no top-level function named %r (functions: %s)" % (name, wanted, ", ".join(funcs) or "none"))
    sys.exit(0)
print("ok")
for f in funcs:
    print(f)
)PY";
} // namespace

QCborValue pythonJobParameters(const QString &source, const QString &function, const QStringList &modules,
                               const QString &fileName)
{
    QCborMap m;
    m.insert(QStringLiteral("source"), source);
    m.insert(QStringLiteral("function"), function);
    QCborArray mods;
    for (const QString &name : modules)
        mods.append(name);
    m.insert(QStringLiteral("modules"), mods);
    m.insert(QStringLiteral("filename"), fileName);
    return m;
}

QString pythonInterpreter()
{
    const QString fromEnv = qEnvironmentVariable("TASKFLEET_PYTHON");
    if (!fromEnv.isEmpty())
        return fromEnv;
    if (QFileInfo(QStringLiteral("/usr/bin/python3")).isExecutable())
        return QStringLiteral("/usr/bin/python3");
    return QStandardPaths::findExecutable(QStringLiteral("python3"));
}

PythonSourceInfo inspectPythonSource(const QString &source, const QString &fileName, const QString &function)
{
    PythonSourceInfo info;
    const QString python = pythonInterpreter();
    if (python.isEmpty())
        return info;
    QProcess p;
    p.setProcessChannelMode(QProcess::SeparateChannels);
    p.start(python, {QStringLiteral("-I"), QStringLiteral("-c"), QString::fromLatin1(Checker), fileName, function});
    if (!p.waitForStarted(10000))
        return info;
    p.write(source.toUtf8());
    p.closeWriteChannel();
    if (!p.waitForFinished(30000)) {
        p.kill();
        p.waitForFinished(5000);
        return info;
    }
    const QStringList lines = QString::fromUtf8(p.readAllStandardOutput()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    if (p.exitCode() != 0 || lines.isEmpty())
        return info;
    info.checked = true;
    if (lines.first() == QLatin1String("error"))
        info.error = lines.mid(1).join(QLatin1Char(' '));
    else
        info.functions = lines.mid(1);
    return info;
}

} // namespace taskfleet::sched
