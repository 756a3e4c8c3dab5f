// SPDX-License-Identifier: MIT
#include "workerprocess.h"

#include "protocol/frame.h"
#include "util/cborinteger.h"
#include "util/sha256.h"
#include "workerprotocol.h"

#include <taskfleet/TaskPlugin.h>

#include <QtCore/QBuffer>
#include <QtCore/QCborArray>
#include <QtCore/QCborStreamWriter>
#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QPluginLoader>
#include <QtCore/QSet>
#include <QtCore/QSysInfo>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

namespace taskfleet::exec {

namespace {

using Clock = std::chrono::steady_clock;

// State the crash handler reads. It only reads plain memory and calls write(): async-signal-safe.
int g_outFd = -1;
volatile sig_atomic_t g_inPlugin = 0;
std::atomic<quint64> g_currentId {0};
std::atomic<bool> g_currentCancelled {false};
const char *g_pendingData = nullptr; // encoded results not yet sent (valid while g_inPlugin)
volatile size_t g_pendingSize = 0;
volatile size_t g_pendingCount = 0;

constexpr int PipeBytes = 1024 * 1024;
constexpr int FlushEveryCount = 256;
constexpr qsizetype FlushEveryBytes = 256 * 1024;
constexpr auto FlushEveryTime = std::chrono::milliseconds(2);
constexpr auto ProgressInterval = std::chrono::milliseconds(250);
/** An output whose encoding may be this big or bigger is written in a frame of its own (Worker::sendBig). */
constexpr qint64 StreamOutputBytes = 1024 * 1024;
/** How long a plugin runs before the reader thread reads for it (the latency of a cancel, at worst). */
constexpr long LendDelayNs = 2 * 1000 * 1000;

void writeAll(const struct iovec *iov, int count)
{
    struct iovec local[4];
    std::memcpy(local, iov, sizeof(struct iovec) * size_t(count));
    int index = 0;
    while (index < count) {
        const ssize_t n = ::writev(g_outFd, local + index, count - index);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            _exit(0); // the pool is gone: nobody wants our results
        }
        size_t left = size_t(n);
        while (index < count && left >= local[index].iov_len) {
            left -= local[index].iov_len;
            ++index;
        }
        if (index < count) {
            local[index].iov_base = static_cast<char *>(local[index].iov_base) + left;
            local[index].iov_len -= left;
        }
    }
}

// Encodes a CBOR head (major type + unsigned argument) into out; returns its length.
int cborHead(unsigned char *out, unsigned major, quint64 value)
{
    const unsigned char m = static_cast<unsigned char>(major << 5);
    if (value < 24) {
        out[0] = m | static_cast<unsigned char>(value);
        return 1;
    }
    int bytes = value <= 0xff ? 1 : value <= 0xffff ? 2 : value <= 0xffffffffULL ? 4 : 8;
    out[0] = m | static_cast<unsigned char>(bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27);
    for (int i = 0; i < bytes; ++i)
        out[1 + i] = static_cast<unsigned char>(value >> (8 * (bytes - 1 - i)));
    return 1 + bytes;
}

int cborText(unsigned char *out, const char *text)
{
    const size_t len = std::strlen(text);
    const int head = cborHead(out, 3, len);
    std::memcpy(out + head, text, len);
    return head + int(len);
}

void putLength(unsigned char *out, size_t length)
{
    out[0] = static_cast<unsigned char>(length >> 24);
    out[1] = static_cast<unsigned char>(length >> 16);
    out[2] = static_cast<unsigned char>(length >> 8);
    out[3] = static_cast<unsigned char>(length);
}

// Writes the pending results as one "res" frame. Safe in a signal handler.
void writePendingResults(const char *data, size_t size, size_t count)
{
    if (count == 0)
        return;
    unsigned char head[32];
    int n = 4;
    n += cborHead(head + n, 5, 2); // map of two pairs
    n += cborText(head + n, "t");
    n += cborText(head + n, "res");
    n += cborText(head + n, "r");
    n += cborHead(head + n, 4, 4 * quint64(count));
    const size_t total = size_t(n - 4) + size;
    if (total <= protocol::MaxFrameSize) {
        putLength(head, total);
        struct iovec iov[2] = {{head, size_t(n)}, {const_cast<char *>(data), size}};
        writeAll(iov, 2);
        return;
    }
    // A big result: the message goes out as continued frames (protocol::ContinuedFrameBit), each at most
    // MaxFrameSize bytes of the payload "head after the prefix, then data".
    const unsigned char *body = head + 4;
    const size_t bodySize = size_t(n - 4);
    for (size_t at = 0; at < total;) {
        const size_t piece = std::min<size_t>(total - at, protocol::MaxFrameSize);
        const bool more = at + piece < total;
        unsigned char prefix[4];
        putLength(prefix, piece | (more ? protocol::ContinuedFrameBit : 0u));
        struct iovec iov[3];
        int parts = 0;
        iov[parts++] = {prefix, 4};
        size_t left = piece, pos = at;
        if (pos < bodySize) {
            const size_t take = std::min(left, bodySize - pos);
            iov[parts++] = {const_cast<unsigned char *>(body + pos), take};
            left -= take;
            pos += take;
        }
        if (left > 0)
            iov[parts++] = {const_cast<char *>(data + (pos - bodySize)), left};
        writeAll(iov, parts);
        at += piece;
    }
}

// Writes {"t": type, "id": id [, "sig": sig]} as one frame. Safe in a signal handler.
void writeNote(const char *type, quint64 id, int sig)
{
    unsigned char buf[64];
    int n = 4;
    n += cborHead(buf + n, 5, sig >= 0 ? 3 : 2);
    n += cborText(buf + n, "t");
    n += cborText(buf + n, type);
    n += cborText(buf + n, "id");
    n += cborHead(buf + n, 0, id);
    if (sig >= 0) {
        n += cborText(buf + n, "sig");
        n += cborHead(buf + n, 0, quint64(sig));
    }
    putLength(buf, size_t(n - 4));
    struct iovec iov[1] = {{buf, size_t(n)}};
    writeAll(iov, 1);
}

void onCrashSignal(int sig)
{
    if (g_inPlugin) {
        writePendingResults(g_pendingData, g_pendingSize, g_pendingCount);
        writeNote("crash", g_currentId.load(), sig);
    }
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

void onExitWhileInPlugin()
{
    // A plugin called exit(): say which task did it, with the finished results, before we go.
    if (g_inPlugin) {
        writePendingResults(g_pendingData, g_pendingSize, g_pendingCount);
        writeNote("exit", g_currentId.load(), -1);
    }
}

void installCrashHandlers()
{
    // An alternate stack, so that a stack overflow in a plugin can still be reported.
    static char altStack[64 * 1024];
    stack_t ss {};
    ss.ss_sp = altStack;
    ss.ss_size = sizeof(altStack);
    sigaltstack(&ss, nullptr);
    struct sigaction sa {
    };
    sa.sa_handler = onCrashSignal;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS})
        sigaction(sig, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    std::atexit(onExitWhileInPlugin);
}

struct BatchInfo {
    QString pluginPath;
    qint64 timeoutMs = 0;
    JobParametersPtr parameters;
    QString parametersError; ///< set if the batch named parameters this worker does not hold
};

/** What appendOutput() keeps of one task's output: the end, past this many characters. */
constexpr qsizetype MaxTaskOutput = 1024 * 1024;

struct QueuedTask {
    WorkItem item;
    std::shared_ptr<const BatchInfo> batch;
};

QIODevice *openForAppend(QBuffer *buffer)
{
    buffer->open(QIODevice::WriteOnly);
    return buffer;
}

class Worker;

class Context final : public TaskContext
{
public:
    explicit Context(Worker *worker)
        : m_worker(worker)
    {
    }
    bool isCancelled() const override { return g_currentCancelled.load(std::memory_order_relaxed); }
    void reportProgress(double fraction) override;
    QCborValue jobParameters() const override { return m_parameters ? m_parameters->value : QCborValue(); }
    QByteArray jobParametersId() const override { return m_parameters ? m_parameters->id : QByteArray(); }
    void appendOutput(const QString &text) override
    {
        m_output += text;
        if (m_output.size() > MaxTaskOutput) {
            static const QString marker = QStringLiteral("[... output truncated ...]\n");
            m_output = marker + m_output.right(MaxTaskOutput - marker.size());
        }
    }

