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

#include <algorithm>
#include <iterator>

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
    const bool sorted = shown && m_sortColumn >= 0;
    const qint64 from = job.dropped + qint64(job.records.size()); // the number of the batch's first record
    const qsizetype overflow = qsizetype(job.records.size()) + records.size() - m_rowLimit;
    const qsizetype drop = overflow > 0 ? std::min<qsizetype>(overflow, qsizetype(job.records.size())) : 0;
    const qsizetype skip = records.size() > m_rowLimit ? records.size() - m_rowLimit : 0;
    // Rows appended at the end when nothing leaves and the order is the arrival; else one reset.
    const bool reset = shown && (drop > 0 || skip > 0 || sorted);
    const int first = int(job.records.size());
    if (reset)
        beginResetModel();
    else if (shown)
        beginInsertRows({}, first, first + int(records.size()) - 1);
    job.records.erase(job.records.begin(), job.records.begin() + drop);
    job.dropped += drop + skip;
    job.records.insert(job.records.end(), records.begin() + skip, records.end());
    if (sorted) {
        m_texts.erase(m_texts.begin(), m_texts.begin() + std::min<qsizetype>(drop, qsizetype(m_texts.size())));
        mergeIntoOrder(job.dropped, std::max(from + skip, job.dropped));
    }
    if (reset)
        endResetModel();
    else if (shown)
        endInsertRows();
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
    rebuildOrder();
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
    const size_t place = m_sortColumn >= 0 && size_t(index.row()) < m_order.size()
                             ? size_t(m_order[size_t(index.row())] - it->dropped)
                             : size_t(index.row());
    if (place >= it->records.size())
        return {};
    const sched::TaskRecord &r = it->records[place];
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

QString ResultsModel::sortText(const JobResults &job, const sched::TaskRecord &r) const
{
    switch (m_sortColumn) {
    case Input:
        return summarizeValue(inputOf(job, r.index));
    case Output:
        return r.status == stats::TaskStatus::Ok
                   ? summarizeValue(r.output)
                   : QStringLiteral("%1: %2").arg(stats::taskStatusName(r.status), r.error);
    case Node:
        return r.nodeName;
    default:
        return {};
    }
}

bool ResultsModel::sortsBefore(const JobResults &job, qint64 a, qint64 b) const
{
    const size_t pa = size_t(a - job.dropped), pb = size_t(b - job.dropped);
    const sched::TaskRecord &ra = job.records[pa];
    const sched::TaskRecord &rb = job.records[pb];
    int c = 0;
    switch (m_sortColumn) {
    case Index:
        c = ra.index < rb.index ? -1 : ra.index > rb.index;
        break;
    case Time:
        c = ra.runtimeUs < rb.runtimeUs ? -1 : ra.runtimeUs > rb.runtimeUs;
        break;
    case Attempts:
        c = ra.attempts < rb.attempts ? -1 : ra.attempts > rb.attempts;
        break;
    default:
        c = m_texts[pa].compare(m_texts[pb]);
        break;
    }
    if (c == 0)
        return a < b; // equal keys keep the order they came in, whichever way the sort goes
    return m_sortOrder == Qt::AscendingOrder ? c < 0 : c > 0;
}

void ResultsModel::rebuildOrder()
{
    m_order.clear();
    m_texts.clear();
    const auto it = m_jobs.constFind(m_current);
    if (m_sortColumn < 0 || it == m_jobs.constEnd())
        return;
    mergeIntoOrder(it->dropped, it->dropped);
}

void ResultsModel::mergeIntoOrder(qint64 dropped, qint64 from)
{
    const JobResults &job = m_jobs[m_current];
    const bool byText = m_sortColumn == Input || m_sortColumn == Output || m_sortColumn == Node;
    if (byText) // the text of every kept record not yet made (the new ones, or all after a sort())
        for (size_t p = m_texts.size(); p < job.records.size(); ++p)
            m_texts.push_back(sortText(job, job.records[p]));
    // The records dropped for the row limit leave the order; the new ones are sorted and merged in.
    m_order.erase(std::remove_if(m_order.begin(), m_order.end(), [dropped](qint64 n) { return n < dropped; }),
                  m_order.end());
    std::vector<qint64> added;
    added.reserve(size_t(dropped + qint64(job.records.size()) - from));
    for (qint64 n = from; n < dropped + qint64(job.records.size()); ++n)
        added.push_back(n);
    const auto before = [this, &job](qint64 a, qint64 b) { return sortsBefore(job, a, b); };
    std::sort(added.begin(), added.end(), before);
    std::vector<qint64> merged;
    merged.reserve(m_order.size() + added.size());
    std::merge(m_order.begin(), m_order.end(), added.begin(), added.end(), std::back_inserter(merged), before);
    m_order = std::move(merged);
}

void ResultsModel::sort(int column, Qt::SortOrder order)
{
    if (column >= ColumnCount)
        return;
    beginResetModel();
    m_sortColumn = column;
    m_sortOrder = order;
    rebuildOrder();
    endResetModel();
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
