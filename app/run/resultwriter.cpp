// SPDX-License-Identifier: MIT
#include "resultwriter.h"

#include "sched/resultrecord.h"

#include "util/jsonwriter.h"

#include <algorithm>

#include <unistd.h>

namespace taskfleet::app {

bool ResultWriter::open(const QString &path, QString *error)
{
    // Unbuffered: this class gathers lines itself, and a write that fails says why at once (a full disk).
    const bool toStdout = path.isEmpty() || path == QStringLiteral("-");
    const bool ok = toStdout ? m_file.open(STDOUT_FILENO, QIODevice::WriteOnly | QIODevice::Unbuffered)
                             : (m_file.setFileName(path),
                                m_file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Unbuffered));
    m_name = toStdout ? QStringLiteral("standard output") : path;
    if (!ok)
        *error = QStringLiteral("cannot write results to %1: %2").arg(m_name, m_file.errorString());
    return ok;
}

void ResultWriter::fail(const QString &reason)
{
    if (m_failed)
        return;
    m_failed = true;
    m_error = QStringLiteral("cannot write results to %1: %2")
                  .arg(m_name, reason.isEmpty() || reason == QLatin1String("Unknown error")
                                   ? QStringLiteral("a write was cut short (is the disk full?)")
                                   : reason);
}

void ResultWriter::appendLine(QByteArray &out, int jobId, const QCborValue &input, const sched::TaskRecord &r,
                              const util::JsonSpill &spill) const
{
    out.append("{");
    const auto label = m_labels.constFind(jobId);
    if (label != m_labels.constEnd()) {
        out.append("\"job\":");
        util::appendJsonString(out, label.value());
        out.append(',');
    }
    sched::appendResultFields(out, input, r, spill);
}

void ResultWriter::write(int jobId, const sched::JobInputs &inputs, const QVector<sched::TaskRecord> &records)
{
    if (!m_keepOrder) {
        // Straight into the buffer, which a big value's JSON leaves for the file a MiB at a time.
        const util::JsonSpill spill = [this](QByteArray &) { writeBuffer(); };
        for (const sched::TaskRecord &r : records)
            appendLine(m_buffer, jobId, inputs.at(r.index), r, spill);
    } else {
        QMap<int, QByteArray> &held = m_heldBack[jobId];
        for (const sched::TaskRecord &r : records) {
            QByteArray line;
            appendLine(line, jobId, inputs.at(r.index), r, {});
            held.insert(r.index, line);
        }
        int &next = m_nextIndex[jobId];
        while (!held.isEmpty() && held.firstKey() == next) {
            m_buffer.append(held.take(next));
            ++next;
        }
    }
    // Someone may be reading the file while the job runs (or the run may be killed): keep it fresh.
    if (m_buffer.size() > 1 << 20 || !m_sinceFlush.isValid() || m_sinceFlush.elapsed() > 250)
        flush();
}

void ResultWriter::writeBuffer()
{
    if (m_buffer.isEmpty())
        return;
    // After a failed write the results are dropped: a file with a hole in it is worse than one cut short.
    // QFile reports a write a full disk cut short as a short count with no reason: the rest is written
    // again, and the write that fails then says why.
    for (qsizetype at = 0; !m_failed && at < m_buffer.size();) {
        const qint64 n = m_file.write(m_buffer.constData() + at, m_buffer.size() - at);
        if (n <= 0)
            fail(m_file.errorString());
        at += qsizetype(std::max<qint64>(n, 0));
    }
    if (m_buffer.capacity() > 4 * 1024 * 1024)
        m_buffer.clear(); // a held-back big line: give its memory back
    else
        m_buffer.resize(0); // keeps the allocation
}

void ResultWriter::flush()
{
    writeBuffer(); // unbuffered: nothing else to flush
    m_sinceFlush.start();
}

void ResultWriter::close()
{
    flush(); // stdout's too: QFile flushes the stdio stream it was opened on
    m_file.close();
}

} // namespace taskfleet::app