    /** Called by the worker around each task. */
    void begin(const JobParametersPtr &parameters)
    {
        m_parameters = parameters;
        m_output.clear();
    }
    QString takeOutput() { return std::exchange(m_output, QString()); }

private:
    Worker *m_worker;
    JobParametersPtr m_parameters;
    QString m_output;
};

class Worker
{
public:
    [[noreturn]] void run()
    {
        installCrashHandlers();
        m_kickFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        m_lendTimer = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        m_handOver = m_kickFd >= 0 && m_lendTimer >= 0;
        if (!m_handOver)
            m_duty = ReadDuty::Thread; // no way to hand reading over: the reader thread reads for good
        std::thread(&Worker::readLoop, this).detach();
        std::thread(&Worker::watchdogLoop, this).detach();
        preload();
        sendHello(); // after the preloaded plugins: the pool counts a worker that said hello as ready
        Context context(this);
        for (;;) {
            QueuedTask task;
            if (!takeTask(&task)) {
                flush();
                std::_Exit(0);
            }
            lendReading();
            runOne(task, context);
        }
    }

    void sendProgress(double fraction)
    {
        const auto now = Clock::now();
        if (now - m_lastProgress < ProgressInterval)
            return;
        m_lastProgress = now;
        QCborMap m;
        m.insert(QStringLiteral("t"), wire::Progress);
        m.insert(QStringLiteral("id"), qint64(g_currentId.load()));
        m.insert(QStringLiteral("f"), qBound(0.0, fraction, 1.0));
        writeFrame(protocol::encodeFrame(m));
    }

private:
    void sendHello()
    {
        QCborMap m;
        m.insert(QStringLiteral("t"), wire::Hello);
        m.insert(QStringLiteral("pid"), qint64(::getpid()));
        m.insert(QStringLiteral("abi"), QSysInfo::buildAbi());
        writeFrame(protocol::encodeFrame(m));
    }

