// SPDX-License-Identifier: MIT
#include "runner.h"

#include "discoverysetup.h"

#include "exec/pluginregistry.h"
#include "sched/jobfile.h"
#include "sched/localnode.h"
#include "sched/remotenode.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QFileInfo>
#include <QtCore/QMap>
#include <QtCore/QThread>
#include <QtCore/QUuid>

#include <algorithm>
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
    return s >= 3600 ? QStringLiteral("%1:%2:%3")
                           .arg(s / 3600)
                           .arg((s / 60) % 60, 2, 10, QLatin1Char('0'))
                           .arg(s % 60, 2, 10, QLatin1Char('0'))
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

    // The local workers start while the job files are read: a big job file's parse and the workers' start
    // overlap instead of adding up.
    const int workers = m_options.localWorkers >= 0 ? m_options.localWorkers : QThread::idealThreadCount();
    m_controller = new sched::Controller(this);
    m_controller->setSpeculation(m_options.speculation);
    if (m_options.maxValueBytes > 0)
        m_controller->setMaxValueSize(m_options.maxValueBytes);
    exec::WorkerPoolOptions poolOptions;
    poolOptions.workers = workers;
    poolOptions.restartAfterEachTask = m_options.restartWorkers;
    m_controller->addNode(new sched::LocalNode(poolOptions));

    QVector<sched::JobSpec> specs;
    if (!m_options.resumeFile.isEmpty() && !loadResume(exitCode))
        return false;
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

    if (workers == 0 && m_options.nodes.isEmpty() && !m_options.discover && m_options.listen.isEmpty()) {
        printErr(QStringLiteral("taskfleet-run: no node to run tasks on: --local-workers is 0 and none of --node, "
                                "--listen and --discover was given"));
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
    if (!openJournal(exitCode))
        return false;

    for (const QString &address : std::as_const(m_options.nodes)) {
        auto *node = makeRemoteNode(address, m_options);
        m_controller->addNode(node);
        watchRemoteNode(node);
        node->start();
    }
    if (m_options.discover && !startDiscovery(exitCode))
        return false;
    if (!m_options.listen.isEmpty()) {
        QString error;
        m_listener = makeAgentListener(m_controller, m_options, this, &error);
        if (!m_listener) {
            printErr(QStringLiteral("taskfleet-run: ") + error);
            *exitCode = ExitBadUsage;
            return false;
        }
        connect(m_listener, &sched::AgentListener::nodeAdded, this, &Runner::watchRemoteNode);
    }
    if (workers == 0 && (!m_options.nodes.isEmpty() || m_options.discover || m_listener)) {
        connect(&m_nodeWatchdog, &QTimer::timeout, this, &Runner::onNodeWatchdog);
        m_nodeWatchdog.start(100);
    }

    connect(m_controller, &sched::Controller::resultsRecorded, this, &Runner::onResults);
    connect(m_controller, &sched::Controller::jobFinished, this, &Runner::onJobFinished);

    const qsizetype jobCount = m_resumed.size() + specs.size();
    for (const sched::JournaledJob &j : std::as_const(m_resumed)) // only the missing tasks run
        submitMissing(j, jobCount > 1 ? j.spec.name : QString());
    if (!m_resumed.isEmpty() && !writeJournaledResults(exitCode))
        return false;
    for (sched::JobSpec &spec : specs) {
        m_tasksTotal += spec.inputs.size();
        const QString key = QUuid::createUuid().toString(QUuid::WithoutBraces);
        if (m_journaling)
            m_journal.writeJob(key, spec);
        const sched::JobInputs inputs = spec.inputs;
        const QString label = jobCount > 1 ? spec.name : QString();
        const int id = submitJob(std::move(spec), key, {}, 0, inputs, -1);
        if (!label.isEmpty())
            m_writer.setJobLabel(id, label);
    }
    reportWriteFailures();

    if (m_options.progress) {
        connect(&m_progressTimer, &QTimer::timeout, this, &Runner::onProgressTick);
        m_progressTimer.start(isatty(STDERR_FILENO) ? 200 : 2000);
    }
    return true;
}

