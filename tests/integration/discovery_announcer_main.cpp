// SPDX-License-Identifier: MIT
// tf_test_announcer: a test-only agent stand-in that only announces itself (used inside test namespaces).
#include "net/beacon.h"
#include "net/discoveryannouncer.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
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
    parser.setApplicationDescription(QStringLiteral("Announces a fake node agent by signed UDP beacons (tests only)."));
    parser.addHelpOption();
    const QCommandLineOption secretOption(QStringLiteral("secret"), QStringLiteral("Cluster secret."),
                                          QStringLiteral("secret"));
    const QCommandLineOption portOption(QStringLiteral("port"), QStringLiteral("Discovery port (bind and target)."),
                                        QStringLiteral("port"), QString::number(DefaultDiscoveryPort));
    const QCommandLineOption targetPortOption(QStringLiteral("target-port"),
                                              QStringLiteral("Port announcements go to (default: --port)."),
                                              QStringLiteral("port"));
    const QCommandLineOption bindOption(QStringLiteral("bind"), QStringLiteral("Bind address."),
                                        QStringLiteral("address"), QStringLiteral("0.0.0.0"));
    const QCommandLineOption broadcastOption(
        QStringLiteral("broadcast"), QStringLiteral("Broadcast address (repeatable)."), QStringLiteral("address"));
    const QCommandLineOption tcpPortOption(QStringLiteral("tcp-port"), QStringLiteral("Announced TCP port."),
                                           QStringLiteral("port"), QStringLiteral("45452"));
    const QCommandLineOption intervalOption(QStringLiteral("interval"), QStringLiteral("Announce period in ms."),
                                            QStringLiteral("ms"), QString::number(DefaultAnnounceIntervalMs));
    const QCommandLineOption workersOption(QStringLiteral("workers"), QStringLiteral("Announced worker count."),
                                           QStringLiteral("n"), QStringLiteral("4"));
    const QCommandLineOption nodeIdOption(QStringLiteral("node-id"), QStringLiteral("Node id (default: random)."),
                                          QStringLiteral("uuid"));
    const QCommandLineOption hostNameOption(QStringLiteral("host-name"), QStringLiteral("Announced host name."),
                                            QStringLiteral("name"), QStringLiteral("test-agent"));
    const QCommandLineOption maxSecondsOption(QStringLiteral("max-seconds"),
                                              QStringLiteral("Exit after this many seconds, whatever happens."),
                                              QStringLiteral("s"), QStringLiteral("60"));
    parser.addOptions({secretOption, portOption, targetPortOption, bindOption, broadcastOption, tcpPortOption,
                       intervalOption, workersOption, nodeIdOption, hostNameOption, maxSecondsOption});
    parser.process(app);

    if (!parser.isSet(secretOption)) {
        std::fputs("tf_test_announcer: --secret is required\n", stderr);
        return 2;
    }
    AnnouncerConfig config;
    config.bindAddress = QHostAddress(parser.value(bindOption));
    config.port = quint16(parser.value(portOption).toUInt());
    config.targetPort = parser.isSet(targetPortOption) ? quint16(parser.value(targetPortOption).toUInt()) : config.port;
    config.intervalMs = parser.value(intervalOption).toInt();
    if (parser.isSet(broadcastOption)) {
        config.broadcastAddresses.clear();
        const QStringList addresses = parser.values(broadcastOption);
        for (const QString &a : addresses)
            config.broadcastAddresses.append(QHostAddress(a));
    }

    AnnouncedNode node;
    node.nodeId = parser.isSet(nodeIdOption) ? QUuid::fromString(parser.value(nodeIdOption)) : QUuid::createUuid();
    node.hostName = parser.value(hostNameOption);
    node.tcpPort = quint16(parser.value(tcpPortOption).toUInt());
    node.workersTotal = parser.value(workersOption).toInt();

    DiscoveryAnnouncer announcer(beaconKey(parser.value(secretOption).toUtf8()));
    announcer.setConfig(config);
    announcer.setNode(node);
    QString error;
    if (!announcer.start(&error)) {
        std::fprintf(stderr, "tf_test_announcer: %s\n", qPrintable(error));
        return 1;
    }
    QObject::connect(&announcer, &DiscoveryAnnouncer::probeAnswered, &app,
                     [](const QHostAddress &address, quint16 port) {
                         printJson({{QStringLiteral("event"), QStringLiteral("probe-answered")},
                                    {QStringLiteral("address"), address.toString()},
                                    {QStringLiteral("port"), port}});
                     });
    QTimer::singleShot(parser.value(maxSecondsOption).toInt() * 1000, &app, &QCoreApplication::quit);
    printJson({{QStringLiteral("event"), QStringLiteral("ready")},
               {QStringLiteral("nodeId"), node.nodeId.toString(QUuid::WithoutBraces)},
               {QStringLiteral("port"), announcer.boundPort()}});
    return app.exec();
}
