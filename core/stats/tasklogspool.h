// SPDX-License-Identifier: MIT
// The per-task log kept on disk as it happens, so a controller's memory does not grow with the tasks it has run.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QTemporaryFile>

#include <functional>
#include <memory>
#include <vector>

namespace taskfleet::stats {

struct TaskLogEntry;

/**
 * An append-only list of TaskLogEntry in a temporary file (fixed 32-byte records, written in 64 KiB
 * blocks, removed when the spool goes). A controller that runs for days holds no per-task memory for
 * its log: at 64,000 tasks/s that was 3 MB/s of RAM (docs/scale.md). If no temporary file can be
 * made, the entries stay in memory (and a warning says so once).
 */
class TaskLogSpool
{
public:
    TaskLogSpool();
    ~TaskLogSpool();
    TaskLogSpool(const TaskLogSpool &) = delete;
    TaskLogSpool &operator=(const TaskLogSpool &) = delete;

    void append(const TaskLogEntry &entry);
    qint64 size() const { return m_count; }
    /** Calls \a visit with every entry in order (seq filled in) until it returns false; false if the file cannot be read. */
    bool forEach(const std::function<bool(const TaskLogEntry &)> &visit) const;
    /** True while the entries are on disk (false: the in-memory fallback). */
    bool onDisk() const { return m_file != nullptr; }

private:
    bool flush() const;

    mutable std::unique_ptr<QTemporaryFile> m_file;
    mutable QByteArray m_pending;       ///< records not yet written
    std::vector<TaskLogEntry> m_memory; ///< only without a file
    qint64 m_count = 0;
};

} // namespace taskfleet::stats
