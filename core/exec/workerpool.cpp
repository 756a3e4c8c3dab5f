// SPDX-License-Identifier: MIT
#include "workerpool.h"

#include "protocol/frame.h"
#include "util/allocator.h"
#include "util/cborinteger.h"
#include "workerprocess.h"
#include "util/logging.h"

#include <QtCore/QCborArray>
#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QHash>
#include <QtCore/QProcess>
#include <QtCore/QSet>

#include <algorithm>
#include <csignal>
#include <cstring>

namespace taskfleet::exec {

namespace {
constexpr double TargetBatchUs = 2000; // each batch is about this much work
constexpr int MaxBatch = 256;
constexpr int StartFailuresBeforeGivingUp = 3;
/** A run frame of at least this many bytes is allocated once, at its bounded size (sendBatch). */
constexpr qint64 BigFrameBytes = 4 * 1024 * 1024;

QString signalName(int sig)
{
    const char *desc = strsignal(sig);
    return QStringLiteral("signal %1 (%2)").arg(sig).arg(QString::fromLocal8Bit(desc ? desc : "unknown"));
}
} // namespace

struct WorkerPool::Worker {
    QProcess *process = nullptr;
    int serial = 0;
    bool draining = false;
    bool gone = false;
    std::deque<PoolTask> inFlight;  // in the order sent, which is the order results come back
    ParametersLru parameters;       // mirror of the job parameters the worker holds
    QHash<quint64, QString> output; // printed output that arrived ahead of its task's result
    protocol::FrameDecoder decoder;
    QByteArray stderrTail;
    qint64 startedMs = 0;
    qint64 lastActivityMs = 0;
    qint64 pid = 0;
    enum class Note { None, Crash, Exit, Timeout, Hang } note = Note::None;
    quint64 noteId = 0;
    int noteSignal = 0;
};

WorkerPool::WorkerPool(WorkerPoolOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
{
    if (m_options.program.isEmpty())
        m_options.program = defaultWorkerProgram();
    // The worker checks that its parent is still this process (see runWorkerProcess()).
    m_workerEnvironment = QProcessEnvironment::systemEnvironment();
    m_workerEnvironment.insert(QString::fromLatin1(WorkerParentPidVariable),
                               QString::number(QCoreApplication::applicationPid()));
    // Each worker's cache and the pool's mirror of it must use one bound, or they would evict differently.
    m_options.valueCacheBytes = ParametersLru(m_options.valueCacheBytes).byteCapacity();
    m_workerEnvironment.insert(QString::fromLatin1(WorkerValueCacheVariable),
                               QString::number(m_options.valueCacheBytes));
    m_clock.start();
    m_housekeeping.setInterval(250);
    connect(&m_housekeeping, &QTimer::timeout, this, &WorkerPool::onHousekeeping);
    m_housekeeping.start();
    setWorkerCount(m_options.workers);
}

WorkerPool::~WorkerPool()
{
    for (auto &w : m_workers) {
        if (!w->process)
            continue;
        w->process->disconnect(this);
        w->process->kill();
        w->process->waitForFinished(2000);
    }
}

QString WorkerPool::defaultWorkerProgram()
{
    const QString fromEnv = qEnvironmentVariable("TASKFLEET_WORKER");
    if (!fromEnv.isEmpty())
        return fromEnv;
    return QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("taskfleet-worker"));
}

void WorkerPool::setWorkerCount(int count)
{
    count = std::max(0, count);
    const bool changed = count != m_target;
    m_target = count;
    int live = 0;
    for (const auto &w : m_workers)
        live += (!w->gone && !w->draining) ? 1 : 0;
    for (int i = live; i < m_target; ++i)
        startWorker();
    trimToTarget();
    if (changed)
        emit workerCountChanged(m_target);
    scheduleDispatch();
}

void WorkerPool::trimToTarget()
{
    std::vector<Worker *> active;
    for (const auto &w : m_workers)
        if (!w->gone && !w->draining)
            active.push_back(w.get());
    int surplus = int(active.size()) - m_target;
    if (surplus <= 0)
        return;
    // Retire idle workers first; busy ones finish what they hold before they exit.
    std::stable_sort(active.begin(), active.end(),
                     [](const Worker *a, const Worker *b) { return a->inFlight.size() < b->inFlight.size(); });
    for (Worker *w : active) {
        if (surplus-- <= 0)
            break;
        w->draining = true;
        QCborMap quit;
        quit.insert(QStringLiteral("t"), wire::Quit);
        w->process->write(protocol::encodeFrame(quit));
    }
}

int WorkerPool::runningWorkers() const
{
    return int(std::count_if(m_workers.begin(), m_workers.end(), [](const auto &w) { return !w->gone; }));
}

int WorkerPool::busyWorkers() const
{
    return int(std::count_if(m_workers.begin(), m_workers.end(),
                             [](const auto &w) { return !w->gone && !w->inFlight.empty(); }));
}

int WorkerPool::readyWorkers() const
{
    return int(std::count_if(m_workers.begin(), m_workers.end(),
                             [](const auto &w) { return !w->gone && !w->draining && w->pid > 0; }));
}

int WorkerPool::inFlightTasks() const
{
    int n = 0;
    for (const auto &w : m_workers)
        n += int(w->inFlight.size());
    return n;
}

double WorkerPool::averageRuntimeUs(quint32 lane) const
{
    // Per lane: one controller's 100 ms tasks must not make another's 5 µs tasks go one at a time.
    const auto it = m_laneAverageUs.constFind(lane);
    return it == m_laneAverageUs.constEnd() ? 0.0 : it.value();
}

int WorkerPool::batchSize(quint32 lane) const
{
    if (m_options.restartAfterEachTask)
        return 1;
    const double average = averageRuntimeUs(lane);
    if (average <= 0)
        return 1; // nothing measured yet: start small, grow once tasks prove short
    return std::clamp(int(TargetBatchUs / std::max(average, 1.0)), 1, MaxBatch);
}

int WorkerPool::depth(quint32 lane) const
{
    // Short tasks: keep a second batch waiting in the worker's pipe so it never idles.
    // Long (or not yet measured) tasks: one at a time, so none waits behind a busy worker.
    const double average = averageRuntimeUs(lane);
    if (m_options.restartAfterEachTask || average <= 0 || average > TargetBatchUs)
        return 1;
    return 2 * batchSize(lane);
}

int WorkerPool::capacity(quint32 lane) const
{
    if (m_target <= 0)
        return 0;
    const bool shortTasks = depth(lane) > 1;
    return m_target * depth(lane) + (shortTasks ? batchSize(lane) : 0);
}

void WorkerPool::forgetLane(quint32 lane)
{
    m_laneAverageUs.remove(lane);
    m_laneSeenMs.remove(lane); // its session ended: nothing of it is on its way
    scheduleDispatch();        // a worker held for it is free for the others
}

void WorkerPool::startWorker()
{
    auto w = std::make_unique<Worker>();
    Worker *raw = w.get();
    raw->serial = ++m_serial;
    raw->parameters = ParametersLru(m_options.valueCacheBytes);
    raw->process = new QProcess(this);
    raw->process->setProcessChannelMode(QProcess::SeparateChannels);
    if (m_options.preloadPlugins.isEmpty()) {
        raw->process->setProcessEnvironment(m_workerEnvironment);
    } else {
        QProcessEnvironment env = m_workerEnvironment;
        env.insert(QString::fromLatin1(WorkerPreloadVariable), m_options.preloadPlugins.join(QLatin1Char(':')));
        raw->process->setProcessEnvironment(env);
    }
    connect(raw->process, &QProcess::readyReadStandardOutput, this, [this, raw] { onStdout(raw); });
    connect(raw->process, &QProcess::readyReadStandardError, this, [this, raw] { onStderr(raw); });
    connect(raw->process, &QProcess::finished, this, [this, raw](int code, QProcess::ExitStatus status) {
        onFinished(raw, code, status == QProcess::CrashExit);
    });
    connect(raw->process, &QProcess::errorOccurred, this, [this, raw](QProcess::ProcessError error) {
        if (error == QProcess::FailedToStart)
            onStartFailed(raw, raw->process->errorString());
    });
    raw->startedMs = m_clock.elapsed();
    raw->lastActivityMs = raw->startedMs;
    m_workers.push_back(std::move(w));
    ++m_workersStarted;
    raw->process->start(m_options.program, m_options.arguments);
}

void WorkerPool::scheduleDispatch()
{
    if (m_dispatchPending)
        return;
    m_dispatchPending = true;
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_dispatchPending = false;
            dispatch();
        },
        Qt::QueuedConnection);
}

