// SPDX-License-Identifier: MIT
// Content-addressed plugin cache: hash check, temp file, rename.
#include "plugincache.h"

#include "util/logging.h"
#include "util/sha256.h"

#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QSaveFile>

#include <algorithm>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>

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

void PluginCache::touch(const QByteArray &sha)
{
    m_lastUse[sha] = ++m_useClock;
    // The mtime keeps the order for the next agent run (best effort: a missing file is simply not touched).
    ::utimensat(AT_FDCWD, QFile::encodeName(path(sha)).constData(), nullptr, 0);
    const auto verified = m_verified.find(sha);
    if (verified != m_verified.end())
        *verified = identityOf(path(sha)); // our own change of its times: nothing to hash again
}

PluginCache::Identity PluginCache::identityOf(const QString &path)
{
    struct stat st {
    };
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return {};
    return Identity {qint64(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec, qint64(st.st_size)};
}

bool PluginCache::verify(const QByteArray &sha, QString *error)
{
    const QString file = path(sha);
    const Identity now = identityOf(file);
    const auto known = m_verified.constFind(sha);
    if (now.size > 0 && known != m_verified.constEnd() && known->ctimeNs == now.ctimeNs && known->size == now.size)
        return true;
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read cached plugin %1: %2").arg(file, f.errorString());
        return false;
    }
    if (util::sha256Hex(f.readAll()) != sha) {
        f.close();
        QFile::remove(file);
        m_verified.remove(sha);
        m_lastUse.remove(sha);
        ++m_corrupted;
        *error = QStringLiteral("the cached plugin %1 was altered on disk (its SHA-256 no longer matches): removed, "
                                "not loaded")
                     .arg(QString::fromLatin1(sha.left(12)));
        qCWarning(lcExec).noquote() << *error;
        return false;
    }
    m_verified.insert(sha, now);
    return true;
}

qint64 PluginCache::sizeBytes() const
{
    qint64 total = 0;
    const QFileInfoList files = QDir(m_dir).entryInfoList({QStringLiteral("*.so")}, QDir::Files);
    for (const QFileInfo &f : files)
        total += f.size();
    return total;
}

void PluginCache::makeRoom(const QByteArray &keep, qint64 incoming)
{
    if (m_limitBytes <= 0)
        return;
    struct Entry {
        QByteArray sha;
        qint64 size = 0;
        bool usedHere = false;
        quint64 use = 0;
        qint64 mtimeMs = 0;
    };
    std::vector<Entry> entries;
    qint64 total = 0;
    const QFileInfoList files = QDir(m_dir).entryInfoList({QStringLiteral("*.so")}, QDir::Files);
    for (const QFileInfo &f : files) {
        const QByteArray sha = f.completeBaseName().toLatin1();
        total += f.size();
        if (sha == keep)
            continue;
        const auto it = m_lastUse.constFind(sha);
        entries.push_back(Entry {sha, f.size(), it != m_lastUse.cend(), it != m_lastUse.cend() ? *it : 0,
                                 f.lastModified().toMSecsSinceEpoch()});
    }
    if (total + incoming <= m_limitBytes)
        return;
    // Oldest first: files this process never used (by mtime), then the ones it used (by last use).
    std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
        if (a.usedHere != b.usedHere)
            return !a.usedHere;
        return a.usedHere ? a.use < b.use : a.mtimeMs < b.mtimeMs;
    });
    for (const Entry &e : entries) {
        if (total + incoming <= m_limitBytes)
            break;
        if (QFile::remove(path(e.sha))) {
            total -= e.size;
            m_lastUse.remove(e.sha);
            ++m_evicted;
            qCInfo(lcAgent) << "evicted plugin" << e.sha.left(12) << "from the cache (least recently used)";
        }
    }
}

bool PluginCache::store(const QByteArray &sha, const QByteArray &bytes, QString *error)
{
    const QByteArray actual = util::sha256Hex(bytes);
    if (actual != sha) {
        *error = QStringLiteral("upload does not match its SHA-256 (announced %1, received %2)")
                     .arg(QString::fromLatin1(sha.left(12)), QString::fromLatin1(actual.left(12)));
        return false;
    }
    if (contains(sha)) {
        touch(sha);
        return true;
    }
    if (m_limitBytes > 0 && bytes.size() > m_limitBytes) {
        *error = QStringLiteral("the plugin (%1 bytes) is larger than this agent's plugin cache limit (%2 bytes)")
                     .arg(bytes.size())
                     .arg(m_limitBytes);
        return false;
    }
    QDir dir(m_dir);
    if (!dir.exists()) {
        if (!dir.mkpath(QStringLiteral("."))) {
            *error = QStringLiteral("cannot create the plugin cache %1").arg(m_dir);
            return false;
        }
        QFile::setPermissions(m_dir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    }
    makeRoom(sha, bytes.size());
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
    m_lastUse[sha] = ++m_useClock;
    m_verified.insert(sha, identityOf(path(sha))); // hashed above, as it was written
    qCInfo(lcAgent) << "stored plugin" << sha.left(12) << "in" << m_dir;
    return true;
}

} // namespace taskfleet::exec
