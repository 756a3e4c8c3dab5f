// SPDX-License-Identifier: MIT
// The crash task plugin: ends its worker process in a chosen way, for fault-tolerance tests.
#include "crashplugin.h"

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace taskfleet::plugins {

namespace {
// A real SIGSEGV, also in sanitizer builds (UBSan would otherwise report the null store and exit).
__attribute__((no_sanitize("undefined"))) void writeThroughNull()
{
    volatile int *volatile pointer = nullptr;
    *pointer = 42;
}
} // namespace

QCborValue CrashPlugin::run(const QCborValue &input, TaskContext &, QString *error)
{
    const QString mode = input.isString() ? input.toString() : QStringLiteral("abort");
    if (mode == QLatin1String("abort")) {
        std::abort();
    } else if (mode == QLatin1String("segfault")) {
        // Volatile twice (in writeThroughNull): the compiler can neither prove the pointer null (and emit a trap,
        // SIGILL) nor drop the store as dead before abort(). This must be a real SIGSEGV.
        writeThroughNull();
        std::abort(); // only if page 0 is mapped
    } else if (mode == QLatin1String("exit")) {
        std::exit(3);
    } else if (mode == QLatin1String("throw")) {
        throw std::runtime_error("crash plugin: exception requested by the input");
    } else if (mode == QLatin1String("hang")) {
        // Ignores cancellation on purpose: only the task timeout can end this.
        for (;;)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    *error = QStringLiteral("crash: unknown mode \"%1\" (use abort, segfault, exit, throw or hang)").arg(mode);
    return {};
}

} // namespace taskfleet::plugins