void Runner::watchRemoteNode(sched::RemoteNode *node)
{
    connect(node, &sched::Node::stateChanged, this, [this, node] {
        const bool bad = node->state() == sched::NodeState::Refused || node->state() == sched::NodeState::Incompatible;
        // While the remote-only watchdog runs, it prints the reasons itself (once, all nodes together).
        if (bad && !m_nodeWatchdog.isActive() && !m_reported.contains(node->address())) {
            m_reported.insert(node->address());
            printErr(QStringLiteral("taskfleet-run: %1: %2").arg(node->address(), node->stateReason()));
        } else if (node->state() == sched::NodeState::Online) {
            m_reported.remove(node->address());
        }
    });
}

bool Runner::startDiscovery(int *exitCode)
{
    m_discovery = makeDiscovery(m_controller, m_options, this);
    connect(m_discovery, &sched::ClusterDiscovery::eventLogged, this,
            [](const QString &message) { printErr(QStringLiteral("taskfleet-run: ") + message); });
    connect(m_discovery, &sched::ClusterDiscovery::nodeAdded, this, [this](const QString &id) {
        if (auto *node = qobject_cast<sched::RemoteNode *>(m_controller->findNode(id)))
            watchRemoteNode(node);
    });
    QString error;
    if (!m_discovery->start(&error)) {
        printErr(QStringLiteral("taskfleet-run: --discover: cannot listen on UDP port %1: %2")
                     .arg(m_options.discoveryPort)
                     .arg(error));
        // Without local workers or --node there is nothing else to run on.
        if (m_options.localWorkers == 0 && m_options.nodes.isEmpty()) {
            *exitCode = ExitNoNode;
            return false;
        }
    }
    return true;
}

void Runner::printRejections()
{
    const QString summary = m_discovery ? m_discovery->rejectionSummary() : QString();
    if (!summary.isEmpty())
        printErr(QStringLiteral("taskfleet-run: discovery rejected: ") + summary);
}

int Runner::submitJob(sched::JobSpec spec, const QString &key, QVector<int> originalIndex, qint64 offset,
                      sched::JobInputs inputs, int writerId)
{
    const int id = m_controller->submit(std::move(spec));
    m_runJobs.insert(id,
                     RunJob {key, std::move(inputs), std::move(originalIndex), offset, writerId < 0 ? id : writerId});
    ++m_segmentsLeft[key];
    return id;
}

// The tasks of a resumed job that have no result yet. Each run of at least MinRun missing tasks (a range's
// untouched tail, typically) becomes a job of its own inputs.mid(), which for a range is three numbers again;
// the scattered rest (the tasks that were running at the kill) one job with a list. So resuming a range job
// killed half-way holds about what a fresh run of its missing half holds, plus one bit per task.
void Runner::submitMissing(const sched::JournaledJob &j, const QString &label)
{
    constexpr qsizetype MinRun = 4096;
    constexpr int MaxRuns = 16; // the longest ones; each is a job for the controller to walk
    const qsizetype n = j.spec.inputs.size();
    QVector<std::pair<qsizetype, qsizetype>> runs; // [start, end)
    for (qsizetype i = 0; i < n;) {
        if (j.done.testBit(i)) {
            ++i;
            continue;
        }
        const qsizetype start = i;
        while (i < n && !j.done.testBit(i))
            ++i;
        if (i - start >= MinRun)
            runs.append({start, i});
    }
    if (runs.size() > MaxRuns) {
        std::sort(runs.begin(), runs.end(),
                  [](const auto &a, const auto &b) { return a.second - a.first > b.second - b.first; });
        runs.resize(MaxRuns);
        std::sort(runs.begin(), runs.end());
    }
    sched::JobSpec scattered = j.spec;
    scattered.inputs.clear();
    QVector<int> originalIndex;
    qsizetype nextRun = 0;
    for (qsizetype i = 0; i < n; ++i) {
        if (nextRun < runs.size() && i == runs.at(nextRun).first) {
            i = runs.at(nextRun++).second - 1;
            continue;
        }
        if (!j.done.testBit(i)) {
            scattered.inputs.append(j.spec.inputs.at(i));
            originalIndex.append(int(i));
        }
    }
    int writerId = -1;
    const auto submit = [&](sched::JobSpec spec, QVector<int> index, qint64 offset) {
        m_tasksTotal += spec.inputs.size();
        const int id = submitJob(std::move(spec), j.key, std::move(index), offset, j.spec.inputs, writerId);
        if (writerId < 0)
            writerId = id;
    };
    // The scattered tasks first: with -k, the lines held back wait for them.
    if (!scattered.inputs.isEmpty() || runs.isEmpty())
        submit(std::move(scattered), std::move(originalIndex), 0);
    for (const auto &[start, end] : std::as_const(runs)) {
        sched::JobSpec part = j.spec;
        part.inputs = j.spec.inputs.mid(start, end - start);
        submit(std::move(part), {}, start);
    }
    if (!label.isEmpty())
        m_writer.setJobLabel(writerId, label);
}

