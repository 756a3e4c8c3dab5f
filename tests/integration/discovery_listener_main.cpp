// SPDX-License-Identifier: MIT
// tf_test_listener: a test-only controller stand-in that reports what discovery sees as JSON lines.
#include "net/beacon.h"
#include "net/discoverylistener.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QTimer>

#include <cstdio>

using namespace taskfleet::net;

namespace {

void printJson(const QJsonObject &object)
{
    const QByteArray line = QJsonDocument(object).toJson(QJsonDocument::Compact) + '\n';
    std::fwrite(line.constData(), 1, size_t(line.size()), stdout);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Listens for discovery beacons for a while and prints nodes and rejections as JSON lines "
                       "(tests only)."));
    parser.addHelpOption();
    const QCommandLineOption secretOption(QStringLiteral("secret"), QStringLiteral("Cluster secret."),
                                          QStringLiteral("secret"));
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("Port to listen on."),
                                        QStringLiteral("port"), QString::number(DefaultDiscoveryPort));
    const QCommandLineOption bindOption(QStringLiteral("bind"), QStringLiteral("Bind address."),
                                        QStringLiteral("address"), QStringLiteral("0.0.0.0"));
    const QCommandLineOption probeOption(QStringLiteral("probe"), QStringLiteral("Probe address (repeatable)."),
                                         QStringLiteral("address"));
    const QCommandLineOption probePortOption(QStringLiteral("probe-port"), QStringLiteral("Port probes go to."),
                                             QStringLiteral("port"), QString::number(DefaultDiscoveryPort));
    const QCommandLineOption noProbeOption(QStringLiteral("no-probe"), QStringLiteral("Do not probe at start."));
    const QCommandLineOption secondsOption(QStringLiteral("seconds"), QStringLiteral("Listen this long at most."),
                                           QStringLiteral("s"), QStringLiteral("10"));
    const QCommandLineOption untilNodesOption(QStringLiteral("until-nodes"),
                                              QStringLiteral("Exit early once this many nodes were seen ..."),
                                              QStringLiteral("n"));
    const QCommandLineOption untilRejectedOption(
        QStringLiteral("until-rejected"),
        QStringLiteral("... and this many source addresses were rejected for another secret."), QStringLiteral("n"),
        QStringLiteral("0"));
    parser.addOptions({secretOption, portOption, bindOption, probeOption, probePortOption, noProbeOption, secondsOption,
                       untilNodesOption, untilRejectedOption});
    parser.process(app);

    if (!parser.isSet(secretOption)) {
        std::fputs("tf_test_listener: --secret is required\n", stderr);
        return 2;
    }
    ListenerConfig config;
    config.bindAddress = QHostAddress(parser.value(bindOption));
    config.port = quint16(parser.value(portOption).toUInt());
    config.probePort = quint16(parser.value(probePortOption).toUInt());
    config.probeAtStart = !parser.isSet(noProbeOption);
    config.hostName = QStringLiteral("test-listener");
    if (parser.isSet(probeOption)) {
        config.probeAddresses.clear();
        const QStringList addresses = parser.values(probeOption);
        for (const QString &a : addresses)
            config.probeAddresses.append(QHostAddress(a));
    }

    DiscoveryListener listener(beaconKey(parser.value(secretOption).toUtf8()));
    listener.setConfig(config);
    QElapsedTimer clock;
    clock.start();

    const int untilNodes = parser.isSet(untilNodesOption) ? parser.value(untilNodesOption).toInt() : -1;
    const int untilRejected = parser.value(untilRejectedOption).toInt();
    auto checkDone = [&]() {
        if (untilNodes < 0 || listener.nodes().size() < untilNodes)
            return;
        if (listener.verifier().rejectingSources(BeaconStatus::BadTag, 0).size() < untilRejected)
            return;
        app.quit();
    };

    QObject::connect(&listener, &DiscoveryListener::nodeSeen, &app, [&](const DiscoveredNode &node) {
        printJson({{QStringLiteral("event"), QStringLiteral("node")},
                   {QStringLiteral("nodeId"), node.nodeId.toString(QUuid::WithoutBraces)},
                   {QStringLiteral("host"), node.hostName},
                   {QStringLiteral("address"), node.address.toString()},
                   {QStringLiteral("tcpPort"), node.tcpPort},
                   {QStringLiteral("workersTotal"), node.workersTotal},
                   {QStringLiteral("workersBusy"), node.workersBusy},
                   {QStringLiteral("elapsedMs"), clock.elapsed()}});
        checkDone();
    });
    QObject::connect(&listener, &DiscoveryListener::nodeExpired, &app, [&](const QUuid &id) {
        printJson({{QStringLiteral("event"), QStringLiteral("expired")},
                   {QStringLiteral("nodeId"), id.toString(QUuid::WithoutBraces)},
                   {QStringLiteral("elapsedMs"), clock.elapsed()}});
    });
    QObject::connect(&listener, &DiscoveryListener::beaconRejected, &app,
                     [&](const QHostAddress &address, BeaconStatus reason) {
                         printJson({{QStringLiteral("event"), QStringLiteral("rejected")},
                                    {QStringLiteral("address"), address.toString()},
                                    {QStringLiteral("reason"), beaconStatusName(reason)},
                                    {QStringLiteral("elapsedMs"), clock.elapsed()}});
                         checkDone();
                     });

    QString error;
    if (!listener.start(&error)) {
        std::fprintf(stderr, "tf_test_listener: %s\n", qPrintable(error));
        return 1;
    }
    printJson({{QStringLiteral("event"), QStringLiteral("ready")}, {QStringLiteral("port"), listener.boundPort()}});
    QTimer::singleShot(parser.value(secondsOption).toInt() * 1000, &app, &QCoreApplication::quit);
    app.exec();

    QJsonArray rejections;
    const QList<BeaconSourceStats> stats = listener.rejectionStats();
    for (const BeaconSourceStats &s : stats) {
        QJsonObject counts;
        for (int r = 0; r < BeaconStatusCount; ++r) {
            if (s.counts[size_t(r)] > 0)
                counts.insert(beaconStatusName(BeaconStatus(r)), qint64(s.counts[size_t(r)]));
        }
        rejections.append(
            QJsonObject {{QStringLiteral("address"), s.address.toString()}, {QStringLiteral("counts"), counts}});
    }
    printJson({{QStringLiteral("event"), QStringLiteral("summary")},
               {QStringLiteral("nodes"), int(listener.nodes().size())},
               {QStringLiteral("summary"), listener.rejectionSummary()},
               {QStringLiteral("rejections"), rejections},
               {QStringLiteral("elapsedMs"), clock.elapsed()}});
    return 0;
}