void WorkerPool::submit(QVector<PoolTask> tasks)
{
    const qint64 now = m_clock.elapsed();
    for (qsizetype i = 0; i < tasks.size(); ++i) {
        if (i == 0 || tasks.at(i).lane != tasks.at(i - 1).lane) // batches are of one lane: once per batch
            m_laneSeenMs.insert(tasks.at(i).lane, now);
        m_queue.push(std::move(tasks[i]));
    }
    dispatch();
}

namespace {
/**
 * A lane (a controller's session) that had work within this long still counts as wanting its share of the
 * workers, though its queue is empty right now: its next tasks are on their way (a controller keeps only a few
 * queued here and sends more as results come back, a round trip later). Longer than a slow link's round trip;
 * what a lane that has really finished costs the others is a worker held this long, once.
 */
constexpr qint64 LaneGraceMs = 1000;
} // namespace

struct WorkerPool::Shares {
    QHash<quint32, int> busy; ///< workers holding a batch of each lane
    QSet<quint32> active;     ///< lanes with work waiting, running, or seen within LaneGraceMs
    int share = 0;            ///< live workers / active lanes, at least 1; 0: a single lane, no limit
    bool below(quint32 lane) const { return share > 0 && busy.value(lane) < share; }
    /** A free worker is held back from \a lane: it is at its share while another active lane, whose next
     *  tasks are on their way, is below its own. */
    template <typename HasTasks>
    bool holdFrom(quint32 lane, HasTasks hasTasks) const
    {
        if (share == 0 || below(lane))
            return false;
        return std::any_of(active.cbegin(), active.cend(),
                           [&](quint32 other) { return other != lane && below(other) && !hasTasks(other); });
    }
};