    /** The task's printed output goes ahead of its result, which the pool then carries it with. */
    void sendOutput(quint64 id, const QString &text)
    {
        if (text.isEmpty())
            return;
        QCborMap m;
        m.insert(QStringLiteral("t"), wire::Log);
        m.insert(QStringLiteral("id"), qint64(id));
        m.insert(QStringLiteral("s"), text);
        writeFrame(protocol::encodeFrame(m));
    }

    void writeFrame(const QByteArray &frame)
    {
        std::lock_guard<std::mutex> lock(m_outMutex);
        struct iovec iov[1] = {{const_cast<char *>(frame.constData()), size_t(frame.size())}};
        writeAll(iov, 1);
    }

    // --- reading the pool's frames --------------------------------------------------------
    // One thread at a time reads stdin: the one that has the duty. While the main thread waits for work it
    // reads itself, so a task that arrives runs without a wake-up of another thread on the way (on a round
    // trip of one tiny task that hop is a good part of the worker's time). While it runs a plugin the reader
    // thread reads instead, so that a cancel reaches the running task and new work is queued; but only once
    // the plugin has run for LendDelay (a timer): a tiny task costs the reader thread no wake-up at all.

    /** Reads what stdin has (blocking until something comes) and handles every whole frame. */
    void readAvailable()
    {
        static char buf[64 * 1024];
        // A big frame's payload is read straight into its buffer, sized from its header.
        qsizetype space = 0;
        char *direct = m_decoder.payloadSpace(&space);
        const bool intoFrame = space >= qsizetype(sizeof(buf));
        const ssize_t n
            = intoFrame ? ::read(STDIN_FILENO, direct, size_t(space)) : ::read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return;
        if (n <= 0)
            _exit(0); // the pool closed our stdin or died: stop at once
        if (intoFrame)
            m_decoder.commit(qsizetype(n));
        else
            m_decoder.append(buf, n);
        QCborMap message;
        for (;;) {
            const auto status = m_decoder.next(&message);
            if (status == protocol::FrameDecoder::Status::NeedMore)
                break;
            if (status == protocol::FrameDecoder::Status::Error) {
                fprintf(stderr, "taskfleet-worker: bad frame from pool: %s\n", qPrintable(m_decoder.errorString()));
                _exit(2);
            }
            handleMessage(message);
        }
    }

