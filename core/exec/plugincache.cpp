// SPDX-License-Identifier: MIT
// Content-addressed plugin cache: hash check, temp file, rename.
#include "plugincache.h"

#include "util/logging.h"

#include <QtCore/QCryptographicHash>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QSaveFile>

namespace taskfleet::exec {

PluginCache::PluginCache(QString dir)
    : m_dir(std::move(dir))
{
}

QString PluginCache::path(const QByteArray &sha) const
{
    return m_dir + QLatin1Char('/') + QString::fromLatin1(sha) + QStringLiteral(".so");
}

bool PluginCache::contains(const QByteArray &sha) const
{
    const QFileInfo info(path(sha));
    return info.isFile() && info.size() > 0;
}

bool PluginCache::store(const QByteArray &sha, const QByteArray &bytes, QString *error)
{
    const QByteArray actual = QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex();
    if (actual != sha) {
        *error = QStringLiteral("upload does not match its SHA-256 (announced %1, received %2)")
                     .arg(QString::fromLatin1(sha.left(12)), QString::fromLatin1(actual.left(12)));
        return false;
    }
    if (contains(sha))
        return true;
    QDir dir(m_dir);
    if (!dir.exists()) {
        if (!dir.mkpath(QStringLiteral("."))) {
            *error = QStringLiteral("cannot create the plugin cache %1").arg(m_dir);
            return false;
        }
        QFile::setPermissions(m_dir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    }
    // QSaveFile writes a temporary file beside the target and renames it on commit().
    QSaveFile file(path(sha));
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path(sha), file.errorString());
        file.cancelWriting();
        return false;
    }
    file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    if (!file.commit()) {
        *error = QStringLiteral("cannot store %1: %2").arg(path(sha), file.errorString());
        return false;
    }
    ++m_stored;
    qCInfo(lcAgent) << "stored plugin" << sha.left(12) << "in" << m_dir;
    return true;
}

} // namespace taskfleet::exec
