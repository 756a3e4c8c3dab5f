// SPDX-License-Identifier: MIT
#include "resultwriter.h"

#include "util/jsonwriter.h"

#include <cstdio>

namespace taskfleet::app {

bool ResultWriter::open(const QString &path, QString *error)
{
    const bool ok = path.isEmpty() || path == QStringLiteral("-")
                        ? m_file.open(stdout, QIODevice::WriteOnly)
                        : (m_file.setFileName(path), m_file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    if (!ok)
        *error = QStringLiteral("cannot write results to %1: %2").arg(path, m_file.errorString());
    return ok;
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
    out.append("\"index\":");
    out.append(QByteArray::number(r.index));
    out.append(",\"input\":");
    util::appendJson(out, input, spill);
    if (r.status == stats::TaskStatus::Ok) {
        out.append(",\"output\":");
        util::appendJson(out, r.output, spill);
    } else {
        out.append(",\"error\":");
        util::appendJsonString(out, r.error);
        out.append(",\"status\":");
        util::appendJsonString(out, stats::taskStatusName(r.status));
    }
    out.append(",\"node\":");
    util::appendJsonString(out, r.nodeName);
    out.append(",\"seconds\":");
    out.append(QByteArray::number(double(r.runtimeUs) / 1e6, 'f', 6));
    out.append(",\"attempts\":");
    out.append(QByteArray::number(r.attempts));
    if (!r.log.isEmpty()) {
        out.append(",\"stdout\":");
        util::appendJsonString(out, r.log);
    }
    out.append("}\n");
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
    if (m_file.write(m_buffer) != m_buffer.size())
        m_failed = true;
    if (m_buffer.capacity() > 4 * 1024 * 1024)
        m_buffer.clear(); // a held-back big line: give its memory back
    else
        m_buffer.resize(0); // keeps the allocation
}

void ResultWriter::flush()
{
    writeBuffer();
    if (!m_file.flush())
        m_failed = true;
    m_sinceFlush.start();
}

} // namespace taskfleet::app
