// SPDX-License-Identifier: MIT
#include "tasklogspool.h"

#include "statistics.h"
#include "util/logging.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QtEndian>

#include <algorithm>

namespace taskfleet::stats {

namespace {
constexpr qsizetype RecordSize = 32;
constexpr qsizetype BlockSize = 64 * 1024;

// Record layout, little-endian: job i32, index i32, node i32, attempts i16, status u8, 1 spare byte,
// startUs i64, runtimeUs i64. The sequence number is the position.
void encode(const TaskLogEntry &e, char *out)
{
    qToLittleEndian<qint32>(e.jobId, out);
    qToLittleEndian<qint32>(e.index, out + 4);
    qToLittleEndian<qint32>(e.node, out + 8);
    qToLittleEndian<qint16>(qint16(std::min(e.attempts, 32767)), out + 12);
    out[14] = char(e.status);
    out[15] = 0;
    qToLittleEndian<qint64>(e.startUs, out + 16);
    qToLittleEndian<qint64>(e.runtimeUs, out + 24);
}

TaskLogEntry decode(const char *in, qint64 seq)
{
    TaskLogEntry e;
    e.seq = seq;
    e.jobId = qFromLittleEndian<qint32>(in);
    e.index = qFromLittleEndian<qint32>(in + 4);
    e.node = qFromLittleEndian<qint32>(in + 8);
    e.attempts = qFromLittleEndian<qint16>(in + 12);
    e.status = TaskStatus(quint8(in[14]));
    e.startUs = qFromLittleEndian<qint64>(in + 16);
    e.runtimeUs = qFromLittleEndian<qint64>(in + 24);
    return e;
}
} // namespace

TaskLogSpool::TaskLogSpool()
{
    auto file = std::make_unique<QTemporaryFile>(QDir::tempPath() + QStringLiteral("/taskfleet-tasklog-XXXXXX"));
    if (file->open()) {
        m_file = std::move(file);
    } else {
        qCWarning(lcStats).noquote() << "the per-task log stays in memory: cannot create a file in" << QDir::tempPath()
                                     << "(" << file->errorString() << ")";
    }
}

TaskLogSpool::~TaskLogSpool() = default;

void TaskLogSpool::append(const TaskLogEntry &entry)
{
    ++m_count;
    if (!m_file) {
        m_memory.push_back(entry);
        m_memory.back().seq = m_count;
        return;
    }
    const qsizetype at = m_pending.size();
    m_pending.resize(at + RecordSize);
    encode(entry, m_pending.data() + at);
    if (m_pending.size() >= BlockSize)
        flush();
}

bool TaskLogSpool::flush() const
{
    if (!m_file || m_pending.isEmpty())
        return true;
    if (m_file->write(m_pending) != m_pending.size()) {
        // A full disk: keep what did not fit for the next try; the log is still complete in order.
        qCWarning(lcStats).noquote() << "cannot write the per-task log to" << m_file->fileName() << ":"
                                     << m_file->errorString();
        return false;
    }
    m_pending.clear();
    return m_file->flush();
}

bool TaskLogSpool::forEach(const std::function<bool(const TaskLogEntry &)> &visit) const
{
    if (!m_file) {
        for (const TaskLogEntry &e : m_memory)
            if (!visit(e))
                break;
        return true;
    }
    if (!flush())
        return false;
    // A second handle reads while the first keeps appending at its end.
    QFile in(m_file->fileName());
    if (!in.open(QIODevice::ReadOnly))
        return false;
    qint64 seq = 0;
    while (seq < m_count) {
        const QByteArray block = in.read(BlockSize);
        if (block.isEmpty() || block.size() % RecordSize != 0)
            return false;
        for (qsizetype at = 0; at < block.size() && seq < m_count; at += RecordSize)
            if (!visit(decode(block.constData() + at, ++seq)))
                return true;
    }
    return true;
}

} // namespace taskfleet::stats
