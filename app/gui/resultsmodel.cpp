// SPDX-License-Identifier: MIT
// Results of every job, kept in the window, and the table of one job's results.
#include "resultsmodel.h"

#include "sched/resultrecord.h"

#include "format.h"

#include "util/jsonwriter.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QSaveFile>
#include <QtGui/QBrush>
#include <QtGui/QColor>

namespace taskfleet::gui {

namespace {
QByteArray csvField(const QString &text)
{
    QByteArray s = text.toUtf8();
    if (s.contains(',') || s.contains('"') || s.contains('\n') || s.contains('\r')) {
        s.replace("\"", "\"\"");
        s = '"' + s + '"';
    }
    return s;
}

QString compactJson(const QCborValue &value)
{
    const QJsonValue v = value.toJsonValue();
    if (v.isObject())
        return QString::fromUtf8(QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact));
    if (v.isArray())
        return QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact));
    if (v.isString())
        return v.toString();
    if (v.isDouble())
        return QString::number(v.toDouble(), 'g', 17);
    if (v.isBool())
        return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    return {};
}
} // namespace

ResultsModel::ResultsModel(QObject *parent, int rowLimit)
    : QAbstractTableModel(parent)
    , m_rowLimit(qMax(1, rowLimit))
{
}

void ResultsModel::setJobInputs(int jobId, const sched::JobInputs &inputs)
{
    m_jobs[jobId].inputs = inputs;
    if (jobId == m_current && !m_jobs[jobId].records.empty())
        emit dataChanged(index(0, Input), index(rowCount() - 1, Input));
}

void ResultsModel::addRecords(int jobId, const QVector<sched::TaskRecord> &records)
{
    if (records.isEmpty())
        return;
    JobResults &job = m_jobs[jobId];
    const bool shown = jobId == m_current;
    const qsizetype overflow = qsizetype(job.records.size()) + records.size() - m_rowLimit;
    if (overflow > 0) {
        if (shown)
            beginResetModel();
        const qsizetype drop = std::min<qsizetype>(overflow, qsizetype(job.records.size()));
        job.records.erase(job.records.begin(), job.records.begin() + drop);
        job.dropped += drop;
        const qsizetype skip = records.size() > m_rowLimit ? records.size() - m_rowLimit : 0;
        job.dropped += skip;
        job.records.insert(job.records.end(), records.begin() + skip, records.end());
        if (shown)
            endResetModel();
    } else {
        const int first = int(job.records.size());
        if (shown)
            beginInsertRows({}, first, first + int(records.size()) - 1);
        job.records.insert(job.records.end(), records.begin(), records.end());
        if (shown)
            endInsertRows();
    }
    if (shown)
        emit countsChanged();
}

void ResultsModel::removeJob(int jobId)
{
    if (jobId == m_current)
        setCurrentJob(-1);
    m_jobs.remove(jobId);
}

void ResultsModel::setCurrentJob(int jobId)
{
    if (jobId == m_current)
        return;
    beginResetModel();
    m_current = jobId;
    endResetModel();
    emit countsChanged();
}

qint64 ResultsModel::droppedRows(int jobId) const
{
    const auto it = m_jobs.constFind(jobId);
    return it == m_jobs.constEnd() ? 0 : it->dropped;
}

qint64 ResultsModel::keptRows(int jobId) const
{
    const auto it = m_jobs.constFind(jobId);
    return it == m_jobs.constEnd() ? 0 : qint64(it->records.size());
}

QCborValue ResultsModel::inputOf(const JobResults &job, int index) const
{
    return index >= 0 && index < job.inputs.size() ? job.inputs.at(index) : QCborValue();
}

int ResultsModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid())
        return 0;
    const auto it = m_jobs.constFind(m_current);
    return it == m_jobs.constEnd() ? 0 : int(it->records.size());
}

int ResultsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ResultsModel::data(const QModelIndex &index, int role) const
{
    const auto it = m_jobs.constFind(m_current);
    if (!index.isValid() || it == m_jobs.constEnd() || index.row() >= int(it->records.size()))
        return {};
    const sched::TaskRecord &r = it->records[size_t(index.row())];
    const bool ok = r.status == stats::TaskStatus::Ok;
    if (role == Qt::ForegroundRole && index.column() == Output && !ok)
        return QBrush(QColor(0xc6, 0x28, 0x28));
    if (role == Qt::TextAlignmentRole
        && (index.column() == Index || index.column() == Time || index.column() == Attempts))
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && index.column() == Output)
        return ok ? summarizeValue(r.output, 2000) : r.error;
    if (role == SortRole) {
        switch (index.column()) {
        case Index:
            return r.index;
        case Time:
            return r.runtimeUs;
        case Attempts:
            return r.attempts;
        default:
            return data(index, Qt::DisplayRole);
        }
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Index:
        return r.index;
    case Input:
        return summarizeValue(inputOf(*it, r.index));
    case Output:
        return ok ? summarizeValue(r.output) : QStringLiteral("%1: %2").arg(stats::taskStatusName(r.status), r.error);
    case Node:
        return r.nodeName;
    case Time:
        return formatSeconds(double(r.runtimeUs) / 1e6);
    case Attempts:
        return r.attempts;
    default:
        return {};
    }
}

QVariant ResultsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *const names[ColumnCount] = {
        QT_TR_NOOP("Index"), QT_TR_NOOP("Input"), QT_TR_NOOP("Output or error"),
        QT_TR_NOOP("Node"),  QT_TR_NOOP("Time"),  QT_TR_NOOP("Attempts"),
    };
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

void ResultsModel::appendResultLine(QByteArray &out, const QCborValue &input, const sched::TaskRecord &r)
{
    // taskfleet-run -o's record: one record, one format, whichever program wrote it.
    out.append('{');
    sched::appendResultFields(out, input, r);
}

bool ResultsModel::exportJsonLines(const QString &path, QString *error) const
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *error = tr("%1: %2").arg(path, file.errorString());
        return false;
    }
    const auto it = m_jobs.constFind(m_current);
    if (it != m_jobs.constEnd()) {
        QByteArray line;
        for (const sched::TaskRecord &r : it->records) {
            line.clear();
            appendResultLine(line, inputOf(*it, r.index), r);
            file.write(line);
        }
    }
    return commitSaveFile(file, error);
}

bool ResultsModel::exportCsv(const QString &path, QString *error) const
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *error = tr("%1: %2").arg(path, file.errorString());
        return false;
    }
    file.write("index,status,input,output,error,node,runtime_s,attempts\n");
    const auto it = m_jobs.constFind(m_current);
    if (it != m_jobs.constEnd()) {
        for (const sched::TaskRecord &r : it->records) {
            const bool ok = r.status == stats::TaskStatus::Ok;
            QByteArray line = QByteArray::number(r.index) + ',' + stats::taskStatusName(r.status).toUtf8() + ','
                              + csvField(compactJson(inputOf(*it, r.index))) + ','
                              + csvField(ok ? compactJson(r.output) : QString()) + ','
                              + csvField(ok ? QString() : r.error) + ',' + csvField(r.nodeName) + ','
                              + QByteArray::number(double(r.runtimeUs) / 1e6, 'f', 6) + ','
                              + QByteArray::number(r.attempts) + '\n';
            file.write(line);
        }
    }
    return commitSaveFile(file, error);
}

} // namespace taskfleet::gui
