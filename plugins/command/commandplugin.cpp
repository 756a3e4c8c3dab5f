// SPDX-License-Identifier: MIT
// The command task plugin: runs one program per input (GNU parallel style templates), with a timeout.
#include "commandplugin.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QProcess>

#include <cmath>

#include <signal.h>
#include <unistd.h>

namespace taskfleet::plugins {

namespace {

constexpr int SliceMs = 20;

struct Invocation {
    QString program;
    QStringList arguments;
    QByteArray stdinData;
    qint64 timeoutMs = -1; // -1: none (the job's per-task timeout still ends the worker)
};

bool toStringList(const QCborValue &v, QStringList *out)
{
    if (!v.isArray() || v.toArray().isEmpty())
        return false;
    for (const QCborValue &item : v.toArray()) {
        if (!item.isString())
            return false;
        out->append(item.toString());
    }
    return true;
}

QString baseName(const QString &s)
{
    QString t = s;
    while (t.size() > 1 && t.endsWith(QLatin1Char('/')))
        t.chop(1);
    const int slash = t.lastIndexOf(QLatin1Char('/'));
    return slash < 0 ? t : t.mid(slash + 1);
}

QString dirName(const QString &s)
{
    const int slash = s.lastIndexOf(QLatin1Char('/'));
    if (slash < 0)
        return QStringLiteral(".");
    return slash == 0 ? QStringLiteral("/") : s.left(slash);
}

// Removes ".ext" from the last path component (not a leading dot: ".bashrc" stays).
QString withoutExtension(const QString &s)
{
    const int slash = s.lastIndexOf(QLatin1Char('/'));
    const int dot = s.lastIndexOf(QLatin1Char('.'));
    if (dot <= slash + 1)
        return s;
    return s.left(dot);
}

bool parseInput(const QCborValue &input, Invocation *inv, QString *error)
{
    const QString shell = QStringLiteral("/bin/sh");
    if (input.isString()) {
        inv->program = shell;
        inv->arguments = {QStringLiteral("-c"), input.toString()};
        return true;
    }
    if (input.isArray()) {
        QStringList argv;
        if (!toStringList(input, &argv)) {
            *error = QStringLiteral("command expects a non-empty array of strings");
            return false;
        }
        inv->program = argv.takeFirst();
        inv->arguments = argv;
        return true;
    }
    if (!input.isMap()) {
        *error = QStringLiteral("command expects a string, an array of strings or a map, got %1")
                     .arg(input.toDiagnosticNotation());
        return false;
    }
    const QCborMap m = input.toMap();
    const QCborValue cmd = m.value(QLatin1String("cmd"));
    const QCborValue args = m.value(QLatin1String("args"));
    const QCborValue tmpl = m.value(QLatin1String("template"));
    const int given = int(!cmd.isUndefined()) + int(!args.isUndefined()) + int(!tmpl.isUndefined());
    if (given != 1) {
        *error = QStringLiteral("command expects exactly one of \"cmd\", \"args\" or \"template\" in %1")
                     .arg(input.toDiagnosticNotation());
        return false;
    }
    if (!cmd.isUndefined()) {
        if (!cmd.isString()) {
            *error = QStringLiteral("command: \"cmd\" must be a string");
            return false;
        }
        inv->program = shell;
        inv->arguments = {QStringLiteral("-c"), cmd.toString()};
    } else if (!args.isUndefined()) {
        QStringList argv;
        if (!toStringList(args, &argv)) {
            *error = QStringLiteral("command: \"args\" must be a non-empty array of strings");
            return false;
        }
        inv->program = argv.takeFirst();
        inv->arguments = argv;
    } else {
        const QCborValue arg = m.value(QLatin1String("arg"));
        if (!tmpl.isString() || !arg.isString()) {
            *error = QStringLiteral("command: \"template\" and \"arg\" must both be strings");
            return false;
        }
        inv->program = shell;
        inv->arguments = {QStringLiteral("-c"), CommandPlugin::expandTemplate(tmpl.toString(), arg.toString())};
    }
    const QCborValue timeout = m.value(QLatin1String("timeout"));
    if (!timeout.isUndefined()) {
        const double s = timeout.isInteger() ? double(timeout.toInteger()) : timeout.toDouble(-1);
        if (!(s > 0) || !std::isfinite(s) || s > 30.0 * 86400) {
            *error = QStringLiteral("command: \"timeout\" must be seconds, more than 0 and at most 30 days");
            return false;
        }
        inv->timeoutMs = qint64(std::ceil(s * 1000));
    }
    const QCborValue in = m.value(QLatin1String("stdin"));
    if (!in.isUndefined()) {
        if (!in.isString()) {
            *error = QStringLiteral("command: \"stdin\" must be a string");
            return false;
        }
        inv->stdinData = in.toString().toUtf8();
    }
    return true;
}

// Appends what fits under the limit and counts the rest.
void keep(QByteArray *buffer, qint64 *dropped, const QByteArray &chunk)
{
    const qint64 room = CommandPlugin::MaxOutputBytes - buffer->size();
    if (room >= chunk.size()) {
        buffer->append(chunk);
    } else {
        if (room > 0)
            buffer->append(chunk.left(room));
        *dropped += chunk.size() - qMax<qint64>(room, 0);
    }
}

QString text(const QByteArray &bytes, qint64 dropped)
{
    QString s = QString::fromUtf8(bytes);
    if (dropped > 0)
        s += QStringLiteral("\n[taskfleet: output truncated, %1 more bytes not kept]").arg(dropped);
    return s;
}

void killGroup(QProcess &p)
{
    const qint64 pid = p.processId();
    if (pid > 0)
        ::kill(-pid_t(pid), SIGKILL); // the program and everything it started (own process group)
    p.kill();
    p.waitForFinished(5000);
}

} // namespace

QString CommandPlugin::shellQuote(const QString &s)
{
    QString q = s;
    q.replace(QLatin1Char('\''), QLatin1String("'\\''"));
    return QLatin1Char('\'') + q + QLatin1Char('\'');
}

QString CommandPlugin::expandTemplate(const QString &tmpl, const QString &arg)
{
    struct Token {
        QLatin1String text;
        QString value;
    };
    // Longest first, so that "{//}" is not read as "{/}" followed by garbage.
    const Token tokens[] = {
        {QLatin1String("{//}"), dirName(arg)},
        {QLatin1String("{/.}"), withoutExtension(baseName(arg))},
        {QLatin1String("{/}"), baseName(arg)},
        {QLatin1String("{.}"), withoutExtension(arg)},
        {QLatin1String("{}"), arg},
    };
    QString out;
    bool replaced = false;
    for (int i = 0; i < tmpl.size();) {
        bool matched = false;
        for (const Token &t : tokens) {
            if (QStringView(tmpl).mid(i).startsWith(t.text)) {
                out += shellQuote(t.value);
                i += int(t.text.size());
                matched = replaced = true;
                break;
            }
        }
        if (!matched)
            out += tmpl.at(i++);
    }
    if (!replaced)
        out += QLatin1Char(' ') + shellQuote(arg);
    return out;
}

QCborValue CommandPlugin::run(const QCborValue &input, TaskContext &context, QString *error)
{
    Invocation inv;
    if (!parseInput(input, &inv, error))
        return {};

    QProcess p;
    p.setProgram(inv.program);
    p.setArguments(inv.arguments);
    p.setChildProcessModifier([] { ::setpgid(0, 0); });
    p.start();
    if (!p.waitForStarted(30000)) {
        *error = QStringLiteral("cannot start %1: %2").arg(inv.program, p.errorString());
        return {};
    }
    if (!inv.stdinData.isEmpty())
        p.write(inv.stdinData);
    p.closeWriteChannel();

    QByteArray out;
    QByteArray err;
    qint64 outDropped = 0;
    qint64 errDropped = 0;
    const QDeadlineTimer deadline(inv.timeoutMs < 0 ? QDeadlineTimer(QDeadlineTimer::Forever)
                                                    : QDeadlineTimer(inv.timeoutMs));
    QString stopped;
    while (p.state() != QProcess::NotRunning) {
        p.waitForFinished(SliceMs); // also reads both pipes into QProcess's buffers, which we drain below
        keep(&out, &outDropped, p.readAllStandardOutput());
        keep(&err, &errDropped, p.readAllStandardError());
        if (p.state() == QProcess::NotRunning)
            break;
        if (context.isCancelled()) {
            stopped = QStringLiteral("cancelled");
            break;
        }
        if (deadline.hasExpired()) {
            stopped = QStringLiteral("timed out after %1 s").arg(double(inv.timeoutMs) / 1000.0);
            break;
        }
    }
    if (!stopped.isEmpty()) {
        killGroup(p);
        *error = QStringLiteral("command %1 (killed)").arg(stopped);
        return {};
    }
    keep(&out, &outDropped, p.readAllStandardOutput());
    keep(&err, &errDropped, p.readAllStandardError());

    const QString errText = text(err, errDropped);
    if (p.exitStatus() == QProcess::CrashExit) {
        *error = QStringLiteral("command killed by a signal; stderr: %1").arg(errText.right(ErrorTailChars));
        return {};
    }
    if (p.exitCode() != 0) {
        *error = QStringLiteral("command exited with code %1; stderr: %2")
                     .arg(p.exitCode())
                     .arg(errText.right(ErrorTailChars).trimmed());
        return {};
    }
    QCborMap result;
    result.insert(QLatin1String("exit"), p.exitCode());
    result.insert(QLatin1String("stdout"), text(out, outDropped));
    result.insert(QLatin1String("stderr"), errText);
    return result;
}

} // namespace taskfleet::plugins