WorkerPool::Shares WorkerPool::shares() const
{
    Shares s;
    int workers = 0;
    for (const auto &w : m_workers) {
        if (w->gone)
            continue;
        workers += w->draining ? 0 : 1;
        if (!w->inFlight.empty()) {
            ++s.busy[w->inFlight.front().lane];
            s.active.insert(w->inFlight.front().lane);
        }
    }
    m_queue.forEachWaitingLane([&s](quint32 lane) { s.active.insert(lane); });
    const qint64 now = m_clock.elapsed();
    for (auto it = m_laneSeenMs.cbegin(); it != m_laneSeenMs.cend(); ++it)
        if (now - it.value() < LaneGraceMs)
            s.active.insert(it.key());
    if (s.active.size() > 1)
        s.share = std::max(1, workers / int(s.active.size()));
    return s;
}

void WorkerPool::dispatch()
{
    if (m_queue.empty())
        return;
    // A worker may be fed ahead (a second batch waiting in its pipe) only behind short tasks, and as deep as
    // the tasks of the lane served next allow. Behind a long task, queued work would wait for it while
    // another lane's tasks could run elsewhere.
    auto hasRoom = [this](const Worker *w) {
        if (w->inFlight.empty())
            return true;
        return depth(w->inFlight.front().lane) > 1 && w->inFlight.size() < size_t(depth(m_queue.next().front().lane));
    };
    // Feed the emptiest workers first, so a short queue spreads over all of them.
    std::vector<Worker *> ready;
    for (const auto &w : m_workers)
        if (!w->gone && !w->draining && hasRoom(w.get()))
            ready.push_back(w.get());
    std::stable_sort(ready.begin(), ready.end(),
                     [](const Worker *a, const Worker *b) { return a->inFlight.size() < b->inFlight.size(); });
    // Fair share between lanes (controllers): a free worker goes to the lane furthest below its share
    // (live workers / active lanes), and a lane at its share does not take it while another active lane,
    // whose next tasks are on their way, is below its own: that worker waits for them (at most LaneGraceMs,
    // then housekeeping dispatches again). Without the hold, a controller with long tasks took every worker
    // the other's few queued tasks left free, and the other waited for its whole job.
    Shares s = shares();
    const auto hasTasks = [this](quint32 lane) { return m_queue.hasTasks(lane); };
    for (Worker *w : ready) {
        while (!m_queue.empty() && hasRoom(w)) {
            const bool idle = w->inFlight.empty();
            // Shares are about free workers. Feeding ahead (a batch queued behind a short one) stays with the
            // least served lane: preferring a lane below its share there put another lane's long task behind
            // every short batch.
            std::deque<PoolTask> &queue
                = idle ? m_queue.nextPreferring([&s](quint32 lane) { return s.below(lane); }) : m_queue.next();
            const quint32 lane = queue.front().lane;
            if (idle && s.holdFrom(lane, hasTasks))
                break;
            sendBatch(w, queue);
            if (idle)
                ++s.busy[lane];
        }
    }
}

