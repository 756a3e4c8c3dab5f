// SPDX-License-Identifier: MIT
#include "clusteroptions.h"

#include "net/nodeaddress.h"

#include <QtNetwork/QHostAddress>

namespace taskfleet::app {

QCommandLineOption nodeOption()
{
    return QCommandLineOption(QStringLiteral("node"),
                              QStringLiteral("Also run tasks on the taskfleet-agent at HOST:PORT (repeatable; the port "
                                             "is required)."),
                              QStringLiteral("HOST:PORT"));
}

QCommandLineOption secretFileOption()
{
    return QCommandLineOption(QStringLiteral("secret-file"),
                              QStringLiteral("Read the cluster secret for the agents from FILE (else TASKFLEET_SECRET; "
                                             "the agent prints where its secret is stored)."),
                              QStringLiteral("FILE"));
}

bool readNodes(const QStringList &values, QStringList *nodes, QString *error)
{
    for (const QString &node : values) {
        QString host, why;
        quint16 port = 0;
        if (!net::parseNodeAddress(node, &host, &port, &why)) {
            *error = QStringLiteral("--node %1: %2").arg(node, why);
            return false;
        }
        nodes->append(node);
    }
    return true;
}

bool readListen(const QString &value, QString *listen, QString *error)
{
    QHostAddress address;
    quint16 port = 0;
    QString why;
    if (!net::parseListenAddress(value, &address, &port, &why)) {
        *error = QStringLiteral("--listen %1: %2").arg(value, why);
        return false;
    }
    *listen = value.trimmed();
    return true;
}

} // namespace taskfleet::app
