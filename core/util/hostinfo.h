// SPDX-License-Identifier: MIT
// What a node tells about its machine: load, memory, operating system (Nodes table).
#pragma once

#include <QtCore/QString>

namespace taskfleet::util {

/** A machine's state, as an agent reports it in hello and status; -1 / empty for unknown. */
struct HostInfo {
    double load = -1;          ///< 1-minute load average
    qint64 memUsed = -1;       ///< bytes in use (MemTotal - MemAvailable of /proc/meminfo)
    qint64 memTotal = -1;      ///< bytes
    int cores = 0;             ///< logical CPUs
    qint64 uptimeSeconds = -1; ///< how long the reporting process (agent or app) has run
    QString os;                ///< "Debian GNU/Linux 12 (bookworm), Linux 6.1.0"
    QString version;           ///< Taskfleet's version
};

/** This machine now (reads /proc/meminfo and the load average; cheap, but not per task). */
HostInfo readHostInfo();

/** MemTotal and MemAvailable from /proc/meminfo-formatted \a text, in bytes; false if either is missing. */
bool parseMemInfo(const QByteArray &text, qint64 *totalBytes, qint64 *availableBytes);

/** "3.1 / 15.6 GB" style text of \a used of \a total bytes; empty when unknown. */
QString formatMemory(qint64 used, qint64 total);

} // namespace taskfleet::util
