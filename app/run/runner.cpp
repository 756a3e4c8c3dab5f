// SPDX-License-Identifier: MIT
#include "runner.h"

#include "exec/pluginregistry.h"
#include "sched/jobfile.h"
#include "sched/localnode.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QFileInfo>
#include <QtCore/QThread>

#include <cstdio>
#include <unistd.h>

namespace taskfleet::app {

namespace {
void printErr(const QString &text)
{
    std::fputs(qPrintable(text), stderr);
    std::fputc('\n', stderr);
}

QString formatDuration(double seconds)
{
    if (seconds < 0)
        return QStringLiteral("?");
    const qint64 s = qint64(seconds + 0.5);
    return s >= 3600 ? QStringLiteral("%1:%2:%3").arg(s / 3600).arg((s / 60) % 60, 2, 10, QLatin1Char('0')).arg(s % 60, 2, 10, QLatin1Char('0'))
                     : QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}
} // namespace

Runner::Runner(RunOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
{
}

bool Runner::start(int *exitCode)
{
    m_clock.start();
    exec::PluginRegistry registry;
    for (auto it = m_options.pluginPaths.crbegin(); it != m_options.pluginPaths.crend(); ++it)
        registry.addSearchPath(*it);

    QVector<sched::JobSpec> specs;
    for (const QString &file : std::as_const(m_options.jobFiles)) {
        QString error;
        auto spec = sched::parseJobFile(file, registry, &error);
        if (!spec) {
            printErr(QStringLiteral("taskfleet-run: ") + error);
            *exitCode = ExitBadUsage;
            return false;
        }
        specs.append(std::move(*spec));
    }

    const int workers = m_options.localWorkers >= 0 ? m_options.localWorkers : QThread::idealThreadCount();
    if (workers == 0 && m_options.nodes.isEmpty()) {
        printErr(QStringLiteral("taskfleet-run: no node to run tasks on: --local-workers is 0 and no --node was given"));
        *exitCode = ExitBadUsage;
        return false;
    }

    QString error;
    if (!m_writer.open(m_options.resultsFile, &error)) {
        printErr(QStringLiteral("taskfleet-run: ") + error);
        *exitCode = ExitBadUsage;
        return false;
    }
    m_writer.setKeepOrder(m_options.keepOrder);

    m_controller = new sched::Controller(this);
    m_controller->setSpeculation(m_options.speculation);
    exec::WorkerPoolOptions poolOptions;
    poolOptions.workers = workers;
    poolOptions.restartAfterEachTask = m_options.restartWorkers;
    m_controller->addNode(new sched::LocalNode(poolOptions));

    connect(m_controller, &sched::Controller::resultsRecorded, this, &Runner::onResults);
    connect(m_controller, &sched::Controller::jobFinished, this, &Runner::onJobFinished);

    for (sched::JobSpec &spec : specs) {
        m_tasksTotal += spec.inputs.size();
        const QString label = specs.size() > 1 ? spec.name : QString();
        const int id = m_controller->submit(std::move(spec));
        if (!label.isEmpty())
            m_writer.setJobLabel(id, label);
    }

    if (m_options.progress) {
        connect(&m_progressTimer, &QTimer::timeout, this, &Runner::onProgressTick);
        m_progressTimer.start(isatty(STDERR_FILENO) ? 200 : 2000);
    }
    return true;
}

void Runner::onResults(int jobId, const QVector<sched::TaskRecord> &records)
{
    const sched::Job *job = m_controller->job(jobId);
    if (!job)
        return;
    for (const sched::TaskRecord &r : records)
        if (r.status != stats::TaskStatus::Ok)
            m_anyFailed = true;
    m_writer.write(*job, records);
}

void Runner::onJobFinished(int)
{
    if (m_controller->allJobsOver())
        finish(m_anyFailed ? ExitSomeFailed : ExitAllOk);
}

void Runner::onProgressTick()
{
    const sched::ClusterSnapshot s = m_controller->snapshot(0);
    qint64 ended = 0;
    for (const sched::JobSnapshot &j : s.jobs)
        ended += j.done + j.errors + j.failed + j.cancelled;
    const double elapsed = double(m_clock.elapsed()) / 1000.0;
    const double rate = elapsed > 0 ? double(ended) / elapsed : 0;
    const double eta = rate > 0 ? double(m_tasksTotal - ended) / rate : -1;
    const QString text = QStringLiteral("%1/%2 tasks (%3%) %4 tasks/s, %5 failed, ETA %6")
                             .arg(ended)
                             .arg(m_tasksTotal)
                             .arg(m_tasksTotal ? 100.0 * double(ended) / double(m_tasksTotal) : 100.0, 0, 'f', 1)
                             .arg(rate, 0, 'f', rate < 10 ? 2 : 0)
                             .arg(s.failures)
                             .arg(formatDuration(eta));
    if (isatty(STDERR_FILENO))
        std::fprintf(stderr, "\r\033[K%s", qPrintable(text));
    else
        std::fprintf(stderr, "%s\n", qPrintable(text));
    std::fflush(stderr);
}

void Runner::finish(int exitCode)
{
    if (m_done)
        return;
    m_done = true;
    m_writer.flush();
    if (m_options.progress) {
        onProgressTick();
        if (isatty(STDERR_FILENO))
            std::fputc('\n', stderr);
    }
    const stats::Statistics &stats = m_controller->statistics();
    std::fputs(qPrintable(stats.printStats()), stderr);
    for (int id : m_controller->jobIds()) {
        const sched::Job *job = m_controller->job(id);
        printErr(QStringLiteral("job \"%1\": %2 tasks, %3 ok, %4 errors, %5 failed, wall time %6 s")
                     .arg(job->spec.name)
                     .arg(job->total())
                     .arg(job->done)
                     .arg(job->errors)
                     .arg(job->failed)
                     .arg(double(job->finishedUs - job->submittedUs) / 1e6, 0, 'f', 3));
    }
    if (!m_options.statsCsv.isEmpty()) {
        QString error;
        const QStringList files = stats.exportCsv(m_options.statsCsv, &error);
        if (files.isEmpty()) {
            printErr(QStringLiteral("taskfleet-run: ") + error);
            exitCode = ExitSomeFailed;
        }
    }
    emit finished(exitCode);
}

} // namespace taskfleet::app
