// SPDX-License-Identifier: MIT
// How Taskfleet's processes ask the C library's allocator to treat big buffers.
#pragma once

class QObject;

#include <QtCore/QtGlobal>

namespace taskfleet::util {

/**
 * Keeps big buffers (values of up to 64 MiB, frames, pickles) on the heap instead of a fresh mmap() each:
 * glibc maps every allocation above its threshold (128 KiB to start with) anew and unmaps it on free, so
 * a stream of 1 MiB values paid page faults for every page of every copy, and the processes spent more
 * time faulting pages in than copying them. The heap keeps up to 128 MiB of freed memory at its top
 * before giving it back. Call first thing in main(); a no-op where the C library is not glibc.
 */
void tuneAllocatorForBigValues();

/**
 * Gives free heap memory back to the system every few seconds (malloc_trim), so a burst of big values
 * or a connection storm leaves no lasting footprint. The timer belongs to \a owner's thread.
 */
void trimFreeMemoryPeriodically(QObject *owner);

/**
 * Asks the kernel to back the 2 MiB-aligned part of a fresh buffer of \a size bytes at \a data with huge pages
 * (madvise MADV_HUGEPAGE), before anything is written to it: filling it then takes one page fault per 2 MiB
 * instead of one per 4 KiB. Only for buffers of at least a few MiB that are about to be written whole; a no-op
 * where the system does not offer it (transparent huge pages "never", or not Linux).
 */
void adviseHugePages(void *data, qint64 size);

} // namespace taskfleet::util