void WorkerPool::sendBatch(Worker *w, std::deque<PoolTask> &queue)
{
    WorkBatch batch;
    batch.pluginPath = queue.front().pluginPath;
    batch.timeoutMs = queue.front().timeoutMs;
    batch.parameters = queue.front().parameters;
    if (batch.parameters)
        batch.withParametersValue = !w->parameters.touch(batch.parameters->id, batch.parameters->encodedSize);
    if (batch.withParametersValue)
        ++m_parameterValuesSent;
    const int limit = batchSize(queue.front().lane);
    if (w->inFlight.empty())
        w->lastActivityMs = m_clock.elapsed();
    // Bounded by count and by bytes: big inputs go in batches of their own, never a 90 MB frame of several.
    qint64 bytes = 0;
    while (!queue.empty() && batch.items.size() < limit && queue.front().pluginPath == batch.pluginPath
           && queue.front().timeoutMs == batch.timeoutMs && queue.front().parameters == batch.parameters) {
        PoolTask &t = queue.front();
        const qint64 size = protocol::cborSizeBound(t.input); // once per task: this is the hot path
        if (!batch.items.isEmpty() && bytes + size > protocol::BatchByteBudget)
            break;
        bytes += size;
        batch.items.append(WorkItem {t.id, t.input});
        w->inFlight.push_back(std::move(t));
        queue.pop_front();
    }
    m_queue.settle();
    QByteArray frame;
    if (const qint64 big = bytes + (batch.withParametersValue ? batch.parameters->encodedSize : 0);
        big >= BigFrameBytes) {
        // Its size is bounded beforehand: one allocation, filled once, backed by huge pages where offered.
        frame.reserve(qsizetype(big) + 4096);
        util::adviseHugePages(frame.data(), frame.capacity());
    }
    appendRunFrame(frame, batch); // each input copied once, into the frame; QProcess keeps the frame itself
    w->process->write(frame);
}

