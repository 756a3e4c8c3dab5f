// SPDX-License-Identifier: MIT
// Helpers shared by the test executables.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QJsonObject>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QVector>

namespace taskfleet::test {

/** Directory holding the built programs (taskfleet-run, taskfleet-agent, taskfleet-worker, ...). */
QString binDir();
/** Full path of a built program. */
QString program(const QString &name);
/** Directory holding the built task plugins. */
QString pluginDir();
/** Full path of a built task plugin, by its short name ("echo", "sumprimes", ...). */
QString pluginPath(const QString &name);
/** Root of the source tree (for example job files in resources/). */
QString sourceDir();

/**
 * True when TASKFLEET_REQUIRE_ROOT_TESTS is set: CI runs as root, so a suite that needs root (network or
 * PID namespaces) must fail there rather than skip.
 */
bool rootTestsRequired();

/** Skips the current test function, or fails it where rootTestsRequired() (a skip there means something broke). */
#define TF_SKIP_OR_FAIL(message)                                                                                       \
    do {                                                                                                               \
        if (taskfleet::test::rootTestsRequired())                                                                      \
            QFAIL(message);                                                                                            \
        QSKIP(message);                                                                                                \
    } while (false)

/** How a program run by runProgram() ended. exitCode is -1 if it ran past its time (then killed), -2 if it crashed. */
struct ProgramRun {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
    /** stdout as JSON Lines (taskfleet-run's results), one object per non-empty line. */
    QVector<QJsonObject> jsonLines() const;
};

/** Runs one of the built programs (by name) with \a args, bounded by \a timeoutMs. */
ProgramRun runProgram(const QString &name, const QStringList &args, int timeoutMs = 60000);

/** Writes \a text to \a path (creating or replacing it); false on failure. */
bool writeFile(const QString &path, const QByteArray &text);

/**
 * How much slower this build runs than a plain one: 1, or 3 under AddressSanitizer + UBSan. Wall-clock bounds
 * in tests are multiplied by it (one factor, set by the sanitizer build) rather than loosened case by case.
 */
int timeScale();
/** True in the sanitizer build: its allocator keeps freed memory in quarantine, so memory bounds mean nothing. */
bool sanitized();

/** Sum of the primes below \a n by a sieve: a reference independent of the plugins' trial division. */
qint64 sumPrimesBelow(qint64 n);

/**
 * A TCP port of 127.0.0.1 that nothing listens on at the call, 0 if none was found. It lies below the kernel's
 * ephemeral range (32768 and up), so no outgoing connection of another process (ctest runs suites side by side)
 * can take it before the test listens on it or dials it; a port probed with 0 and closed is in that range.
 */
quint16 unusedPort();

} // namespace taskfleet::test
