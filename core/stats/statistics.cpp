// SPDX-License-Identifier: MIT
#include "statistics.h"

#include "csv.h"

#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QSaveFile>

#include <algorithm>

namespace taskfleet::stats {

namespace {
// Writes all of \a bytes; a short count (a full disk) is a failure, not a file silently cut short.
bool writeAll(QIODevice *out, const QByteArray &bytes)
{
    return out->write(bytes) == bytes.size();
}
} // namespace

QString taskStatusName(TaskStatus status)
{
    switch (status) {
    case TaskStatus::Ok:
        return QStringLiteral("ok");
    case TaskStatus::Error:
        return QStringLiteral("error");
    case TaskStatus::Failed:
        return QStringLiteral("failed");
    case TaskStatus::Cancelled:
        return QStringLiteral("cancelled");
    }
    return QStringLiteral("unknown");
}

Statistics::Statistics()
{
    m_clock.start();
    m_startEpochMs = QDateTime::currentMSecsSinceEpoch();
}

Statistics::Statistics(Clock clock, qint64 startEpochMs)
    : m_injectedClock(std::move(clock))
    , m_startEpochMs(startEpochMs)
{
}

int Statistics::nodeIndex(const QString &id, const QString &name)
{
    for (int i = 0; i < m_nodes.size(); ++i)
        if (m_nodes.at(i).id == id)
            return i;
    NodeTotals n;
    n.id = id;
    n.name = name;
    m_nodes.append(n);
    return int(m_nodes.size() - 1);
}

void Statistics::renameNode(int node, const QString &name)
{
    if (node >= 0 && node < m_nodes.size())
        m_nodes[node].name = name;
}

void Statistics::addToSeries(int node, qint64 atUs)
{
    const size_t second = size_t(atUs / 1000000);
    while (m_series.size() <= second)
        m_series.emplace_back();
    QVector<int> &bucket = m_series[second];
    if (bucket.size() < m_nodes.size())
        bucket.resize(m_nodes.size());
    if (node >= 0)
        ++bucket[node];
}

void Statistics::taskFinished(int node, int jobId, int index, qint64 startUs, qint64 runtimeUs, int attempts,
                              TaskStatus status)
{
    const qint64 now = nowUs();
    m_log.append(TaskLogEntry {m_log.size() + 1, jobId, index, node, startUs, runtimeUs, attempts, status});
    if (node >= 0 && (status == TaskStatus::Ok || status == TaskStatus::Error)) {
        NodeTotals &n = m_nodes[node];
        ++n.tasksDone;
        if (status == TaskStatus::Error)
            ++n.pluginErrors;
        n.taskTimeSum += double(runtimeUs) / 1e6;
        ++m_totalDone;
        addToSeries(node, now);
        m_jobRecent[jobId].add(int(now / 1000000));
    } else {
        addToSeries(-1, now);
    }
}

void Statistics::attemptFailed(int node)
{
    if (node >= 0)
        ++m_nodes[node].failures;
}

void Statistics::attemptLost(int node)
{
    if (node >= 0)
        ++m_nodes[node].lost;
}

void Statistics::duplicateDiscarded(int node)
{
    if (node >= 0)
        ++m_nodes[node].duplicates;
}

std::vector<TaskLogEntry> Statistics::taskLog() const
{
    std::vector<TaskLogEntry> entries;
    entries.reserve(size_t(m_log.size()));
    m_log.forEach([&entries](const TaskLogEntry &e) {
        entries.push_back(e);
        return true;
    });
    return entries;
}

qint64 Statistics::totalFailures() const
{
    qint64 n = 0;
    for (const NodeTotals &t : m_nodes)
        n += t.failures;
    return n;
}

int Statistics::seconds() const
{
    // Up to the second the clock is in, as documented, not only up to the second of the last result: after a
    // quiet spell (the job ended, every node stopped) the time series CSV lacked its last seconds and ended on
    // the last busy one, as if the throughput had never dropped.
    return std::max(int(m_series.size()), int(nowUs() / 1000000) + 1);
}

int Statistics::doneInSecond(int node, int second) const
{
    if (second < 0 || size_t(second) >= m_series.size())
        return 0;
    const QVector<int> &bucket = m_series[size_t(second)];
    if (node >= 0)
        return node < bucket.size() ? bucket.at(node) : 0;
    int sum = 0;
    for (int v : bucket)
        sum += v;
    return sum;
}

double Statistics::windowRate(const std::function<int(int)> &doneInSecond, int windowSeconds, qint64 atUs) const
{
    const qint64 now = atUs >= 0 ? atUs : nowUs();
    const int current = int(now / 1000000);
    const double partial = double(now % 1000000) / 1e6;
    int count = 0;
    for (int s = current - windowSeconds + 1; s <= current; ++s)
        count += doneInSecond(s);
    // The window spans (windowSeconds - 1) full seconds plus the part of this one that has passed.
    const double span = std::min(double(windowSeconds - 1) + partial, double(now) / 1e6);
    return span > 0.001 ? double(count) / span : 0.0;
}

double Statistics::rate(int node, int windowSeconds, qint64 atUs) const
{
    return windowRate([this, node](int second) { return doneInSecond(node, second); }, windowSeconds, atUs);
}

double Statistics::jobRate(int jobId, int windowSeconds, qint64 atUs) const
{
    const auto found = m_jobRecent.constFind(jobId);
    if (found == m_jobRecent.constEnd())
        return 0.0;
    const JobRecent &recent = *found;
    return windowRate([&recent](int second) { return recent.doneInSecond(second); },
                      std::min(windowSeconds, JobRateSeconds), atUs);
}

int Statistics::JobRecent::doneInSecond(int second) const
{
    if (second < 0 || second > lastSecond || second <= lastSecond - JobRateSeconds)
        return 0;
    return counts[size_t(second % JobRateSeconds)];
}

void Statistics::JobRecent::add(int second)
{
    if (second > lastSecond) {
        // Seconds since the last result had none: clear their slots (all of them after a long pause).
        const int from = std::max(lastSecond + 1, second - JobRateSeconds + 1);
        for (int s = from; s <= second; ++s)
            counts[size_t(s % JobRateSeconds)] = 0;
        lastSecond = second;
    }
    if (second > lastSecond - JobRateSeconds)
        ++counts[size_t(second % JobRateSeconds)];
}

QString Statistics::printStats() const
{
    QString out = QStringLiteral("Task execution statistics:\n");
    out += QStringLiteral(" task count | % of all tasks | task time sum | time per task | tasks/s | failures | node\n");
    qint64 total = 0;
    for (const NodeTotals &n : m_nodes)
        total += n.tasksDone;
    for (int i = 0; i < m_nodes.size(); ++i) {
        const NodeTotals &n = m_nodes.at(i);
        const double share = percentOfAll(n.tasksDone, total);
        out += QStringLiteral("%1 | %2 | %3 | %4 | %5 | %6 | %7\n")
                   .arg(n.tasksDone, 11)
                   .arg(share, 14, 'f', 2)
                   .arg(n.taskTimeSum, 13, 'f', 4)
                   .arg(n.timePerTask(), 13, 'f', 6)
                   .arg(rate(i, 5), 7, 'f', 1)
                   .arg(n.failures, 8)
                   .arg(n.name);
    }
    out += QStringLiteral("Time elapsed since the controller started: %1 s\n").arg(double(nowUs()) / 1e6, 0, 'f', 3);
    return out;
}

bool Statistics::writeSummaryCsv(QIODevice *out) const
{
    QString text
        = csvRow({QStringLiteral("node_id"), QStringLiteral("node"), QStringLiteral("tasks_done"),
                  QStringLiteral("percent_of_all"), QStringLiteral("task_time_sum_s"),
                  QStringLiteral("time_per_task_s"), QStringLiteral("tasks_per_s_5s"), QStringLiteral("plugin_errors"),
                  QStringLiteral("failures"), QStringLiteral("lost"), QStringLiteral("duplicates_discarded")});
    const auto row = [&](const NodeTotals &n, double rateNow) {
        const double share = percentOfAll(n.tasksDone, m_totalDone);
        text += csvRow({n.id, n.name, QString::number(n.tasksDone), QString::number(share, 'f', 2),
                        QString::number(n.taskTimeSum, 'f', 6), QString::number(n.timePerTask(), 'f', 6),
                        QString::number(rateNow, 'f', 2), QString::number(n.pluginErrors), QString::number(n.failures),
                        QString::number(n.lost), QString::number(n.duplicates)});
    };
    NodeTotals all;
    all.id = QStringLiteral("total");
    all.name = QStringLiteral("total");
    for (int i = 0; i < m_nodes.size(); ++i) {
        const NodeTotals &n = m_nodes.at(i);
        row(n, rate(i));
        all.tasksDone += n.tasksDone;
        all.pluginErrors += n.pluginErrors;
        all.failures += n.failures;
        all.lost += n.lost;
        all.duplicates += n.duplicates;
        all.taskTimeSum += n.taskTimeSum;
    }
    row(all, rate(-1));
    return writeAll(out, text.toUtf8());
}

bool Statistics::writeTimeSeriesCsv(QIODevice *out) const
{
    QStringList header {QStringLiteral("second"), QStringLiteral("unix_time"), QStringLiteral("total")};
    for (const NodeTotals &n : m_nodes)
        header << n.name;
    QString text = csvRow(header);
    for (int s = 0; s < seconds(); ++s) {
        QStringList row {QString::number(s), QString::number(m_startEpochMs / 1000 + s),
                         QString::number(doneInSecond(-1, s))};
        for (int i = 0; i < m_nodes.size(); ++i)
            row << QString::number(doneInSecond(i, s));
        text += csvRow(row);
    }
    return writeAll(out, text.toUtf8());
}

bool Statistics::writeTaskLogCsv(QIODevice *out) const
{
    if (!writeAll(out, csvRow({QStringLiteral("seq"), QStringLiteral("job"), QStringLiteral("index"),
                               QStringLiteral("node"), QStringLiteral("start_s"), QStringLiteral("runtime_s"),
                               QStringLiteral("attempts"), QStringLiteral("status")})
                           .toUtf8()))
        return false;
    QString text;
    bool written = true;
    const bool read = m_log.forEach([&](const TaskLogEntry &e) {
        text += csvRow({QString::number(e.seq), QString::number(e.jobId), QString::number(e.index),
                        e.node >= 0 && e.node < m_nodes.size() ? m_nodes.at(e.node).name : QString(),
                        QString::number(double(e.startUs) / 1e6, 'f', 6),
                        QString::number(double(e.runtimeUs) / 1e6, 'f', 6), QString::number(e.attempts),
                        taskStatusName(e.status)});
        if (text.size() > 1 << 20) {
            written = writeAll(out, text.toUtf8());
            text.clear();
        }
        return written;
    });
    return read && written && writeAll(out, text.toUtf8());
}

QStringList Statistics::exportCsv(const QString &path, QString *error) const
{
    QString base = path;
    if (base.endsWith(QStringLiteral(".csv"), Qt::CaseInsensitive))
        base.chop(4);
    const QStringList files {path, base + QStringLiteral(".timeseries.csv"), base + QStringLiteral(".tasks.csv")};
    for (int i = 0; i < files.size(); ++i) {
        QSaveFile f(files.at(i));
        if (!f.open(QIODevice::WriteOnly)) {
            *error = QStringLiteral("cannot write %1: %2").arg(files.at(i), f.errorString());
            return {};
        }
        const bool ok = i == 0 ? writeSummaryCsv(&f) : i == 1 ? writeTimeSeriesCsv(&f) : writeTaskLogCsv(&f);
        // QSaveFile keeps small writes in a buffer, and its commit() succeeds even when writing that buffer out
        // fails (a full disk: the file is then empty): write it out first. A write a full disk cut short fails
        // with no reason; the next one says why.
        if (!ok || !(f.flush() || f.flush()) || !f.commit()) {
            const QString reason = f.errorString();
            *error = QStringLiteral("cannot write %1: %2")
                         .arg(files.at(i), reason.isEmpty() || reason == QLatin1String("Unknown error")
                                               ? QStringLiteral("a write was cut short (is the disk full?)")
                                               : reason);
            f.cancelWriting();
            return {};
        }
    }
    return files;
}

} // namespace taskfleet::stats
