// SPDX-License-Identifier: MIT
// Writes task results as JSON Lines, in completion order or in input order.
#pragma once

#include "sched/controller.h"
#include "util/jsonwriter.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QHash>
#include <QtCore/QMap>

namespace taskfleet::app {

/**
 * One JSON object per line: {"index", "input", "output" | "error", "node", "seconds", "attempts"},
 * plus "job" when several jobs run. With keepOrder, lines are held back until every earlier index
 * of the job is written (like GNU parallel -k).
 */
class ResultWriter
{
public:
    bool open(const QString &path, QString *error);
    void setKeepOrder(bool on) { m_keepOrder = on; }
    void setJobLabel(int jobId, const QString &label) { m_labels.insert(jobId, label); }
    /** Writes records of job \a jobId; each record's index points into \a inputs. */
    void write(int jobId, const sched::JobInputs &inputs, const QVector<sched::TaskRecord> &records);
    void flush();
    /** Flushes and closes the file; a failure shows in hasFailed(). */
    void close();
    /** True once a write failed (a full disk, a closed pipe): some results may be missing. */
    bool hasFailed() const { return m_failed; }
    /** Why the first write failed: "cannot write results to PATH: REASON"; empty while none did. */
    QString errorString() const { return m_error; }

private:
    /** Appends one record's line; with \a spill, a big value's JSON goes to the file in pieces as it is made. */
    void appendLine(QByteArray &out, int jobId, const QCborValue &input, const sched::TaskRecord &r,
                    const util::JsonSpill &spill) const;
    void writeBuffer();
    void fail(const QString &reason);

    QFile m_file;
    bool m_keepOrder = false;
    QHash<int, QString> m_labels;
    QHash<int, int> m_nextIndex;
    QHash<int, QMap<int, QByteArray>> m_heldBack;
    QByteArray m_buffer;
    QElapsedTimer m_sinceFlush;
    bool m_failed = false;
    QString m_name; ///< the path, or "standard output"
    QString m_error;
};

} // namespace taskfleet::app