    void readLoop()
    {
        for (;;) {
            bool mine = false;
            {
                std::lock_guard<std::mutex> lock(m_queueMutex);
                mine = m_duty == ReadDuty::Thread;
                m_readerPolling = mine;
            }
            if (!mine) {
                waitForLendTimer();
                continue;
            }
            struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {m_kickFd, POLLIN, 0}};
            const int ready = ::poll(fds, m_kickFd >= 0 ? 2 : 1, -1);
            if (ready < 0 && errno != EINTR)
                _exit(0);
            if (ready > 0 && m_kickFd >= 0 && (fds[1].revents & POLLIN)) {
                quint64 count;
                [[maybe_unused]] const ssize_t n = ::read(m_kickFd, &count, sizeof(count));
            }
            if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
                readAvailable();
            std::lock_guard<std::mutex> lock(m_queueMutex);
            m_readerPolling = false;
            if (m_reclaim) { // the main thread waits for work: it reads from now on
                m_reclaim = false;
                m_duty = ReadDuty::Main;
                m_queueChanged.notify_one();
            }
        }
    }

    /** Reader thread: sleeps until the lend timer expires (a plugin has run for LendDelay, or an old
     *  setting ran out: readLoop() then finds the duty is not its own and sleeps again). */
    void waitForLendTimer()
    {
        struct pollfd fd = {m_lendTimer, POLLIN, 0};
        if (::poll(&fd, 1, -1) > 0) {
            quint64 expirations;
            [[maybe_unused]] const ssize_t n = ::read(m_lendTimer, &expirations, sizeof(expirations));
        }
    }

    /** Main thread, before it runs a plugin: the reader thread reads meanwhile, once the plugin has run for
     *  LendDelay. Tasks that follow each other within it re-arm the timer, so it never fires for them. */
    void lendReading()
    {
        {
            std::lock_guard<std::mutex> lock(m_queueMutex);
            if (m_duty != ReadDuty::Main)
                return;
            m_duty = ReadDuty::Thread;
        }
        struct itimerspec once {
        };
        once.it_value.tv_nsec = LendDelayNs;
        ::timerfd_settime(m_lendTimer, 0, &once, nullptr);
    }

    void handleMessage(const QCborMap &message)
    {
        const QString type = message.value(QStringLiteral("t")).toString();
        if (type == wire::Run) {
            WorkBatch batch;
            QString error;
            if (!decodeRun(message, &batch, &error)) {
                fprintf(stderr, "taskfleet-worker: bad run message: %s\n", qPrintable(error));
                _exit(2);
            }
            auto info = std::make_shared<BatchInfo>(BatchInfo {batch.pluginPath, batch.timeoutMs, {}, {}});
            if (!batch.parametersId.isEmpty())
                resolveParameters(batch, info.get());
            std::lock_guard<std::mutex> lock(m_queueMutex);
            for (WorkItem &item : batch.items)
                m_queue.push_back(QueuedTask {std::move(item), info});
            m_queueChanged.notify_one();
        } else if (type == wire::Cancel) {
            const QCborArray ids = message.value(QStringLiteral("ids")).toArray();
            std::lock_guard<std::mutex> lock(m_queueMutex);
            for (const QCborValue &id : ids) {
                const quint64 v = quint64(util::cborInteger(id));
                if (v == g_currentId.load())
                    g_currentCancelled.store(true);
                m_cancelled.insert(v);
            }
        } else if (type == wire::Quit) {
            std::lock_guard<std::mutex> lock(m_queueMutex);
            m_quit = true;
            m_queueChanged.notify_one();
        }
    }

    /** Reader thread: the batch's parameters from its value or from the cache (mirrored by the pool). */
    void resolveParameters(const WorkBatch &batch, BatchInfo *info)
    {
        const bool held = m_parametersLru.touch(batch.parametersId, batch.parametersSize);
        for (const QByteArray &evicted : m_parametersLru.evicted()) {
            m_parameters.remove(evicted);
            m_refusedParameters.remove(evicted);
        }
        if (batch.hasParametersValue) {
            // Checked here, where the value enters the worker: bytes altered anywhere since they were hashed (in an
            // agent's store, in the pool) are refused rather than computed with. Once per worker per value. The
            // refusal stays while the pool believes the worker holds them, so later batches naming them fail alike.
            const QByteArray actual = util::sha256Hex(batch.parametersValue.toCbor());
            if (actual != batch.parametersId) {
                m_parameters.remove(batch.parametersId);
                info->parametersError
                    = QStringLiteral("the job parameters %1… reached the worker altered (their SHA-256 is "
                                     "%2…): refused, not used")
                          .arg(QString::fromLatin1(batch.parametersId.left(12)), QString::fromLatin1(actual.left(12)));
                m_refusedParameters.insert(batch.parametersId, info->parametersError);
                return;
            }
            m_refusedParameters.remove(batch.parametersId);
            auto p = std::make_shared<JobParameters>();
            p->id = batch.parametersId;
            p->value = batch.parametersValue;
            m_parameters.insert(batch.parametersId, p);
        } else if (const auto refused = m_refusedParameters.constFind(batch.parametersId);
                   refused != m_refusedParameters.cend()) {
            info->parametersError = *refused;
            return;
        } else if (!held || !m_parameters.contains(batch.parametersId)) {
            info->parametersError = QStringLiteral("the worker does not hold the job parameters %1")
                                        .arg(QString::fromLatin1(batch.parametersId.left(12)));
            return;
        }
        info->parameters = m_parameters.value(batch.parametersId);
    }

