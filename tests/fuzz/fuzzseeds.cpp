// SPDX-License-Identifier: MIT
#include "fuzzseeds.h"

#include "exec/pluginregistry.h"
#include "exec/workerprotocol.h"
#include "net/beacon.h"
#include "protocol/frame.h"
#include "protocol/messages.h"
#include "sched/jobfile.h"
#include "sched/journal.h"

#include <QtCore/QBuffer>
#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QCryptographicHash>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QHostAddress>

namespace taskfleet::fuzz {

namespace {
const QByteArray Sha = QCryptographicHash::hash("plugin", QCryptographicHash::Sha256).toHex();
const QString WorkerPrefix = QStringLiteral("worker-");

/** One message of each type both protocols have, as the programs send them. */
QVector<std::pair<QString, QCborMap>> sampleMessages()
{
    using namespace protocol;
    QVector<std::pair<QString, QCborMap>> out;
    Hello hello;
    hello.major = ProtocolMajor;
    hello.minor = ProtocolMinor;
    hello.role = QStringLiteral("agent");
    hello.nodeId = QStringLiteral("{00000000-0000-4000-8000-000000000001}");
    hello.hostName = QStringLiteral("node-a");
    hello.abi = QStringLiteral("x86_64-little_endian-lp64");
    hello.qtVersion = QStringLiteral("6.4.2");
    hello.cores = 2;
    hello.workers = 2;
    out.append({QStringLiteral("hello"), encode(hello)});

    Run run;
    run.sha256 = Sha;
    run.timeoutMs = 1000;
    run.tasks = {{1, QCborValue(100000)},
                 {2, QCborValue(QStringLiteral("x"))},
                 {3, QCborMap {{QStringLiteral("a"), QCborArray {1, 2}}}}};
    out.append({QStringLiteral("run"), encode(run)});
    const QCborValue params = QCborMap {{QStringLiteral("source"), QStringLiteral("def f(x):\n    return x\n")},
                                        {QStringLiteral("function"), QStringLiteral("f")}};
    const exec::JobParametersPtr p = exec::makeJobParameters(params);
    run.parametersSha256 = p->id;
    run.parameters = params;
    run.hasParameters = true;
    out.append({QStringLiteral("run-with-parameters"), encode(run)});

    Results results;
    results.results = {{1, 0, QCborValue(454396537), 15000, QString()},
                       {2, 2, QCborValue(QStringLiteral("bad input")), 3, QStringLiteral("printed\n")}};
    out.append({QStringLiteral("results"), encode(results)});
    out.append({QStringLiteral("cancel"), encode(Cancel {{1, 2, 3}})});
    Status status;
    status.workers = 2;
    status.busy = 1;
    status.queued = 5;
    status.capacity = 8;
    status.tasksDone = 10;
    status.load = 0.5;
    out.append({QStringLiteral("status"), encode(status)});
    out.append({QStringLiteral("set-workers"), encode(SetWorkers {4})});
    out.append({QStringLiteral("plugin-query"), encode(PluginQuery {Sha})});
    out.append({QStringLiteral("plugin-have"), encode(PluginHave {Sha, true})});
    out.append({QStringLiteral("plugin-upload"), encode(PluginUpload {Sha, QStringLiteral("echo"),
                                                                      QByteArray("\x7f"
                                                                                 "ELF")
                                                                          + QByteArray(60, '\0')})});
    out.append({QStringLiteral("plugin-stored"), encode(PluginStored {Sha})});
    out.append({QStringLiteral("plugin-rejected"), encode(PluginRejected {Sha, QStringLiteral("not a plugin")})});
    out.append({QStringLiteral("heartbeat"), encodeHeartbeat()});
    out.append({QStringLiteral("heartbeat-ping"), encodeHeartbeat(Heartbeat {7, -1})});
    out.append({QStringLiteral("parameters-evicted"), encode(ParametersEvicted {{QByteArray(64, 'c')}})});
    out.append({QStringLiteral("error"), encodeError(QStringLiteral("bad frame: too big"))});
    out.append({QStringLiteral("bye"), encodeBye(QStringLiteral("shutting down"))});

    // The pool <-> worker protocol ("t": "run" there too: the name says which decoder).
    exec::WorkBatch batch;
    batch.pluginPath = QStringLiteral("/usr/lib/taskfleet/plugins/libtaskfleet_echo.so");
    batch.timeoutMs = 1000;
    batch.items = {{1, QCborValue(5)}, {2, QCborValue(QStringLiteral("six"))}};
    out.append({WorkerPrefix + QStringLiteral("run"), exec::encodeRun(batch)});
    batch.parameters = p;
    batch.withParametersValue = true;
    out.append({WorkerPrefix + QStringLiteral("run-with-parameters"), exec::encodeRun(batch)});
    exec::WorkResult ok;
    ok.id = 1;
    ok.output = QCborValue(5);
    ok.runtimeUs = 10;
    exec::WorkResult crashed;
    crashed.id = 2;
    crashed.outcome = exec::Outcome::Crashed;
    crashed.error = QStringLiteral("crash");
    crashed.runtimeUs = 20;
    out.append({WorkerPrefix + QStringLiteral("results"), exec::encodeResults({ok, crashed})});
    return out;
}

bool decodeMessage(const QString &name, const QCborMap &m, QString *error)
{
    if (name.startsWith(WorkerPrefix)) {
        if (name.contains(QStringLiteral("results"))) {
            QVector<exec::WorkResult> r;
            return exec::decodeResults(m, &r, error);
        }
        exec::WorkBatch b;
        return exec::decodeRun(m, &b, error);
    }
    using namespace protocol;
    switch (messageType(m, error)) {
    case MessageType::Hello: {
        Hello x;
        return decode(m, &x, error);
    }
    case MessageType::Run: {
        Run x;
        return decode(m, &x, error);
    }
    case MessageType::Results: {
        Results x;
        return decode(m, &x, error);
    }
    case MessageType::Cancel: {
        Cancel x;
        return decode(m, &x, error);
    }
    case MessageType::Status: {
        Status x;
        return decode(m, &x, error);
    }
    case MessageType::SetWorkers: {
        SetWorkers x;
        return decode(m, &x, error);
    }
    case MessageType::PluginQuery: {
        PluginQuery x;
        return decode(m, &x, error);
    }
    case MessageType::PluginHave: {
        PluginHave x;
        return decode(m, &x, error);
    }
    case MessageType::PluginUpload: {
        PluginUpload x;
        return decode(m, &x, error);
    }
    case MessageType::PluginStored: {
        PluginStored x;
        return decode(m, &x, error);
    }
    case MessageType::PluginRejected: {
        PluginRejected x;
        return decode(m, &x, error);
    }
    case MessageType::Heartbeat: {
        Heartbeat x;
        return decode(m, &x, error);
    }
    case MessageType::ParametersEvicted: {
        ParametersEvicted x;
        return decode(m, &x, error);
    }
    case MessageType::Error:
    case MessageType::Bye: {
        ErrorMessage x;
        return decode(m, &x, error);
    }
    case MessageType::Unknown:
        return false;
    }
    return false;
}
/** Journals as JournalWriter writes them (format 3), and one of format 2 with "in" records, built by hand. */
QVector<std::pair<QString, QByteArray>> sampleJournals()
{
    QVector<std::pair<QString, QByteArray>> out;
    QTemporaryDir dir;
    if (!dir.isValid())
        return out;
    sched::JobSpec list;
    list.name = QStringLiteral("list");
    list.plugin.name = QStringLiteral("echo");
    list.plugin.path = QStringLiteral("/usr/lib/taskfleet/plugins/libtaskfleet_echo.so");
    list.plugin.sha256 = Sha;
    list.inputs = QVector<QCborValue> {1, QStringLiteral("two"), QCborMap {{QStringLiteral("three"), 3.5}}};
    list.parameters = QCborMap {{QStringLiteral("k"), 1}};
    sched::JobSpec range = list;
    range.name = QStringLiteral("range");
    range.inputs = sched::JobInputs::range(100, 7, 50);
    range.parameters = QCborValue();
    const auto record = [](int index, stats::TaskStatus status, const QCborValue &output) {
        sched::TaskRecord r;
        r.index = index;
        r.status = status;
        r.output = output;
        r.error = status == stats::TaskStatus::Ok ? QString() : QStringLiteral("bad input");
        r.nodeName = QStringLiteral("node-a");
        r.runtimeUs = 1500;
        r.attempts = 1;
        return r;
    };
    const auto write = [&](const QString &name, const std::function<void(sched::JournalWriter &)> &body) {
        const QString file = dir.filePath(name);
        {
            sched::JournalWriter w;
            QString error;
            if (!w.open(file, &error))
                return;
            body(w);
        }
        QFile f(file);
        if (f.open(QIODevice::ReadOnly))
            out.append({name, f.readAll()});
    };
    write(QStringLiteral("list-ended"), [&](sched::JournalWriter &w) {
        w.writeJob(QStringLiteral("k1"), list);
        w.writeResults(QStringLiteral("k1"),
                       {record(0, stats::TaskStatus::Ok, 1), record(2, stats::TaskStatus::Error, {})});
        w.writeResults(QStringLiteral("k1"), {record(1, stats::TaskStatus::Ok, QStringLiteral("two"))});
        w.writeEnd(QStringLiteral("k1"));
    });
    write(QStringLiteral("two-jobs-unfinished"), [&](sched::JournalWriter &w) {
        w.writeJob(QStringLiteral("k1"), list);
        w.writeJob(QStringLiteral("k2"), range);
        w.writeResults(QStringLiteral("k2"),
                       {record(3, stats::TaskStatus::Ok, 121), record(0, stats::TaskStatus::Failed, {})});
        w.writeResults(QStringLiteral("k1"), {record(0, stats::TaskStatus::Ok, 1)});
        w.writeResults(QStringLiteral("k2"), {record(3, stats::TaskStatus::Ok, 121)}); // a repeat
    });
    // Format 2: a job whose inputs continue in an "in" record, and results; no checksums.
    const auto frame = [](const QCborMap &m) { return protocol::encodeFrame(m); };
    QCborMap spec {
        {QStringLiteral("name"), QStringLiteral("old")},  {QStringLiteral("plugin"), QStringLiteral("echo")},
        {QStringLiteral("pluginPath"), list.plugin.path}, {QStringLiteral("sha256"), QString::fromLatin1(Sha)},
        {QStringLiteral("inputs"), QCborArray {10, 20}},  {QStringLiteral("count"), 4}};
    out.append(
        {QStringLiteral("format-2-with-inputs-record"),
         frame({{QStringLiteral("t"), QStringLiteral("journal")},
                {QStringLiteral("magic"), QStringLiteral("taskfleet-journal/2")}})
             + frame({{QStringLiteral("t"), QStringLiteral("job")},
                      {QStringLiteral("key"), QStringLiteral("k")},
                      {QStringLiteral("spec"), spec}})
             + frame({{QStringLiteral("t"), QStringLiteral("in")},
                      {QStringLiteral("key"), QStringLiteral("k")},
                      {QStringLiteral("from"), 2},
                      {QStringLiteral("v"), QCborArray {30, 40}}})
             + frame({{QStringLiteral("t"), QStringLiteral("res")},
                      {QStringLiteral("key"), QStringLiteral("k")},
                      {QStringLiteral("r"), QCborArray {3, 0, 40, QStringLiteral("n"), 5, 1}}})
             + frame({{QStringLiteral("t"), QStringLiteral("end")}, {QStringLiteral("key"), QStringLiteral("k")}})});
    return out;
}
} // namespace

QByteArray beaconFuzzKey()
{
    return net::beaconKey(QByteArrayLiteral("fuzzing secret"));
}

QVector<Seed> makeSeeds(const QString &jobsDir)
{
    QVector<Seed> seeds;
    const auto messages = sampleMessages();
    for (const auto &[name, m] : messages) {
        seeds.append({QStringLiteral("messages"), name, m.toCborValue().toCbor()});
        seeds.append({QStringLiteral("frame"), name, protocol::encodeFrame(m)});
    }
    seeds.append({QStringLiteral("frame"), QStringLiteral("hello-then-run"),
                  protocol::encodeFrame(messages.at(0).second) + protocol::encodeFrame(messages.at(1).second)});

    for (const auto kind : {net::Beacon::Kind::Announce, net::Beacon::Kind::Probe}) {
        net::Beacon b = net::Beacon::create(kind, BeaconFuzzNowMs);
        b.nodeId = QUuid(QStringLiteral("{00000000-0000-4000-8000-000000000002}"));
        b.hostName = QStringLiteral("node-a");
        b.tcpPort = kind == net::Beacon::Kind::Announce ? 45450 : 0;
        b.workersTotal = kind == net::Beacon::Kind::Announce ? 2 : 0;
        b.nonce = QByteArray(16, '\x5a'); // fixed: the corpus is reproducible
        seeds.append({QStringLiteral("beacon"),
                      kind == net::Beacon::Kind::Announce ? QStringLiteral("announce") : QStringLiteral("probe"),
                      net::encodeBeacon(b, beaconFuzzKey())});
    }

    const QStringList files = QDir(jobsDir).entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
    for (const QString &f : files) {
        QFile file(QDir(jobsDir).filePath(f));
        if (file.open(QIODevice::ReadOnly))
            seeds.append({QStringLiteral("jobfile"), f, file.readAll()});
    }
    seeds.append(
        {QStringLiteral("jobfile"), QStringLiteral("range-and-options.json"),
         R"({"name": "r", "plugin": "echo", "inputs": {"range": [0, 10, 2]}, "retries": 1, "timeout": 2.5, "priority": 3})"});
    seeds.append(
        {QStringLiteral("jobfile"), QStringLiteral("params.json"),
         R"({"plugin": "echo", "inputs": [1, "two", {"three": [3.5, null, true]}], "params": {"k": [1, 2]}})"});
    for (const auto &[name, bytes] : sampleJournals())
        seeds.append({QStringLiteral("journal"), name, bytes});
    return seeds;
}

bool seedDecodes(const Seed &seed, const QString &pluginDir, const QString &baseDir, QString *error)
{
    if (seed.target == QLatin1String("messages")) {
        QCborParserError parseError;
        const QCborValue v = QCborValue::fromCbor(seed.data, &parseError);
        if (parseError.error != QCborError::NoError || !v.isMap()) {
            *error = QStringLiteral("not a CBOR map");
            return false;
        }
        return decodeMessage(seed.name, v.toMap(), error);
    }
    if (seed.target == QLatin1String("frame")) {
        protocol::FrameDecoder decoder;
        decoder.append(seed.data);
        QCborMap m;
        int frames = 0;
        while (decoder.next(&m) == protocol::FrameDecoder::Status::Frame) {
            ++frames;
            if (!decodeMessage(seed.name, m, error))
                return false;
        }
        if (frames == 0)
            *error = QStringLiteral("no whole frame: ") + decoder.errorString();
        return frames > 0 && !decoder.hasError();
    }
    if (seed.target == QLatin1String("beacon")) {
        const auto kind = seed.name == QLatin1String("probe") ? net::Beacon::Kind::Probe : net::Beacon::Kind::Announce;
        net::BeaconVerifier verifier(beaconFuzzKey(), kind);
        const net::BeaconStatus status
            = verifier.verify(seed.data, QHostAddress(QStringLiteral("127.0.0.1")), BeaconFuzzNowMs, nullptr, error);
        if (status != net::BeaconStatus::Accepted && error->isEmpty())
            *error = net::beaconStatusName(status);
        return status == net::BeaconStatus::Accepted;
    }
    if (seed.target == QLatin1String("jobfile")) {
        exec::PluginRegistry plugins;
        plugins.addSearchPath(pluginDir);
        return sched::parseJobJson(seed.data, seed.name, baseDir, plugins, error).has_value();
    }
    if (seed.target == QLatin1String("journal")) {
        QByteArray bytes = seed.data;
        QBuffer buffer(&bytes);
        buffer.open(QIODevice::ReadOnly);
        QString warning;
        const auto jobs = sched::JournalReader::read(&buffer, seed.name, true, {}, error, &warning);
        if (jobs && (jobs->isEmpty() || !warning.isEmpty()))
            *error = QStringLiteral("no job, or a warning: ") + warning;
        return jobs && !jobs->isEmpty() && warning.isEmpty();
    }
    *error = QStringLiteral("unknown target ") + seed.target;
    return false;
}

bool writeSeeds(const QVector<Seed> &seeds, const QString &dir, QString *error)
{
    for (const Seed &s : seeds) {
        const QString folder = QDir(dir).filePath(s.target);
        QFile f(QDir(folder).filePath(s.name));
        if (!QDir().mkpath(folder) || !f.open(QIODevice::WriteOnly | QIODevice::Truncate)
            || f.write(s.data) != s.data.size()) {
            *error = QStringLiteral("cannot write %1: %2").arg(f.fileName(), f.errorString());
            return false;
        }
    }
    return true;
}

} // namespace taskfleet::fuzz