// The results a resumed journal holds, written again from the file as it is read a second time (never all
// held at once), in batches.
bool Runner::writeJournaledResults(int *exitCode)
{
    QHash<QString, std::pair<int, const sched::JobInputs *>> byKey;
    for (const sched::JournaledJob &j : std::as_const(m_resumed)) {
        for (auto it = m_runJobs.cbegin(); it != m_runJobs.cend(); ++it)
            if (it->key == j.key) {
                byKey.insert(j.key, {it->writerId, &j.spec.inputs});
                break;
            }
    }
    QVector<sched::TaskRecord> batch;
    QString batchKey;
    const auto flush = [&] {
        if (batch.isEmpty())
            return;
        const auto &[writerId, inputs] = byKey.value(batchKey);
        m_writer.write(writerId, *inputs, batch);
        batch.clear();
    };
    QString error;
    const auto read = sched::JournalReader::scan(
        m_options.resumeFile,
        [&](const sched::JournaledJob &job, const sched::TaskRecord &r) {
            if (!byKey.contains(job.key))
                return;
            if (job.key != batchKey || batch.size() >= 4096) {
                flush();
                batchKey = job.key;
            }
            if (r.status != stats::TaskStatus::Ok)
                m_anyFailed = true;
            batch.append(r);
        },
        &error);
    flush();
    if (!read) {
        printErr(QStringLiteral("taskfleet-run: ") + error);
        *exitCode = ExitBadUsage;
        return false;
    }
    return true;
}

// Every failed write is said once, as it happens, with the path and the reason.
void Runner::reportWriteFailures()
{
    if (m_journaling && m_journal.hasFailed() && !m_journalFailureReported) {
        m_journalFailureReported = true;
        printErr(QStringLiteral("taskfleet-run: %1; the run goes on without a journal and cannot be resumed from %2")
                     .arg(m_journal.errorString(), m_journal.path()));
    }
    if (m_writer.hasFailed() && !m_resultsFailureReported) {
        m_resultsFailureReported = true;
        printErr(QStringLiteral("taskfleet-run: ") + m_writer.errorString());
    }
}

