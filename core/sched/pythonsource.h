// SPDX-License-Identifier: MIT
// Python jobs on the controller's side: the job parameters of the python plugin, and a check of a
// script with a real CPython before any task runs (a syntax error should not cost a task per input).
#pragma once

#include <QtCore/QCborValue>
#include <QtCore/QString>
#include <QtCore/QStringList>

namespace taskfleet::sched {

/** Largest Python script a job file may name. */
constexpr qint64 MaxPythonScriptSize = qint64(16) * 1024 * 1024;

/** What the python plugin expects as job parameters: {"source", "function", "modules", "filename"}. */
QCborValue pythonJobParameters(const QString &source, const QString &function, const QStringList &modules,
                               const QString &fileName);

/**
 * The Python interpreter used for checks: $TASKFLEET_PYTHON, else Debian's /usr/bin/python3 (the one
 * the python plugin embeds), else python3 on PATH. Empty if there is none.
 */
QString pythonInterpreter();

struct PythonSourceInfo {
    bool checked = false;  ///< false: no interpreter could run the check (nothing is known)
    QString error;         ///< "primes.py:7: invalid syntax", or a missing function; empty if fine
    QStringList functions; ///< the top-level functions, in source order
};

/**
 * Compiles \a source as \a fileName with a real CPython (in a child process, bounded in time) and lists
 * its top-level functions. If \a function is not empty, it must be one of them.
 */
PythonSourceInfo inspectPythonSource(const QString &source, const QString &fileName, const QString &function = {});

} // namespace taskfleet::sched
