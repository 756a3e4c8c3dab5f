// SPDX-License-Identifier: MIT
#include "allocator.h"

#include <QtCore/QObject>
#include <QtCore/QTimer>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace taskfleet::util {

namespace {
constexpr int MmapThreshold = 64 * 1024 * 1024;  // bigger blocks are still mapped (the largest values)
constexpr int TrimThreshold = 128 * 1024 * 1024; // free memory kept at the heap's top
constexpr int TrimIntervalMs = 5000;
} // namespace

void tuneAllocatorForBigValues()
{
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, MmapThreshold); // also turns off glibc's own moving threshold
    mallopt(M_TRIM_THRESHOLD, TrimThreshold);
#endif
}

void trimFreeMemoryPeriodically(QObject *owner)
{
#if defined(__GLIBC__)
    auto *timer = new QTimer(owner);
    timer->setTimerType(Qt::VeryCoarseTimer);
    QObject::connect(timer, &QTimer::timeout, [] { malloc_trim(0); });
    timer->start(TrimIntervalMs);
#else
    Q_UNUSED(owner);
#endif
}

} // namespace taskfleet::util
