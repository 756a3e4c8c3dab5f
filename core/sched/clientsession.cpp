// SPDX-License-Identifier: MIT
#include "clientsession.h"

#include "node.h"
#include "remotenode.h"
#include "util/cborinteger.h"

#include <QtCore/QPointer>
#include <QtCore/QSet>
#include <QtCore/QUuid>

#include <algorithm>

namespace taskfleet::sched {

namespace {
/** Frames collected past this size are handed on at once: the client decodes one frame at a time. */
constexpr qsizetype OutBytes = 4 * 1024 * 1024;
/** A buffer up to this size is kept for the next frames once written (a bigger one is given back). */
constexpr qsizetype KeptOutBytes = 2 * OutBytes;
/** A result whose encoding may be this big or bigger is written in a frame of its own, from where it lies. */
constexpr qint64 StreamedRowBytes = 1024 * 1024;

ClientSession::ResultRow failedRow(const QCborValue &clientId, const QString &error)
{
    return ClientSession::ResultRow {clientId, false, QCborValue(error), QString(), QString(), 0.0};
}
} // namespace

ClientSession::ClientSession(Controller *controller, exec::PluginInfo python, Writer writer, QObject *parent)
    : QObject(parent)
    , m_controller(controller)
    , m_python(std::move(python))
    , m_writer(std::move(writer))
    , m_submit([controller](JobSpec spec) { return controller->submit(std::move(spec)); })
{
    connect(m_controller, &Controller::resultsRecorded, this, &ClientSession::onResults);
    connect(m_controller, &Controller::jobFinished, this, &ClientSession::onJobFinished);
}

ClientSession::~ClientSession()
{
    // Disconnect first: cancelling emits resultsRecorded, and nobody will read them.
    m_controller->disconnect(this);
    for (auto it = m_clientIds.cbegin(); it != m_clientIds.cend(); ++it) {
        if (m_journal)
            for (const JournalPart &part : m_journalKeys.value(it.key()))
                m_journal->writeEnd(part.key);
        // A job waiting for more of the loop has all its results: it finishes; the others lose their reader.
        if (m_controller->isWaitingForTasks(it.key()))
            m_controller->closeJob(it.key());
        else
            m_controller->cancelJob(it.key());
    }
}

bool ClientSession::hasUnfinishedJobs() const
{
    for (auto it = m_clientIds.cbegin(); it != m_clientIds.cend(); ++it)
        if (!m_controller->isWaitingForTasks(it.key()))
            return true;
    return false;
}

void ClientSession::receive(const char *data, qsizetype size)
{
    if (m_ended)
        return;
    m_decoder.append(data, size);
    QCborMap message;
    for (;;) {
        const auto status = m_decoder.next(&message);
        if (status == protocol::FrameDecoder::Status::NeedMore)
            break;
        if (status == protocol::FrameDecoder::Status::Error) {
            const QString error = QStringLiteral("broken frame from the client: ") + m_decoder.errorString();
            fail(error);
            m_ended = true;
            emit ended(error);
            return;
        }
        handle(message);
        if (m_ended)
            return;
    }
    writeOut();
}

void ClientSession::handle(const QCborMap &message)
{
    const QString type = message.value(QStringLiteral("t")).toString();
    const QCborValue rid = message.value(QStringLiteral("rid"));
    if (type == QLatin1String("submit")) {
        handleSubmit(message);
    } else if (type == QLatin1String("cancel")) {
        handleCancel(message);
    } else if (type == QLatin1String("set_ncpus")) {
        handleSetNcpus(message);
    } else if (type == QLatin1String("stats")) {
        replyStats(rid);
    } else if (type == QLatin1String("nodes")) {
        replyNodes(rid);
    } else if (type == QLatin1String("client")) {
        m_clientName = message.value(QStringLiteral("name")).toString().left(200);
    } else if (type == QLatin1String("quit")) {
        flush();
        m_ended = true;
        emit ended(QString());
    } else {
        warn(QStringLiteral("ignoring a frame of unknown type \"%1\"").arg(type));
    }
}

void ClientSession::handleSubmit(const QCborMap &message)
{
    const QString key = message.value(QStringLiteral("job")).toString();
    const QCborValue params = message.value(QStringLiteral("params"));
    if (params.isMap())
        m_params.insert(key, params);
    const auto found = m_params.constFind(key);
    const QCborArray tasks = message.value(QStringLiteral("tasks")).toArray();
    if (found == m_params.constEnd()) {
        // A client bug, not the user's: fail these tasks rather than the session.
        for (const QCborValue &t : tasks)
            m_pendingResults.push_back(failedRow(t.toArray().at(0), QStringLiteral("unknown job key \"%1\"").arg(key)));
        scheduleFlush();
        return;
    }
    JobSpec spec;
    // "label" names what the user called (an Executor's tasks run a wrapper named in "function").
    const QCborMap paramsMap = found->toMap();
    const QString label = paramsMap.value(QStringLiteral("label")).toString();
    spec.name = QStringLiteral("python: ")
                + (label.isEmpty() ? paramsMap.value(QStringLiteral("function")).toString() : label.left(200));
    if (m_labelJobs) {
        spec.origin = m_clientName.isEmpty() ? QStringLiteral("a script") : m_clientName;
        spec.name += QStringLiteral(" — ") + spec.origin;
    }
    spec.plugin = m_python;
    spec.parameters = *found;
    auto hashed = m_hashedParams.find(key);
    if (hashed == m_hashedParams.end() || params.isMap())
        hashed = m_hashedParams.insert(key, exec::makeJobParameters(*found));
    spec.hashedParameters = *hashed;
    QVector<qint64> ids;
    ids.reserve(tasks.size());
    spec.inputs.reserve(tasks.size());
    for (const QCborValue &t : tasks) {
        const QCborArray task = t.toArray();
        ids.append(util::cborInteger(task.at(0)));
        spec.inputs.append(task.at(1));
    }
    if (ids.isEmpty())
        return;
    // One loop of submits is one job, however the client cut it into frames (it sends what has queued up
    // whenever it writes): tasks of the same code join this session's job of that code while it runs, or
    // while it waits a moment for more after its tasks all ended (a loop slower than its tasks).
    if (m_join) {
        const int live = m_liveJobOfKey.value(key, -1);
        const auto known = m_clientIds.find(live);
        if (known != m_clientIds.end()) {
            // The ids are in place before the controller can record anything for the new tasks.
            const qsizetype before = known->size();
            known->append(ids);
            if (m_controller->addTasks(live, spec.inputs.list()) == before) {
                if (m_journal) {
                    // The journal records whole jobs: this frame is one there, its indices from 0.
                    const QString journalKey = QUuid::createUuid().toString(QUuid::WithoutBraces);
                    m_journal->writeJob(journalKey, spec);
                    reportJournalFailure();
                    m_journalKeys[live].append({int(before), journalKey});
                }
                keepOnlyOpen(live);
                return;
            }
            known->resize(before); // the job ended meanwhile: a new one
        }
    }
    QString journalKey;
    if (m_journal) {
        journalKey = QUuid::createUuid().toString(QUuid::WithoutBraces);
        m_journal->writeJob(journalKey, spec);
        reportJournalFailure();
    }
    // The ids are in place before the controller can record anything for the job.
    QPointer<ClientSession> self(this);
    const int id = m_submit(std::move(spec));
    if (!self || id < 0)
        return;
    m_clientIds.insert(id, std::move(ids));
    m_liveJobOfKey.insert(key, id);
    if (m_journal)
        m_journalKeys.insert(id, {{0, journalKey}});
    if (m_join)
        keepOnlyOpen(id);
}

void ClientSession::keepOnlyOpen(int jobId)
{
    // The job this frame went to waits a moment for more; another job of this session starting ends that wait.
    m_controller->keepOpen(jobId, JoinGraceMs);
    for (auto it = m_clientIds.cbegin(); it != m_clientIds.cend(); ++it)
        if (it.key() != jobId)
            m_controller->closeJob(it.key());
}

void ClientSession::handleCancel(const QCborMap &message)
{
    const QCborArray wanted = message.value(QStringLiteral("ids")).toArray();
    if (wanted.isEmpty())
        return;
    QSet<qint64> ids;
    for (const QCborValue &v : wanted)
        ids.insert(util::cborInteger(v, -1));
    // Few cancels, many tasks: one pass over this session's jobs finds every wanted id.
    QVector<QPair<int, QVector<int>>> perJob;
    for (auto it = m_clientIds.cbegin(); it != m_clientIds.cend() && !ids.isEmpty(); ++it) {
        QVector<int> indices;
        for (int i = 0; i < it.value().size(); ++i)
            if (ids.remove(it.value().at(i)))
                indices.append(i);
        if (!indices.isEmpty())
            perJob.append({it.key(), std::move(indices)});
    }
    // "running": false (Executor.shutdown(cancel_futures=True)) leaves tasks a worker has started alone.
    const bool running = message.value(QStringLiteral("running")).toBool(true);
    for (const auto &job : std::as_const(perJob))
        m_controller->cancelTasks(job.first, job.second, running);
}

void ClientSession::handleSetNcpus(const QCborMap &message)
{
    const qint64 n = util::cborInteger(message.value(QStringLiteral("n")), -1);
    if (n < 0 || n > 4096) {
        warn(QStringLiteral("set_ncpus wants a number from 0 to 4096, not %1").arg(n));
        return;
    }
    if (Node *local = m_controller->localNode())
        local->setWorkerCount(int(n));
}

void ClientSession::replyStats(const QCborValue &rid)
{
    const stats::Statistics &stats = m_controller->statistics();
    QCborArray rows;
    for (int i = 0; i < stats.nodes().size(); ++i) {
        const stats::NodeTotals &n = stats.nodes().at(i);
        const Node *node = m_controller->findNode(n.id);
        QCborMap row;
        row.insert(QStringLiteral("id"), n.id);
        row.insert(QStringLiteral("name"), n.name);
        row.insert(QStringLiteral("address"), node ? node->address() : n.id);
        row.insert(QStringLiteral("tasks"), n.tasksDone);
        row.insert(QStringLiteral("time"), n.taskTimeSum);
        row.insert(QStringLiteral("errors"), n.pluginErrors);
        row.insert(QStringLiteral("failures"), n.failures);
        row.insert(QStringLiteral("lost"), n.lost);
        row.insert(QStringLiteral("rate"), stats.rate(i, 5));
        row.insert(QStringLiteral("workers"), node ? node->workerCount() : 0);
        row.insert(QStringLiteral("busy"), node ? node->busyWorkers() : 0);
        rows.append(row);
    }
    QCborMap reply;
    reply.insert(QStringLiteral("t"), QStringLiteral("stats"));
    reply.insert(QStringLiteral("rid"), rid);
    reply.insert(QStringLiteral("nodes"), rows);
    reply.insert(QStringLiteral("retries"), stats.retries());
    reply.insert(QStringLiteral("elapsed"), double(stats.nowUs()) / 1e6);
    flushResults(); // results recorded before this reply go first
    send(reply);
}

void ClientSession::replyNodes(const QCborValue &rid)
{
    QCborArray rows;
    for (const Node *n : m_controller->nodes()) {
        QCborMap row;
        row.insert(QStringLiteral("id"), n->id());
        row.insert(QStringLiteral("name"), n->name());
        row.insert(QStringLiteral("address"), n->address());
        row.insert(QStringLiteral("local"), n->isLocal());
        row.insert(QStringLiteral("state"), nodeStateName(n->state()));
        row.insert(QStringLiteral("reason"), n->stateReason());
        row.insert(QStringLiteral("workers"), n->workerCount());
        row.insert(QStringLiteral("busy"), n->busyWorkers());
        row.insert(QStringLiteral("ready"), n->readyWorkers());
        if (const auto *remote = qobject_cast<const RemoteNode *>(n)) {
            row.insert(QStringLiteral("dialed_in"), remote->isInbound());
            if (!remote->slurmJob().isEmpty()) {
                row.insert(QStringLiteral("slurm_job"), remote->slurmJob());
                row.insert(QStringLiteral("slurm_node"), remote->slurmNode());
            }
        }
        rows.append(row);
    }
    QCborMap reply;
    reply.insert(QStringLiteral("t"), QStringLiteral("nodes"));
    reply.insert(QStringLiteral("rid"), rid);
    reply.insert(QStringLiteral("nodes"), rows);
    send(reply);
}

void ClientSession::onResults(int jobId, const QVector<TaskRecord> &records)
{
    const auto it = m_clientIds.constFind(jobId);
    if (it == m_clientIds.constEnd())
        return;
    if (m_journal) {
        const QVector<JournalPart> parts = m_journalKeys.value(jobId);
        if (parts.size() == 1) {
            m_journal->writeResults(parts.first().key, records);
        } else if (!parts.isEmpty()) {
            // A job that frames joined: each frame's results under its own journaled job, from its index 0.
            QVector<QVector<TaskRecord>> perPart(parts.size());
            for (const TaskRecord &r : records) {
                const auto after = std::upper_bound(parts.cbegin(), parts.cend(), r.index,
                                                    [](int index, const JournalPart &p) { return index < p.first; });
                const int at = int(after - parts.cbegin()) - 1;
                if (at < 0)
                    continue;
                perPart[at].append(r);
                perPart[at].last().index -= parts.at(at).first;
            }
            for (int i = 0; i < parts.size(); ++i)
                if (!perPart.at(i).isEmpty())
                    m_journal->writeResults(parts.at(i).key, perPart.at(i));
        }
        reportJournalFailure();
    }
    for (const TaskRecord &r : records) {
        const bool ok = r.status == stats::TaskStatus::Ok;
        QCborValue payload = ok ? r.output : QCborValue(r.error.isEmpty() ? stats::taskStatusName(r.status) : r.error);
        m_pendingResults.push_back(
            ResultRow {it->at(r.index), ok, std::move(payload), r.log, r.nodeName, double(r.runtimeUs) / 1e6});
    }
    // The controller hands results over in batches already: out at once, no extra event-loop turn.
    flush();
}

void ClientSession::onJobFinished(int jobId)
{
    if (!m_clientIds.contains(jobId))
        return;
    // After this turn's results are out: the client ids are needed until then.
    QMetaObject::invokeMethod(
        this,
        [this, jobId] {
            flushResults();
            m_clientIds.remove(jobId);
            if (m_journal) {
                for (const JournalPart &part : m_journalKeys.take(jobId))
                    m_journal->writeEnd(part.key);
                reportJournalFailure();
            }
            writeOut();
        },
        Qt::QueuedConnection);
}

void ClientSession::sendHello(const QCborMap &fields)
{
    QCborMap hello = fields;
    hello.insert(QStringLiteral("t"), QStringLiteral("hello"));
    send(hello);
    writeOut();
}

void ClientSession::warn(const QString &text)
{
    QCborMap m;
    m.insert(QStringLiteral("t"), QStringLiteral("warning"));
    m.insert(QStringLiteral("text"), text);
    send(m);
    writeOut();
}

void ClientSession::fail(const QString &reason)
{
    QCborMap m;
    m.insert(QStringLiteral("t"), QStringLiteral("error"));
    m.insert(QStringLiteral("text"), reason);
    flushResults();
    send(m);
    writeOut();
    // The client has failed its waiting tasks already; cancelled results for them would only be dropped.
    const QList<int> jobs = m_clientIds.keys();
    for (int id : jobs)
        m_controller->cancelJob(id);
}

void ClientSession::reportJournalFailure()
{
    if (m_journalFailureReported || !m_journal->hasFailed())
        return;
    m_journalFailureReported = true;
    warn(QStringLiteral("%1; the session goes on without a journal, and that file is incomplete")
             .arg(m_journal->errorString()));
}

void ClientSession::scheduleFlush()
{
    // No timer: everything recorded during this event-loop turn goes out in one frame right after it.
    if (m_flushScheduled)
        return;
    m_flushScheduled = true;
    QMetaObject::invokeMethod(
        this, [this] { flush(); }, Qt::QueuedConnection);
}

void ClientSession::flush()
{
    flushResults();
    writeOut();
}

void ClientSession::flushResults()
{
    m_flushScheduled = false;
    if (m_pendingResults.empty())
        return;
    const std::vector<ResultRow> rows = std::exchange(m_pendingResults, {});
    // Rows go out in order: the small ones together, each big one in a frame of its own.
    qsizetype first = 0;
    for (qsizetype i = 0; i < qsizetype(rows.size()); ++i) {
        if (protocol::cborSizeBound(rows[size_t(i)].payload) < StreamedRowBytes)
            continue;
        if (i > first)
            writeResultRows(rows.data() + first, i - first, false);
        writeResultRows(rows.data() + i, 1, true);
        first = i + 1;
    }
    if (qsizetype(rows.size()) > first)
        writeResultRows(rows.data() + first, qsizetype(rows.size()) - first, false);
    if (m_out.size() >= OutBytes)
        writeOut();
}

void ClientSession::writeResultRows(const ResultRow *rows, qsizetype count, bool streamed)
{
    // Streamed from the rows: a value put in a QCborArray would be copied into it first (a 50 MB result: 50 MB).
    const auto write = [rows, count](QCborStreamWriter &w) {
        w.startMap(2);
        w.append(QLatin1String("t"));
        w.append(QLatin1String("results"));
        w.append(QLatin1String("r"));
        w.startArray(quint64(count));
        for (qsizetype i = 0; i < count; ++i) {
            const ResultRow &row = rows[i];
            w.startArray(6);
            row.clientId.toCbor(w);
            w.append(row.ok);
            row.payload.toCbor(w);
            if (row.log.isEmpty())
                w.append(QCborSimpleType::Undefined); // as the rows always had it
            else
                w.append(row.log);
            w.append(row.node);
            w.append(row.seconds);
            w.endArray();
        }
        w.endArray();
        w.endMap();
    };
    if (!streamed) {
        protocol::appendFrameWith(m_out, write);
        return;
    }
    // A big value is not encoded into a buffer of its size (fresh pages cost as much as the copy): what is
    // queued goes first, then the frame, its size counted beforehand, a MiB at a time or from the value itself.
    writeOut();
    protocol::writeFramesStreamed(
        [this](const char *data, qint64 size) { m_writer(QByteArray::fromRawData(data, qsizetype(size))); }, write);
}

void ClientSession::send(const QCborMap &message)
{
    protocol::appendFrame(m_out, message);
    if (m_out.size() >= OutBytes)
        writeOut();
}

void ClientSession::writeOut()
{
    if (m_out.isEmpty())
        return;
    // The writer gets a buffer of its own (it may call back into this session), which is then kept for the
    // next frames (the writer copies what it keeps): a stream of big results reuses one buffer's memory.
    QByteArray out = std::exchange(m_out, QByteArray());
    m_writer(out);
    if (m_out.isEmpty() && out.isDetached() && out.capacity() <= KeptOutBytes) {
        out.resize(0); // keeps the capacity
        m_out.swap(out);
    }
}

} // namespace taskfleet::sched