    // --- main thread ---------------------------------------------------------------------
    bool takeTask(QueuedTask *task)
    {
        std::unique_lock<std::mutex> lock(m_queueMutex);
        if (m_queue.empty()) {
            lock.unlock();
            flush(); // nothing else to do: let the pool see every result now
            lock.lock();
        }
        while (m_queue.empty() && !m_quit) {
            if (m_duty == ReadDuty::Main) {
                lock.unlock();
                readAvailable();
                lock.lock();
                continue;
            }
            if (!m_readerPolling && m_handOver) { // lent, but the reader thread has not started: take it back
                m_duty = ReadDuty::Main;
                continue;
            }
            if (!m_reclaim && m_handOver) { // take reading back from the reader thread
                m_reclaim = true;
                const quint64 one = 1;
                [[maybe_unused]] const ssize_t n = ::write(m_kickFd, &one, sizeof(one));
            }
            m_queueChanged.wait(lock);
        }
        if (m_queue.empty())
            return false; // quit requested and everything done
        *task = std::move(m_queue.front());
        m_queue.pop_front();
        return true;
    }

    bool takeCancelled(quint64 id)
    {
        std::lock_guard<std::mutex> lock(m_queueMutex);
        return m_cancelled.remove(id);
    }

    // On the thread that runs tasks (a plugin may start per-thread state, as python's interpreter does).
    // A failure is not reported here: the first task that names the plugin reports it.
    void preload()
    {
        const QString paths = qEnvironmentVariable(WorkerPreloadVariable);
        for (const QString &path : paths.split(QLatin1Char(':'), Qt::SkipEmptyParts)) {
            QString error;
            plugin(path, &error);
        }
    }

    TaskPlugin *plugin(const QString &path, QString *error)
    {
        auto it = m_plugins.constFind(path);
        if (it != m_plugins.constEnd()) {
            *error = m_loadErrors.value(path);
            return it.value();
        }
        auto *loader = new QPluginLoader(path); // kept for the life of the process
        QObject *instance = loader->instance();
        TaskPlugin *p = qobject_cast<TaskPlugin *>(instance);
        if (!instance)
            *error = QStringLiteral("cannot load plugin %1: %2").arg(path, loader->errorString());
        else if (!p)
            *error = QStringLiteral("%1 is a Qt plugin but not a Taskfleet task plugin (IID %2)")
                         .arg(path, QLatin1String(TaskfleetTaskPlugin_iid));
        m_plugins.insert(path, p);
        m_loadErrors.insert(path, *error);
        return p;
    }

