// SPDX-License-Identifier: MIT
// Finds task plugins on disk and reads their metadata without running their code.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QVector>

#include <optional>

namespace taskfleet::exec {

/** What the controller knows about one plugin file. */
struct PluginInfo {
    QString name; ///< "sumprimes": the metadata name, used in job files
    QString version;
    QString description;
    QString input;     ///< human description of the input value
    QString output;    ///< human description of the output value
    QString path;      ///< absolute path of the file on this machine
    QByteArray sha256; ///< hex SHA-256 of the file: the plugin's identity on the wire
    qint64 size = 0;

    bool isValid() const { return !path.isEmpty() && !sha256.isEmpty(); }
};

/**
 * The plugin search path and lookups in it.
 *
 * Metadata is read with QPluginLoader::metaData(), which does not load the library, so
 * inspecting a plugin never runs its code in the controller. Not thread-safe.
 */
class PluginRegistry
{
public:
    explicit PluginRegistry(QStringList searchPaths = defaultSearchPaths());

    /**
     * TASKFLEET_PLUGIN_PATH (colon-separated), then the plugins folder of the build tree or
     * of the installation beside the running program, then ~/.local/share/taskfleet/plugins.
     */
    static QStringList defaultSearchPaths();

    void addSearchPath(const QString &dir) { m_searchPaths.prepend(dir); }
    QStringList searchPaths() const { return m_searchPaths; }

    /** Every valid task plugin on the search path, first occurrence of each name. */
    QVector<PluginInfo> available() const;

    /**
     * A name on the search path, or a path to a plugin file (anything with a '/' or ending in .so). A name not
     * found is explained by notFound().
     */
    [[nodiscard]] std::optional<PluginInfo> resolve(const QString &nameOrPath, QString *error) const;
    /** Why \a name is no plugin here: the names of the plugins that are (sorted), then the folders searched. */
    QString notFound(const QString &name) const;

    /** Reads metadata and hash of one file; explains in *error why it is not a task plugin. */
    [[nodiscard]] static std::optional<PluginInfo> inspect(const QString &path, QString *error);

private:
    QStringList m_searchPaths;
};

} // namespace taskfleet::exec
