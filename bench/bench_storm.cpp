// SPDX-License-Identifier: MIT
// A connection storm against one agent: 2,000 silent connections a second from 100 loopback addresses
// for 10 s, each held 2 s. Prints the agent's descriptors and RSS (idle, peak, 30 s after) and how long fresh
// controllers took to get in, against the goals (within the 10 s connect timeout; RSS after within 2x idle).
#include "benchsupport.h"
#include "connectionstorm.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QDir>

using namespace taskfleet;

namespace {
int openDescriptors(qint64 pid)
{
    return int(QDir(QStringLiteral("/proc/%1/fd").arg(pid)).entryList(QDir::NoDotAndDotDot | QDir::System).size());
}

qint64 rssKb(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/status").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    return -1;
}
} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Starts one taskfleet-agent on 127.0.0.1 and storms it with silent connections; fresh controllers connect\n"
        "every 2 s during the storm and once after it. --burn adds two CPU burners for the storm's length (the\n"
        "condition in which the old accept path piled up)."));
    parser.addHelpOption();
    const QCommandLineOption rateOpt(QStringLiteral("rate"), QStringLiteral("Connections per second."),
                                     QStringLiteral("N"), QStringLiteral("2000"));
    const QCommandLineOption secondsOpt(QStringLiteral("seconds"), QStringLiteral("Storm length."), QStringLiteral("S"),
                                        QStringLiteral("10"));
    const QCommandLineOption afterOpt(QStringLiteral("after"), QStringLiteral("Seconds to wait before the last RSS."),
                                      QStringLiteral("S"), QStringLiteral("30"));
    const QCommandLineOption burnOpt(QStringLiteral("burn"), QStringLiteral("Two CPU burners during the storm."));
    const QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("3 s storm, 3 s after (CI smoke run)."));
    parser.addOptions({rateOpt, secondsOpt, afterOpt, burnOpt, quickOpt});
    parser.process(app);
    const bool quick = parser.isSet(quickOpt);
    const int rate = std::max(1, parser.value(rateOpt).toInt());
    const int stormMs = 1000 * (quick ? 3 : std::max(1, parser.value(secondsOpt).toInt()));
    const int afterMs = 1000 * (quick ? 3 : std::max(0, parser.value(afterOpt).toInt()));
    constexpr int ConnectTimeoutMs = 10000;

    bench::Agents agents;
    if (!agents.start(1, 1)) {
        std::fprintf(stderr, "taskfleet-agent did not start\n");
        return 1;
    }
    const qint64 pid = agents.pid(0);
    bench::waitUntil([] { return false; }, 1000);
    const qint64 idleRss = rssKb(pid);
    const int idleFds = openDescriptors(pid);

    std::vector<std::unique_ptr<QProcess>> burners;
    if (parser.isSet(burnOpt))
        for (int i = 0; i < 2; ++i) {
            burners.push_back(std::make_unique<QProcess>());
            burners.back()->start(QStringLiteral("/bin/sh"),
                                  {QStringLiteral("-c"), QStringLiteral("end=$(($(date +%s) + %1)); while [ $(date "
                                                                        "+%s) -lt $end ]; do :; done")
                                                             .arg(stormMs / 1000 + 2)});
        }
    test::ConnectionStorm storm(agents.port(0), rate, 100, 2000);
    int maxFds = idleFds;
    qint64 peakRss = idleRss;
    QTimer sampler;
    QObject::connect(&sampler, &QTimer::timeout, &sampler, [&] {
        maxFds = std::max(maxFds, openDescriptors(pid));
        peakRss = std::max(peakRss, rssKb(pid));
    });
    sampler.start(50);
    QElapsedTimer clock;
    clock.start();
    storm.start(stormMs);

    // A fresh controller every 2 s of the storm and one 1 s after it: how long each takes to be online.
    sched::Controller c;
    bench::addLocalNode(c, 0);
    std::vector<qint64> onlineMs; // per fresh controller: ms from its start to online, -1 while not
    for (int at = 1000; at <= stormMs + 1000; at += 2000) {
        const int when = at > stormMs ? stormMs + 1000 : at;
        bench::waitUntil([&] { return clock.elapsed() >= when; }, when + 1000);
        sched::RemoteNode *node = agents.addNode(c);
        const qint64 started = clock.elapsed();
        onlineMs.push_back(-1);
        QObject::connect(node, &sched::Node::stateChanged, node, [&, node, started, i = onlineMs.size() - 1] {
            if (onlineMs[i] < 0 && node->state() == sched::NodeState::Online)
                onlineMs[i] = clock.elapsed() - started;
        });
    }
    bench::waitUntil([&] { return std::count(onlineMs.begin(), onlineMs.end(), -1) == 0; },
                     stormMs + ConnectTimeoutMs + 5000);
    bench::waitUntil([&] { return !storm.isActive(); }, 10000);
    for (auto &b : burners)
        b->kill();
    sampler.stop();
    bench::waitUntil([] { return false; }, afterMs);
    const qint64 afterRss = rssKb(pid);
    const int afterFds = openDescriptors(pid);

    qint64 worstMs = 0;
    QStringList times;
    for (qint64 ms : onlineMs) {
        worstMs = ms < 0 ? qint64(1) << 40 : std::max(worstMs, ms);
        times << (ms < 0 ? QStringLiteral("never") : QString::number(ms));
    }
    std::printf("%-62s %12s\n", "measure", "value");
    std::printf(
        "%-62s %12lld\n",
        qPrintable(QStringLiteral("connections opened (%1/s for %2 s, held 2 s)").arg(rate).arg(stormMs / 1000)),
        static_cast<long long>(storm.opened()));
    std::printf("%-62s %12d\n", "agent descriptors idle", idleFds);
    std::printf("%-62s %12d\n", "agent descriptors, most during the storm (cap 1024)", maxFds);
    std::printf("%-62s %12d\n", "agent descriptors after", afterFds);
    std::printf("%-62s %12.1f\n", "agent RSS idle, MB", idleRss / 1024.0);
    std::printf("%-62s %12.1f\n", "agent RSS peak, MB", peakRss / 1024.0);
    std::printf("%-62s %12.1f\n", qPrintable(QStringLiteral("agent RSS %1 s after the storm, MB").arg(afterMs / 1000)),
                afterRss / 1024.0);
    std::printf("%-62s %12s\n", "fresh controllers online after, ms", qPrintable(times.join(QLatin1Char(' '))));
    std::printf("{\"bench\":\"storm\",\"rate\":%d,\"seconds\":%d,\"burn\":%s,\"opened\":%lld,\"fds_idle\":%d,"
                "\"fds_max\":%d,\"rss_idle_mb\":%.1f,\"rss_peak_mb\":%.1f,\"rss_after_mb\":%.1f,\"after_s\":%d,"
                "\"online_ms\":[%s],\"goal_connect\":%s,\"goal_fds\":%s,\"goal_rss\":%s,\"quick\":%s}\n",
                rate, stormMs / 1000, parser.isSet(burnOpt) ? "true" : "false", static_cast<long long>(storm.opened()),
                idleFds, maxFds, idleRss / 1024.0, peakRss / 1024.0, afterRss / 1024.0, afterMs / 1000,
                qPrintable(times.join(QLatin1Char(','))), worstMs <= ConnectTimeoutMs ? "true" : "false",
                maxFds <= 1024 + idleFds ? "true" : "false", afterRss <= 2 * idleRss ? "true" : "false",
                quick ? "true" : "false");
    return 0;
}
