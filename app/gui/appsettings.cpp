// SPDX-License-Identifier: MIT
// What the desktop app remembers between runs (QSettings), and the cluster secret (a 0600 file).
#include "appsettings.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QSettings>

namespace taskfleet::gui {

namespace {
constexpr QFileDevice::Permissions Private = QFileDevice::ReadOwner | QFileDevice::WriteOwner;
}

AppSettings AppSettings::load()
{
    QSettings s;
    AppSettings a;
    a.localWorkers = s.value(QStringLiteral("local/workers"), -1).toInt();
    a.pluginFolders = s.value(QStringLiteral("plugins/folders")).toStringList();
    a.agentPort = quint16(s.value(QStringLiteral("network/agentPort"), DefaultAgentPort).toUInt());
    a.discoveryPort = quint16(s.value(QStringLiteral("network/discoveryPort"), DefaultDiscoveryPort).toUInt());
    a.discovery = s.value(QStringLiteral("network/discovery"), true).toBool();
    return a;
}

void AppSettings::save() const
{
    QSettings s;
    s.setValue(QStringLiteral("local/workers"), localWorkers);
    s.setValue(QStringLiteral("plugins/folders"), pluginFolders);
    s.setValue(QStringLiteral("network/agentPort"), agentPort);
    s.setValue(QStringLiteral("network/discoveryPort"), discoveryPort);
    s.setValue(QStringLiteral("network/discovery"), discovery);
}

QString AppSettings::secretFilePath()
{
    const QString main = QSettings().fileName();
    return QFileInfo(main).absolutePath() + QStringLiteral("/cluster-secret.conf");
}

QString AppSettings::secret()
{
    QSettings s(secretFilePath(), QSettings::IniFormat);
    return s.value(QStringLiteral("cluster/secret")).toString();
}

bool AppSettings::setSecret(const QString &secret, QString *error)
{
    const QString path = secretFilePath();
    QDir().mkpath(QFileInfo(path).absolutePath());
    {
        // Create it private first, so the secret is never in a file others can read.
        QFile f(path);
        if (!f.exists() && !f.open(QIODevice::WriteOnly)) {
            *error = QStringLiteral("%1: %2").arg(path, f.errorString());
            return false;
        }
        f.close();
        if (!f.setPermissions(Private)) {
            *error = QStringLiteral("%1: cannot restrict permissions: %2").arg(path, f.errorString());
            return false;
        }
    }
    {
        QSettings s(path, QSettings::IniFormat);
        if (secret.isEmpty())
            s.remove(QStringLiteral("cluster/secret"));
        else
            s.setValue(QStringLiteral("cluster/secret"), secret);
        s.sync();
        if (s.status() != QSettings::NoError) {
            *error = QStringLiteral("%1: could not write the secret").arg(path);
            return false;
        }
    }
    QFile::setPermissions(path, Private); // QSettings replaces the file on sync
    return true;
}

} // namespace taskfleet::gui
