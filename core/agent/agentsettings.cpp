// SPDX-License-Identifier: MIT
#include "agentsettings.h"

#include <QtCore/QSettings>
#include <QtCore/QUuid>

namespace taskfleet::agent {

namespace {
const QString NodeIdKey = QStringLiteral("node/id");
const QString WorkersKey = QStringLiteral("pool/workers");
constexpr int MaxWorkers = 4096;
} // namespace

AgentSettings AgentSettings::load(const QString &path)
{
    const QSettings ini(path, QSettings::IniFormat);
    AgentSettings s;
    const QString id = ini.value(NodeIdKey).toString();
    if (!QUuid::fromString(id).isNull())
        s.nodeId = id;
    bool ok = false;
    const int workers = ini.value(WorkersKey).toInt(&ok);
    if (ok && workers >= 0 && workers <= MaxWorkers)
        s.workers = workers;
    return s;
}

bool AgentSettings::save(const QString &path, QString *error) const
{
    QSettings ini(path, QSettings::IniFormat);
    if (nodeId.isEmpty())
        ini.remove(NodeIdKey);
    else
        ini.setValue(NodeIdKey, nodeId);
    if (workers < 0)
        ini.remove(WorkersKey);
    else
        ini.setValue(WorkersKey, workers);
    ini.sync();
    if (ini.status() != QSettings::NoError) {
        *error = QStringLiteral("cannot write %1").arg(path);
        return false;
    }
    return true;
}

} // namespace taskfleet::agent
