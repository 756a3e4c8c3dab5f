// SPDX-License-Identifier: MIT
// The sleep task plugin: waits a given time, for scheduling, timeout and cancellation tests.
#include "sleepplugin.h"

#include "cborinput.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace taskfleet::plugins {

QCborValue SleepPlugin::run(const QCborValue &input, TaskContext &context, QString *error)
{
    using Clock = std::chrono::steady_clock;
    qint64 ms = 0;
    if (!toInteger(input, &ms) || ms < 0 || ms > MaxMs) {
        *error = QStringLiteral("sleep expects milliseconds, an integer from 0 to %1, got %2")
                     .arg(MaxMs)
                     .arg(input.toDiagnosticNotation());
        return {};
    }

    // Against a deadline, not by adding up slices, so that wake-up latency does not accumulate.
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::milliseconds(ms);
    constexpr auto Slice = std::chrono::milliseconds(10);
    for (auto now = start; now < deadline; now = Clock::now()) {
        if (context.isCancelled()) {
            const auto slept = std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count();
            *error = QStringLiteral("cancelled after %1 of %2 ms").arg(slept).arg(ms);
            return {};
        }
        context.reportProgress(double((now - start).count()) / double((deadline - start).count()));
        std::this_thread::sleep_for(std::min<Clock::duration>(Slice, deadline - now));
    }
    context.reportProgress(1.0);
    return ms;
}

} // namespace taskfleet::plugins