    void runOne(const QueuedTask &task, Context &context)
    {
        WorkResult result;
        result.id = task.item.id;
        // Make this task current first, then look for a cancel that came before: the reader
        // either sees it as current or leaves the id in the set, never neither.
        g_currentCancelled.store(false);
        g_currentId.store(task.item.id);
        if (takeCancelled(task.item.id)) {
            result.outcome = Outcome::Cancelled;
            result.error = QStringLiteral("cancelled before it started");
            append(result);
            return;
        }
        QString error = task.batch->parametersError;
        TaskPlugin *p = error.isEmpty() ? plugin(task.batch->pluginPath, &error) : nullptr;
        if (!p) {
            result.outcome = Outcome::LoadFailed;
            result.error = error;
            append(result);
            return;
        }

        const auto start = Clock::now();
        {
            std::lock_guard<std::mutex> lock(m_outMutex);
            m_deadline = task.batch->timeoutMs > 0 ? start + std::chrono::milliseconds(task.batch->timeoutMs)
                                                   : Clock::time_point::max();
            m_timeoutMs = task.batch->timeoutMs;
            g_pendingData = m_pending.constData();
            g_pendingSize = size_t(m_pending.size());
            g_pendingCount = size_t(m_pendingCount);
            g_inPlugin = 1;
        }
        // The watchdog only needs to hear of a deadline: without one it sleeps on (a wake-up per task would
        // cost every tiny task a context switch; an older deadline it waits for ends in a harmless check).
        if (task.batch->timeoutMs > 0)
            m_watchdogWake.notify_one();
        QString pluginError;
        QCborValue output;
        context.begin(task.batch->parameters);
        try {
            output = p->run(task.item.input, context, &pluginError);
        } catch (const std::exception &e) {
            pluginError = QStringLiteral("plugin threw an exception: %1").arg(QString::fromLocal8Bit(e.what()));
        } catch (...) {
            pluginError = QStringLiteral("plugin threw an unknown exception");
        }
        const auto end = Clock::now();
        {
            std::lock_guard<std::mutex> lock(m_outMutex);
            g_inPlugin = 0;
            m_deadline = Clock::time_point::max();
        }
        result.runtimeUs = std::chrono::duration_cast<std::chrono::microseconds>(end - start).count();
        qint64 outputBound = 0; // of the output's encoding, when it is sent
        sendOutput(task.item.id, context.takeOutput());
        if (g_currentCancelled.load() && !pluginError.isEmpty()) {
            result.outcome = Outcome::Cancelled;
            result.error = pluginError;
        } else if (!pluginError.isEmpty()) {
            result.outcome = Outcome::PluginError;
            result.error = pluginError;
        } else if (outputBound = protocol::cborSizeIfOver(output, protocol::MaxValueSize);
                   outputBound > protocol::MaxValueSize) {
            // Bigger than any link carries: this task alone ends, saying why, and the worker goes on.
            result.outcome = Outcome::PluginError;
            result.error = QStringLiteral("the output is %1 MiB, more than the %2 MiB a task's output may be")
                               .arg(double(outputBound) / (1024 * 1024), 0, 'f', 1)
                               .arg(protocol::MaxValueSize / (1024 * 1024));
        } else {
            result.output = std::move(output);
        }
        if (result.outcome == Outcome::Ok && outputBound >= StreamOutputBytes)
            sendBig(result);
        else
            append(result);
    }

    /**
     * A big output goes out in a frame of its own, written from where the plugin left it a MiB at a time (its
     * size counted first): never encoded into a buffer of its size, whose fresh pages would cost as much as the
     * copy. Results queued before it go first.
     */
    void sendBig(const WorkResult &r)
    {
        const auto write = [&r](QCborStreamWriter &w) {
            w.startMap(2);
            w.append(QLatin1String("t"));
            w.append(QLatin1String("res"));
            w.append(QLatin1String("r"));
            w.startArray(4);
            w.append(r.id);
            w.append(quint64(r.outcome));
            r.output.toCbor(w);
            w.append(r.runtimeUs);
            w.endArray();
            w.endMap();
        };
        std::lock_guard<std::mutex> lock(m_outMutex);
        flushLocked();
        protocol::writeFramesStreamed(
            [](const char *data, qint64 size) {
                struct iovec iov[1] = {{const_cast<char *>(data), size_t(size)}};
                writeAll(iov, 1); // writes all or exits
            },
            write);
    }

    void append(const WorkResult &r)
    {
        {
            std::lock_guard<std::mutex> lock(m_outMutex);
            m_writer.append(r.id);
            m_writer.append(quint64(r.outcome));
            if (r.outcome == Outcome::Ok)
                r.output.toCbor(m_writer);
            else
                m_writer.append(r.error);
            m_writer.append(r.runtimeUs);
            ++m_pendingCount;
        }
        if (m_pendingCount >= FlushEveryCount || m_pending.size() >= FlushEveryBytes
            || Clock::now() - m_lastFlush >= FlushEveryTime)
            flush();
    }

    void flush()
    {
        std::lock_guard<std::mutex> lock(m_outMutex);
        flushLocked();
    }

    void flushLocked()
    {
        m_lastFlush = Clock::now();
        if (m_pendingCount == 0)
            return;
        writePendingResults(m_pending.constData(), size_t(m_pending.size()), size_t(m_pendingCount));
        if (m_pending.capacity() > 4 * 1024 * 1024)
            m_pending.clear(); // a big result went: give its memory back
        else
            m_pending.resize(0); // keeps the allocation
        m_pendingDevice.seek(0);
        m_pendingCount = 0;
    }

