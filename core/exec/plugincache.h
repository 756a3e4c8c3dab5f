// SPDX-License-Identifier: MIT
// The agent's content-addressed plugin cache: <dir>/<sha256>.so, verified before it is written.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QString>

namespace taskfleet::exec {

/**
 * Plugin files stored by their SHA-256 (hex) in one directory.
 *
 * store() verifies that the bytes hash to the announced SHA-256, writes them to a temporary file
 * in the same directory and renames it into place, so a reader never sees a partial file and a
 * wrong or truncated upload never lands in the cache. Not thread-safe; the agent uses it on its
 * event-loop thread only.
 */
class PluginCache
{
public:
    /** \a dir is created (mode 0700) on first use. */
    explicit PluginCache(QString dir);

    QString dir() const { return m_dir; }
    /** "<dir>/<sha>.so" (whether or not it exists). \a sha must be isSha256Hex(). */
    QString path(const QByteArray &sha) const;
    /** True if a file with that hash is stored (and still has the right size > 0). */
    bool contains(const QByteArray &sha) const;
    /** Verifies and stores \a bytes as \a sha. Returns false with *error on a hash mismatch or I/O failure. */
    bool store(const QByteArray &sha, const QByteArray &bytes, QString *error);
    /** Plugins stored by store() since construction (not counting ones already present). */
    qint64 stored() const { return m_stored; }

private:
    QString m_dir;
    qint64 m_stored = 0;
};

} // namespace taskfleet::exec
