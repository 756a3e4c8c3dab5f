// SPDX-License-Identifier: MIT
// What the desktop app remembers between runs (QSettings), and the cluster secret (a 0600 file).
#include "appsettings.h"

#include "net/secretstore.h"

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
    a.valueCacheMb = s.value(QStringLiteral("local/valueCacheMb"), DefaultValueCacheMb).toInt();
    if (a.valueCacheMb < 1)
        a.valueCacheMb = DefaultValueCacheMb;
    a.pluginFolders = s.value(QStringLiteral("plugins/folders")).toStringList();
    a.agentPort = quint16(s.value(QStringLiteral("network/agentPort"), DefaultAgentPort).toUInt());
    a.discoveryPort = quint16(s.value(QStringLiteral("network/discoveryPort"), DefaultDiscoveryPort).toUInt());
    a.discovery = s.value(QStringLiteral("network/discovery"), true).toBool();
    a.manualNodes = s.value(QStringLiteral("network/nodes")).toStringList();
    a.acceptAgents = s.value(QStringLiteral("network/acceptAgents"), false).toBool();
    a.listenPort = quint16(s.value(QStringLiteral("network/listenPort"), DefaultListenPort).toUInt());
    return a;
}

void AppSettings::save() const
{
    QSettings s;
    s.setValue(QStringLiteral("local/workers"), localWorkers);
    s.setValue(QStringLiteral("local/valueCacheMb"), valueCacheMb);
    // An empty list would be written as "@Invalid()": leave the key out instead.
    const auto setList = [&s](const QString &key, const QStringList &list) {
        if (list.isEmpty())
            s.remove(key);
        else
            s.setValue(key, list);
    };
    setList(QStringLiteral("plugins/folders"), pluginFolders);
    setList(QStringLiteral("network/nodes"), manualNodes);
    s.setValue(QStringLiteral("network/agentPort"), agentPort);
    s.setValue(QStringLiteral("network/discoveryPort"), discoveryPort);
    s.setValue(QStringLiteral("network/discovery"), discovery);
    s.setValue(QStringLiteral("network/acceptAgents"), acceptAgents);
    s.setValue(QStringLiteral("network/listenPort"), listenPort);
}

QString AppSettings::secretFilePath()
{
    const QString main = QSettings().fileName();
    return QFileInfo(main).absolutePath() + QStringLiteral("/cluster-secret");
}

QString AppSettings::secret()
{
    if (!QFile::exists(secretFilePath()))
        return {};
    const net::SecretResult r = net::SecretStore::loadFile(secretFilePath());
    return r.ok() ? QString::fromUtf8(r.secret) : QString();
}

bool AppSettings::setSecret(const QString &secret, QString *error)
{
    const QString path = secretFilePath();
    if (secret.isEmpty()) {
        if (QFile::exists(path) && !QFile::remove(path)) {
            *error = QStringLiteral("%1: cannot remove the secret").arg(path);
            return false;
        }
        return true;
    }
    QDir().mkpath(QFileInfo(path).absolutePath());
    // Same format as an agent's secret file (the bytes, nothing else), so either can be copied to the other.
    // Made private before a byte is written: created 0600, or an existing file reset to 0600 first.
    QFile f(path);
    if (f.exists() && !f.setPermissions(Private)) {
        *error = QStringLiteral("%1: cannot restrict permissions: %2").arg(path, f.errorString());
        return false;
    }
    const QByteArray bytes = secret.trimmed().toUtf8() + '\n';
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate, Private) || f.write(bytes) != bytes.size()) {
        *error = QStringLiteral("%1: could not write the secret: %2").arg(path, f.errorString());
        return false;
    }
    f.close();
    return true;
}

} // namespace taskfleet::gui