    // --- watchdog thread -----------------------------------------------------------------
    void watchdogLoop()
    {
        std::unique_lock<std::mutex> lock(m_outMutex);
        for (;;) {
            if (m_deadline == Clock::time_point::max()) {
                m_watchdogWake.wait(lock);
                continue;
            }
            if (m_watchdogWake.wait_until(lock, m_deadline) == std::cv_status::timeout && g_inPlugin
                && Clock::now() >= m_deadline) {
                // The plugin is stuck past its timeout: report it, with what finished before it, and end.
                flushLocked();
                QCborMap m;
                m.insert(QStringLiteral("t"), wire::TimeoutNote);
                m.insert(QStringLiteral("id"), qint64(g_currentId.load()));
                m.insert(QStringLiteral("ms"), m_timeoutMs);
                const QByteArray frame = protocol::encodeFrame(m);
                struct iovec iov[1] = {{const_cast<char *>(frame.constData()), size_t(frame.size())}};
                writeAll(iov, 1);
                _exit(124);
            }
        }
    }

    std::mutex m_queueMutex;                // guards the queue, the cancelled set and who reads stdin
    std::condition_variable m_queueChanged; // the main thread waits here for work
    enum class ReadDuty { Main, Thread };
    ReadDuty m_duty = ReadDuty::Main;
    bool m_reclaim = false;       // the main thread asked for the duty back (m_kickFd woke the reader)
    bool m_readerPolling = false; // the reader thread is between its wait and giving the duty back
    int m_kickFd = -1;
    int m_lendTimer = -1;             // timerfd: the reader thread takes the duty when it expires
    bool m_handOver = false;          // both exist: the duty moves between the threads
    protocol::FrameDecoder m_decoder; // used only by the thread that has the duty
    std::deque<QueuedTask> m_queue;
    QSet<quint64> m_cancelled;
    bool m_quit = false;

    std::mutex m_outMutex; // guards writes to the pool, m_pending and the current-task deadline
    std::condition_variable m_watchdogWake;
    Clock::time_point m_deadline = Clock::time_point::max();
    qint64 m_timeoutMs = 0;
    // Results not yet sent, already CBOR-encoded, so the crash handler can send them as they are.
    QByteArray m_pending;
    QBuffer m_pendingDevice {&m_pending};
    QCborStreamWriter m_writer {openForAppend(&m_pendingDevice)};
    int m_pendingCount = 0;
    Clock::time_point m_lastFlush = Clock::now();
    Clock::time_point m_lastProgress {};

    QHash<QString, TaskPlugin *> m_plugins;
    QHash<QString, QString> m_loadErrors;
    // The reading thread only: the job parameters this worker holds (the pool mirrors the LRU order).
    ParametersLru m_parametersLru {qEnvironmentVariable(WorkerValueCacheVariable).toLongLong()};
    QHash<QByteArray, JobParametersPtr> m_parameters;
    QHash<QByteArray, QString> m_refusedParameters; ///< ids whose value arrived altered, with the error
};

void Context::reportProgress(double fraction)
{
    m_worker->sendProgress(fraction);
}

} // namespace

void runWorkerProcess()
{
    // Frames go to a private copy of stdout; fd 1 becomes stderr so plugin output cannot corrupt them.
    g_outFd = ::dup(STDOUT_FILENO);
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
#ifdef F_SETPIPE_SZ
    // Pipes of 1 MiB (the unprivileged maximum) instead of 64 KiB: a big value crosses in 16 times fewer
    // wake-ups of each side. Best effort: on failure the pipes keep their size.
    ::fcntl(STDIN_FILENO, F_SETPIPE_SZ, PipeBytes);
    ::fcntl(g_outFd, F_SETPIPE_SZ, PipeBytes);
#endif
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // If the pool died before prctl() took effect, we were reparented: end now. Started by hand
    // (no variable), there is no pool to compare with.
    bool ok = false;
    const qint64 poolPid = qEnvironmentVariableIntValue(WorkerParentPidVariable, &ok);
    if (ok && poolPid > 0 && qint64(::getppid()) != poolPid)
        _exit(0);
    // Never destroyed: exit() from a plugin must not tear down mutexes other threads wait on.
    auto *worker = new Worker;
    worker->run();
}

} // namespace taskfleet::exec