bool Runner::openJournal(int *exitCode)
{
    if (m_options.noJournal && m_options.resumeFile.isEmpty())
        return true;
    QString path = !m_options.resumeFile.isEmpty() ? m_options.resumeFile : m_options.journalFile;
    if (path.isEmpty())
        path = sched::defaultJournalDir()
               + QStringLiteral("/run-%1-%2.tfj")
                     .arg(QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")))
                     .arg(QCoreApplication::applicationPid());
    QString error;
    if (!m_journal.open(path, &error)) { // a journal that cannot be written is refused, never offered
        printErr(QStringLiteral("taskfleet-run: ") + error);
        *exitCode = ExitBadUsage;
        return false;
    }
    m_journaling = true;
    printErr(QStringLiteral("taskfleet-run: journal %1 (after a crash: taskfleet-run --resume %1)").arg(path));
    return true;
}

bool Runner::loadResume(int *exitCode)
{
    // Read once for the jobs and which of their tasks have results (one bit each); the results themselves
    // are written again from the file by writeJournaledResults(), once the results file is open.
    QString error;
    QString warning;
    auto jobs = sched::JournalReader::scan(m_options.resumeFile, {}, &error, &warning);
    if (!jobs) {
        printErr(QStringLiteral("taskfleet-run: ") + error);
        *exitCode = ExitBadUsage;
        return false;
    }
    if (!warning.isEmpty())
        printErr(QStringLiteral("taskfleet-run: ") + warning);
    if (jobs->isEmpty() && m_options.jobFiles.isEmpty()) {
        printErr(QStringLiteral("taskfleet-run: %1 holds no job to resume").arg(m_options.resumeFile));
        *exitCode = ExitBadUsage;
        return false;
    }
    for (sched::JournaledJob &j : *jobs) {
        // The plugin must still be the one the journal names: same file content, same hash.
        QString why;
        const auto now = exec::PluginRegistry::inspect(j.spec.plugin.path, &why);
        if (!now || now->sha256 != j.spec.plugin.sha256) {
            printErr(QStringLiteral("taskfleet-run: cannot resume job \"%1\": plugin %2 %3")
                         .arg(j.spec.name, j.spec.plugin.path,
                              now ? QStringLiteral("has changed since the job started") : why));
            *exitCode = ExitBadUsage;
            return false;
        }
        j.spec.plugin = *now;
        printErr(QStringLiteral("taskfleet-run: resuming job \"%1\": %2 of %3 tasks already done")
                     .arg(j.spec.name)
                     .arg(j.doneCount)
                     .arg(j.spec.inputs.size()));
        m_resumed.append(std::move(j));
    }
    return true;
}

void Runner::onResults(int jobId, const QVector<sched::TaskRecord> &records)
{
    auto it = m_runJobs.constFind(jobId);
    if (it == m_runJobs.constEnd())
        return;
    const RunJob &run = it.value();
    QVector<sched::TaskRecord> translated = records;
    for (sched::TaskRecord &r : translated) {
        r.index = run.originalIndex.isEmpty() ? int(r.index + run.offset) : run.originalIndex.at(r.index);
        if (r.status != stats::TaskStatus::Ok)
            m_anyFailed = true;
    }
    if (m_journaling)
        m_journal.writeResults(run.key, translated);
    m_writer.write(run.writerId, run.inputs, translated);
    reportWriteFailures();
}

void Runner::onJobFinished(int jobId)
{
    // Deferred: a job with nothing to run finishes inside Controller::submit(), before this
    // runner has recorded it and before the event loop runs.
    QMetaObject::invokeMethod(
        this,
        [this, jobId] {
            // A resumed job may run as several controller jobs: it ends with the last.
            const auto run = m_runJobs.constFind(jobId);
            if (run != m_runJobs.constEnd() && --m_segmentsLeft[run->key] == 0 && m_journaling) {
                m_journal.writeEnd(run->key);
                reportWriteFailures();
            }
            if (m_controller->allJobsOver())
                finish(m_anyFailed ? ExitSomeFailed : ExitAllOk);
        },
        Qt::QueuedConnection);
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

void Runner::onNodeWatchdog()
{
    // Remote-only: succeed as soon as one node is online; give up at once when every node has
    // definitely failed (wrong secret, other version, nothing listening twice), or at the timeout.
    QStringList lines;
    bool allFailed = true;
    bool anyRemote = false;
    for (sched::Node *n : m_controller->nodes())
        anyRemote = anyRemote || qobject_cast<sched::RemoteNode *>(n) != nullptr;
    const qint64 discoverWaitMs = m_options.discover ? qint64(m_options.discoverWaitSeconds) * 1000 : 0;
    // --listen: agents dial in when they start (under Slurm, when the allocation begins): wait --listen-wait.
    const qint64 listenWaitMs = m_listener ? qint64(m_options.listenWaitSeconds) * 1000 : 0;
    if (!anyRemote) {
        // --discover or --listen and nothing found (yet): wait, then give up.
        if (m_clock.elapsed() < std::max(discoverWaitMs, listenWaitMs))
            return;
        m_nodeWatchdog.stop();
        if (m_listener)
            printErr(
                QStringLiteral("taskfleet-run: --listen: no agent connected to port %1 within %2 s (--local-workers "
                               "is 0; --listen-wait sets the wait); see docs/deploy.md")
                    .arg(m_listener->port())
                    .arg(m_options.listenWaitSeconds));
        if (m_options.discover)
            printErr(QStringLiteral("taskfleet-run: --discover: no agent of this cluster answered within %1 s on UDP "
                                    "port %2 (--local-workers is 0); see docs/discovery.md \"My node is not seen\"")
                         .arg(m_options.discoverWaitSeconds)
                         .arg(m_options.discoveryPort));
        printRejections();
        m_done = true;
        m_writer.flush();
        reportWriteFailures();
        emit finished(ExitNoNode);
        return;
    }
    for (sched::Node *n : m_controller->nodes()) {
        auto *node = qobject_cast<sched::RemoteNode *>(n);
        if (!node)
            continue;
        if (node->state() == sched::NodeState::Online || node->hasBeenOnline()) {
            m_nodeWatchdog.stop();
            return;
        }
        allFailed = allFailed && node->hasDefinitelyFailed();
        lines << QStringLiteral("%1: %2").arg(
            node->address(), node->stateReason().isEmpty()
                                 ? QStringLiteral("no answer within %1 s").arg(m_options.connectTimeoutSeconds)
                                 : node->stateReason());
    }
    if (!allFailed && m_clock.elapsed() < qint64(m_options.connectTimeoutSeconds) * 1000 + discoverWaitMs)
        return;
    m_nodeWatchdog.stop();
    printErr(QStringLiteral("taskfleet-run: no node can run tasks (--local-workers is 0):"));
    for (const QString &line : std::as_const(lines))
        printErr(line);
    printRejections();
    m_done = true;
    m_writer.flush();
    reportWriteFailures();
    emit finished(ExitNoNode);
}

// A journal nobody asked for, of a run whose every job ended, has nothing left to resume: remove it, or
// ~/.local/state/taskfleet/journal grows by every run (146 MB for one 5-million-task job). A journal
// named with --journal or --resume stays. One that could not be written is never offered for a resume.
void Runner::removeFinishedDefaultJournal()
{
    if (!m_journaling || !m_options.journalFile.isEmpty() || !m_options.resumeFile.isEmpty())
        return;
    const QVector<int> ids = m_controller->jobIds();
    for (int id : ids)
        if (!m_controller->job(id)->isOver())
            return;
    if (m_writer.hasFailed() && !m_journal.hasFailed()) { // the journal is then the only full copy of the results
        printErr(QStringLiteral("taskfleet-run: writing results failed; the journal %1 keeps them "
                                "(taskfleet-run --resume %1 -o FILE writes them again)")
                     .arg(m_journal.path()));
        return;
    }
    const QString path = m_journal.path();
    m_journaling = false;
    if (!QFile::remove(path))
        printErr(QStringLiteral("taskfleet-run: could not remove the journal %1 of this finished run").arg(path));
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
    // One line per job of the user's: a resumed job may have run as several controller jobs.
    struct Totals {
        QString name;
        qint64 total = 0, done = 0, errors = 0, failed = 0, submittedUs = 0, finishedUs = 0;
    };
    QMap<int, Totals> totals;
    for (int id : m_controller->jobIds()) {
        const sched::Job *job = m_controller->job(id);
        const auto run = m_runJobs.constFind(id);
        const int writerId = run != m_runJobs.constEnd() ? run->writerId : id;
        const bool first = !totals.contains(writerId);
        Totals &t = totals[writerId];
        t.name = job->spec.name;
        t.total += job->total();
        t.done += job->done;
        t.errors += job->errors;
        t.failed += job->failed;
        t.submittedUs = first ? job->submittedUs : std::min(t.submittedUs, job->submittedUs);
        t.finishedUs = first ? job->finishedUs : std::max(t.finishedUs, job->finishedUs);
    }
    for (const Totals &t : std::as_const(totals))
        printErr(QStringLiteral("job \"%1\": %2 tasks, %3 ok, %4 errors, %5 failed, wall time %6 s")
                     .arg(t.name)
                     .arg(t.total)
                     .arg(t.done)
                     .arg(t.errors)
                     .arg(t.failed)
                     .arg(double(t.finishedUs - t.submittedUs) / 1e6, 0, 'f', 3));
    printRejections();
    m_writer.close();
    reportWriteFailures();
    removeFinishedDefaultJournal();
    if ((m_writer.hasFailed() || m_journal.hasFailed()) && exitCode == ExitAllOk)
        exitCode = ExitSomeFailed; // not every result reached its file, or the journal is incomplete
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
