// SPDX-License-Identifier: MIT
#include "allocator.h"

#include <QtCore/QObject>
#include <QtCore/QTimer>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
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

void adviseHugePages(void *data, qint64 size)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr quintptr HugePage = 2 * 1024 * 1024;
    if (size < qint64(2 * HugePage))
        return;
    const quintptr begin = (quintptr(data) + HugePage - 1) & ~(HugePage - 1);
    const quintptr end = (quintptr(data) + quintptr(size)) & ~(HugePage - 1);
    if (end > begin)
        madvise(reinterpret_cast<void *>(begin), end - begin, MADV_HUGEPAGE); // advice: a failure changes nothing
#else
    Q_UNUSED(data);
    Q_UNUSED(size);
#endif
}

} // namespace taskfleet::util
