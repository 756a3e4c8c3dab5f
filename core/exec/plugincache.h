// SPDX-License-Identifier: MIT
// The agent's content-addressed plugin cache: <dir>/<sha256>.so, verified before it is written.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QHash>
#include <QtCore/QString>

namespace taskfleet::exec {

/**
 * Plugin files stored by their SHA-256 (hex) in one directory.
 *
 * store() verifies that the bytes hash to the announced SHA-256, writes them to a temporary file
 * in the same directory and renames it into place, so a reader never sees a partial file and a
 * wrong or truncated upload never lands in the cache. Not thread-safe; the agent uses it on its
 * event-loop thread only.
 *
 * Size cap: the files together stay within limitBytes() (default DefaultLimitBytes; 0 = no cap).
 * store() evicts the least recently used plugins (other than the one being stored) until the new
 * one fits; a plugin larger than the whole limit is refused. "Used" = stored or touch()ed: this
 * process remembers the order, and touch() also sets the file's mtime so that the order survives a
 * restart (files never used by this process are older than every file it used, oldest mtime first).
 */
class PluginCache
{
public:
    /** Default cap on the cache's total size: 1 GiB. */
    static constexpr qint64 DefaultLimitBytes = qint64(1) << 30;

    /** \a dir is created (mode 0700) on first use. */
    explicit PluginCache(QString dir);

    /** Caps the total size of the cached files (0 = no cap). Takes effect at the next store(). */
    void setLimitBytes(qint64 bytes) { m_limitBytes = bytes; }
    qint64 limitBytes() const { return m_limitBytes; }
    /** Marks \a sha as just used (a run frame named it): it becomes the last to be evicted. */
    void touch(const QByteArray &sha);
    /** Total size of the cached plugin files now. */
    qint64 sizeBytes() const;
    /** Plugins evicted by store() since construction. */
    qint64 evicted() const { return m_evicted; }

    QString dir() const { return m_dir; }
    /** "<dir>/<sha>.so" (whether or not it exists). \a sha must be isSha256Hex(). */
    QString path(const QByteArray &sha) const;
    /** True if a file with that hash is stored (and still has the right size > 0). */
    bool contains(const QByteArray &sha) const;
    /**
     * True if the stored file still hashes to \a sha. A file altered on disk is removed (and counted in
     * corrupted()): it is refused, never loaded; the controller uploads it again. The hash is read again only
     * when the file's inode change time or size moved since the last check (touch() records its own change).
     */
    [[nodiscard]] bool verify(const QByteArray &sha, QString *error);
    /** Files verify() found altered and removed since construction. */
    qint64 corrupted() const { return m_corrupted; }
    /** Verifies and stores \a bytes as \a sha. Returns false with *error on a hash mismatch or I/O failure. */
    [[nodiscard]] bool store(const QByteArray &sha, const QByteArray &bytes, QString *error);
    /** Plugins stored by store() since construction (not counting ones already present). */
    qint64 stored() const { return m_stored; }

private:
    /** Removes least recently used files (not \a keep) until \a incoming more bytes fit the limit. */
    void makeRoom(const QByteArray &keep, qint64 incoming);

    QString m_dir;
    qint64 m_stored = 0;
    qint64 m_limitBytes = DefaultLimitBytes;
    qint64 m_evicted = 0;
    quint64 m_useClock = 0;
    QHash<QByteArray, quint64> m_lastUse; ///< sha -> m_useClock at its last use by this process
    struct Identity {
        qint64 ctimeNs = -1;
        qint64 size = -1;
    };
    static Identity identityOf(const QString &path);
    QHash<QByteArray, Identity> m_verified; ///< sha -> the file's identity when its hash was last checked
    qint64 m_corrupted = 0;
};

} // namespace taskfleet::exec
