// SPDX-License-Identifier: MIT
#include "pluginregistry.h"

#include "util/sha256.h"

#include <taskfleet/TaskPlugin.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonObject>
#include <QtCore/QPluginLoader>
#include <QtCore/QSet>
#include <QtCore/QStandardPaths>

namespace taskfleet::exec {

PluginRegistry::PluginRegistry(QStringList searchPaths)
    : m_searchPaths(std::move(searchPaths))
{
}

QStringList PluginRegistry::defaultSearchPaths()
{
    QStringList paths;
    const QString env = qEnvironmentVariable("TASKFLEET_PLUGIN_PATH");
    for (const QString &p : env.split(QLatin1Char(':'), Qt::SkipEmptyParts))
        paths << p;
    if (QCoreApplication::instance()) {
        const QDir appDir(QCoreApplication::applicationDirPath());
        paths << appDir.absoluteFilePath(QStringLiteral("../plugins"))               // build tree
              << appDir.absoluteFilePath(QStringLiteral("../lib/taskfleet/plugins")) // installed
              << appDir.absoluteFilePath(QStringLiteral("../lib/x86_64-linux-gnu/taskfleet/plugins"));
    }
    paths << QDir::homePath() + QStringLiteral("/.local/share/taskfleet/plugins");
    return paths;
}

std::optional<PluginInfo> PluginRegistry::inspect(const QString &path, QString *error)
{
    const QFileInfo fi(path);
    if (!fi.exists()) {
        *error = QStringLiteral("plugin file %1 does not exist").arg(path);
        return std::nullopt;
    }
    if (!fi.isFile()) {
        // A device (/dev/zero) or a FIFO would never end a read, and a folder is no plugin: say which it is.
        const char *what = fi.isDir() ? "a folder" : "a device, FIFO or socket";
        *error = QStringLiteral("%1 is %2, not a plugin file").arg(path, QLatin1String(what));
        return std::nullopt;
    }
    QPluginLoader loader(fi.absoluteFilePath());
    const QJsonObject meta = loader.metaData();
    if (meta.isEmpty()) {
        *error = QStringLiteral("%1 is not a Qt plugin (no plugin metadata found)").arg(path);
        return std::nullopt;
    }
    if (meta.value(QStringLiteral("IID")).toString() != QLatin1String(TaskfleetTaskPlugin_iid)) {
        *error = QStringLiteral("%1 is a Qt plugin with interface %2, not a Taskfleet task plugin (%3)")
                     .arg(path, meta.value(QStringLiteral("IID")).toString(), QLatin1String(TaskfleetTaskPlugin_iid));
        return std::nullopt;
    }
    const QJsonObject md = meta.value(QStringLiteral("MetaData")).toObject();
    PluginInfo info;
    info.name = md.value(QStringLiteral("name")).toString();
    if (info.name.isEmpty())
        info.name = fi.completeBaseName().remove(QStringLiteral("libtaskfleet_"));
    info.version = md.value(QStringLiteral("version")).toString();
    info.description = md.value(QStringLiteral("description")).toString();
    info.input = md.value(QStringLiteral("input")).toString();
    info.output = md.value(QStringLiteral("output")).toString();
    info.path = fi.canonicalFilePath();
    info.size = fi.size();
    QFile f(info.path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read plugin %1: %2").arg(path, f.errorString());
        return std::nullopt;
    }
    info.sha256 = util::sha256Hex(f.readAll()); // plugins are small; one read
    return info;
}

QVector<PluginInfo> PluginRegistry::available() const
{
    QVector<PluginInfo> out;
    QSet<QString> seen;
    for (const QString &dirPath : m_searchPaths) {
        const QDir dir(dirPath);
        const QStringList files = dir.entryList({QStringLiteral("*.so")}, QDir::Files, QDir::Name);
        for (const QString &file : files) {
            QString error;
            const auto info = inspect(dir.filePath(file), &error);
            if (info && !seen.contains(info->name)) {
                seen.insert(info->name);
                out.append(*info);
            }
        }
    }
    return out;
}

std::optional<PluginInfo> PluginRegistry::resolve(const QString &nameOrPath, QString *error) const
{
    if (nameOrPath.isEmpty()) {
        *error = QStringLiteral("no plugin named");
        return std::nullopt;
    }
    if (nameOrPath.contains(QLatin1Char('/')) || nameOrPath.endsWith(QStringLiteral(".so")))
        return inspect(nameOrPath, error);
    // Try the conventional file name first: cheap, and avoids reading every plugin's metadata.
    for (const QString &dirPath : m_searchPaths) {
        const QString candidate = QDir(dirPath).filePath(QStringLiteral("libtaskfleet_%1.so").arg(nameOrPath));
        if (QFile::exists(candidate)) {
            QString ignored;
            auto info = inspect(candidate, &ignored);
            if (info && info->name == nameOrPath)
                return info;
        }
    }
    for (const PluginInfo &info : available()) {
        if (info.name == nameOrPath)
            return info;
    }
    *error = notFound(nameOrPath);
    return std::nullopt;
}

QString PluginRegistry::notFound(const QString &name) const
{
    // The names a job file can use come first, the folders only as a hint: a user who mistyped a name needs the
    // right one, not the build's paths.
    QStringList names;
    for (const PluginInfo &info : available())
        names.append(info.name);
    names.sort();
    QStringList folders; // each once, absolute and clean (not ".../bin/../plugins" beside ".../plugins")
    for (const QString &dir : m_searchPaths)
        if (const QString clean = QDir::cleanPath(QDir(dir).absolutePath()); !folders.contains(clean))
            folders.append(clean);
    const QString searched = folders.join(QStringLiteral(", "));
    if (names.isEmpty())
        return QStringLiteral("no plugin named \"%1\": there are no task plugins on the plugin path (searched: %2)")
            .arg(name, searched);
    return QStringLiteral("no plugin named \"%1\"; the plugins on the plugin path are: %2 (searched: %3)")
        .arg(name, names.join(QStringLiteral(", ")), searched);
}

} // namespace taskfleet::exec