void WorkerPool::cancel(const QVector<quint64> &ids)
{
    if (ids.isEmpty())
        return;
    QSet<quint64> wanted(ids.begin(), ids.end());
    QVector<WorkResult> cancelled;
    for (const PoolTask &t : m_queue.takeIf([&](const PoolTask &t) { return wanted.remove(t.id); }))
        cancelled.append(WorkResult {t.id, Outcome::Cancelled, {}, QStringLiteral("cancelled"), 0, {}});
    for (const auto &w : m_workers) {
        if (w->gone || wanted.isEmpty())
            continue;
        QCborArray mine;
        for (const PoolTask &t : w->inFlight)
            if (wanted.contains(t.id))
                mine.append(qint64(t.id));
        if (!mine.isEmpty()) {
            QCborMap m;
            m.insert(QStringLiteral("t"), wire::Cancel);
            m.insert(QStringLiteral("ids"), mine);
            w->process->write(protocol::encodeFrame(m));
        }
    }
    if (!cancelled.isEmpty())
        emit resultsReady(cancelled);
}

void WorkerPool::onStdout(Worker *w)
{
    // A big frame's payload is read straight into its buffer, sized from its header; the rest goes through
    // a small buffer of our own.
    qint64 total = 0;
    for (;;) {
        qsizetype space = 0;
        char *direct = w->decoder.payloadSpace(&space);
        qint64 n;
        if (space >= qsizetype(sizeof(m_readBuffer))) {
            n = w->process->read(direct, space);
            if (n > 0)
                w->decoder.commit(qsizetype(n));
        } else {
            n = w->process->read(m_readBuffer, sizeof(m_readBuffer));
            if (n > 0)
                w->decoder.append(m_readBuffer, qsizetype(n));
        }
        if (n <= 0)
            break;
        total += n;
    }
    if (total == 0)
        return;
    w->lastActivityMs = m_clock.elapsed();
    QVector<WorkResult> results;
    QCborMap message;
    for (;;) {
        const auto status = w->decoder.next(&message);
        if (status == protocol::FrameDecoder::Status::NeedMore)
            break;
        if (status == protocol::FrameDecoder::Status::Error) {
            qCWarning(lcExec) << "worker" << w->pid << "sent a bad frame:" << w->decoder.errorString();
            w->process->kill();
            break;
        }
        handleFrame(w, message, &results);
        if (w->gone)
            break;
    }
    if (m_options.restartAfterEachTask && !w->draining && !w->gone && w->inFlight.empty() && !results.isEmpty()) {
        w->draining = true;
        QCborMap quit;
        quit.insert(QStringLiteral("t"), wire::Quit);
        w->process->write(protocol::encodeFrame(quit));
        startWorker();
    }
    if (!results.isEmpty())
        emit resultsReady(results);
    dispatch();
}

void WorkerPool::handleFrame(Worker *w, const QCborMap &message, QVector<WorkResult> *out)
{
    const QString type = message.value(QStringLiteral("t")).toString();
    if (type == wire::Results) {
        QVector<WorkResult> results;
        QString error;
        if (!decodeResults(message, &results, &error)) {
            qCWarning(lcExec) << "worker" << w->pid << "sent bad results:" << error;
            w->process->kill();
            return;
        }
        for (WorkResult &r : results) {
            if (w->inFlight.empty() || w->inFlight.front().id != r.id) {
                qCWarning(lcExec) << "worker" << w->pid << "answered task" << r.id << "out of order";
                w->process->kill();
                return;
            }
            const quint32 lane = w->inFlight.front().lane;
            m_queue.charge(lane, r.runtimeUs);
            m_laneSeenMs.insert(lane, m_clock.elapsed());
            w->inFlight.pop_front();
            if (!w->output.isEmpty())
                r.log = w->output.take(r.id);
            if (r.outcome == Outcome::Ok || r.outcome == Outcome::PluginError) {
                double &average = m_laneAverageUs[lane];
                average = average <= 0 ? double(r.runtimeUs) : 0.9 * average + 0.1 * double(r.runtimeUs);
            }
            out->append(std::move(r));
        }
    } else if (type == wire::CrashNote || type == wire::ExitNote || type == wire::TimeoutNote) {
        w->note = type == wire::CrashNote  ? Worker::Note::Crash
                  : type == wire::ExitNote ? Worker::Note::Exit
                                           : Worker::Note::Timeout;
        w->noteId = quint64(util::cborInteger(message.value(QStringLiteral("id"))));
        w->noteSignal = int(util::cborInteger(message.value(QStringLiteral("sig"))));
    } else if (type == wire::Progress) {
        emit progressReported(quint64(util::cborInteger(message.value(QStringLiteral("id")))),
                              message.value(QStringLiteral("f")).toDouble());
    } else if (type == wire::Log) {
        const quint64 id = quint64(util::cborInteger(message.value(QStringLiteral("id"))));
        w->output.insert(id, message.value(QStringLiteral("s")).toString());
    } else if (type == wire::Hello) {
        w->pid = util::cborInteger(message.value(QStringLiteral("pid")));
    } else {
        qCWarning(lcExec) << "worker sent an unknown frame type" << type;
    }
}

void WorkerPool::onStderr(Worker *w)
{
    // Always drain: a plugin that writes a lot to stderr must never block on a full pipe.
    w->stderrTail += w->process->readAllStandardError();
    if (w->stderrTail.size() > m_options.stderrTailBytes)
        w->stderrTail = w->stderrTail.right(m_options.stderrTailBytes);
}

QString WorkerPool::stderrTail(const Worker *w) const
{
    const QByteArray tail = w->stderrTail.trimmed();
    if (tail.isEmpty())
        return {};
    const QList<QByteArray> lines = tail.split('\n');
    return QStringLiteral(" — worker stderr: ") + QString::fromLocal8Bit(lines.last().trimmed());
}

void WorkerPool::onFinished(Worker *w, int exitCode, bool crashed)
{
    onStdout(w); // results written just before the end still count
    onStderr(w);
    const bool expected = w->draining && w->inFlight.empty() && !crashed && exitCode == 0;
    // A worker that ended before its hello was still loading WorkerPoolOptions::preloadPlugins: no task
    // had started, so none is blamed, and its replacements load plugins only when a task asks (a plugin
    // that crashes as it loads must not crash every restart). Without preloading the old rule holds: a
    // worker that never starts blames its first task, so a broken worker cannot loop for ever.
    const bool diedPreloading = !expected && w->pid == 0 && !m_options.preloadPlugins.isEmpty();
    if (diedPreloading)
        m_options.preloadPlugins.clear();
    QVector<WorkResult> blamed;
    if (!expected && !diedPreloading && !w->inFlight.empty()) {
        // Only one task was running; the others it held never started and go back to the queue.
        const PoolTask culprit = w->inFlight.front();
        w->inFlight.pop_front();
        WorkResult r;
        r.id = culprit.id;
        r.outcome = Outcome::Crashed;
        const bool noteMatches = w->noteId == culprit.id;
        if (noteMatches && w->note == Worker::Note::Timeout) {
            r.outcome = Outcome::TimedOut;
            r.error = QStringLiteral("timed out after %1 ms; worker ended").arg(culprit.timeoutMs);
        } else if (w->note == Worker::Note::Hang) {
            r.outcome = Outcome::TimedOut;
            r.error = QStringLiteral("worker gave no sign of life for %1 ms past the %2 ms timeout; killed")
                          .arg(m_options.hangGraceMs)
                          .arg(culprit.timeoutMs);
        } else if (noteMatches && w->note == Worker::Note::Crash) {
            r.error = QStringLiteral("worker killed by %1 while running this task").arg(signalName(w->noteSignal));
        } else if (noteMatches && w->note == Worker::Note::Exit) {
            r.error = QStringLiteral("plugin ended the worker process (exit code %1)").arg(exitCode);
        } else if (crashed) {
            r.error = QStringLiteral("worker process crashed");
        } else {
            r.error = QStringLiteral("worker process exited with code %1").arg(exitCode);
        }
        r.error += stderrTail(w);
        blamed.append(r);
    }
    if (!expected) {
        ++m_workerFailures;
        const QString reason
            = QStringLiteral("worker %1 (pid %2) ended unexpectedly: %3")
                  .arg(w->serial)
                  .arg(w->pid)
                  .arg(blamed.isEmpty() ? QStringLiteral("exit code %1").arg(exitCode) : blamed.first().error);
        qCInfo(lcExec).noquote() << reason;
        emit workerFailed(reason);
    }
    retire(w, true);
    if (!blamed.isEmpty())
        emit resultsReady(blamed);
    scheduleDispatch();
}

void WorkerPool::onStartFailed(Worker *w, const QString &error)
{
    ++m_workerFailures;
    ++m_consecutiveStartFailures;
    const QString reason = QStringLiteral("cannot start worker program %1: %2").arg(m_options.program, error);
    qCWarning(lcExec).noquote() << reason;
    emit workerFailed(reason);
    retire(w, true);
    if (m_consecutiveStartFailures >= StartFailuresBeforeGivingUp && runningWorkers() == 0) {
        // No worker can run here: fail what waits instead of holding it forever.
        QVector<WorkResult> failed;
        for (const PoolTask &t : m_queue.takeIf([](const PoolTask &) { return true; }))
            failed.append(WorkResult {t.id, Outcome::Crashed, {}, reason, 0, {}});
        if (!failed.isEmpty())
            emit resultsReady(failed);
    }
}

void WorkerPool::retire(Worker *w, bool requeue)
{
    w->gone = true;
    if (requeue) {
        for (auto it = w->inFlight.rbegin(); it != w->inFlight.rend(); ++it)
            m_queue.pushFront(std::move(*it));
    }
    w->inFlight.clear();
    QProcess *process = w->process;
    w->process = nullptr;
    process->disconnect(this);
    process->deleteLater();
    const qint64 lifetime = m_clock.elapsed() - w->startedMs;
    m_workers.erase(std::remove_if(m_workers.begin(), m_workers.end(), [w](const auto &p) { return p.get() == w; }),
                    m_workers.end());
    if (lifetime > 1000)
        m_consecutiveStartFailures = 0;
    // Replace it, but back off when workers die at once after starting (a broken install).
    const qint64 delay = lifetime < 1000 ? std::min<qint64>(5000, 100LL << std::min(m_consecutiveStartFailures, 6)) : 0;
    m_nextStartAllowedMs = m_clock.elapsed() + (lifetime < 1000 ? delay : 0);
    if (lifetime < 1000)
        ++m_consecutiveStartFailures;
    onHousekeeping();
}

void WorkerPool::onHousekeeping()
{
    const qint64 now = m_clock.elapsed();
    for (const auto &w : m_workers) {
        if (w->gone || w->inFlight.empty())
            continue;
        const qint64 timeout = w->inFlight.front().timeoutMs;
        // Backstop only: the worker's own watchdog normally reports a timeout first.
        if (timeout > 0 && now - w->lastActivityMs > timeout + m_options.hangGraceMs && w->note == Worker::Note::None) {
            w->note = Worker::Note::Hang;
            w->process->kill();
        }
    }
    // Lanes quiet for longer than their grace no longer count; a worker held for one goes back to work.
    for (auto it = m_laneSeenMs.begin(); it != m_laneSeenMs.end();)
        it = now - it.value() >= LaneGraceMs ? m_laneSeenMs.erase(it) : std::next(it);
    if (!m_queue.empty())
        dispatch();
    int active = 0;
    for (const auto &w : m_workers)
        active += (!w->gone && !w->draining) ? 1 : 0;
    if (active < m_target && now >= m_nextStartAllowedMs) {
        for (int i = active; i < m_target; ++i)
            startWorker();
        scheduleDispatch();
    }
}

} // namespace taskfleet::exec
