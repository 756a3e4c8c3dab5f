// SPDX-License-Identifier: MIT
// Where the window's jobs come from: job files, the examples built into the app, and what a dropped file is.
#include "jobsources.h"

#include "sched/jobfile.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QRegularExpression>

static void initExampleResources()
{
    Q_INIT_RESOURCE(taskfleet);
    Q_INIT_RESOURCE(pythonexamples);
}

namespace taskfleet::gui::jobsources {

namespace {
const QString ExamplesDir = QStringLiteral(":/taskfleet/jobs");

QString tr(const char *text)
{
    return QCoreApplication::translate("taskfleet::gui::MainWindow", text);
}
} // namespace

void initResources()
{
    initExampleResources();
}

QStringList exampleJobs()
{
    initExampleResources();
    QStringList names = QDir(ExamplesDir).entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
    // The picture first: it is the most telling demo.
    const QString first = QStringLiteral("mandelbrot.json");
    if (names.removeAll(first))
        names.prepend(first);
    return names;
}

QString exampleTitle(const QString &fileName, bool brief)
{
    initExampleResources();
    QFile f(ExamplesDir + QLatin1Char('/') + fileName);
    QString title;
    if (f.open(QIODevice::ReadOnly))
        title = QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("name")).toString().trimmed();
    if (title.isEmpty())
        title = QFileInfo(fileName)
                    .completeBaseName()
                    .replace(QLatin1Char('-'), QLatin1Char(' '))
                    .replace(QLatin1Char('_'), QLatin1Char(' '));
    if (brief) {
        const qsizetype cut = title.indexOf(QRegularExpression(QStringLiteral("\\s*[,(]")));
        if (cut > 0)
            title.truncate(cut);
    }
    if (!title.isEmpty())
        title[0] = title.at(0).toUpper();
    return title;
}

std::optional<sched::JobSpec> example(const QString &fileName, const exec::PluginRegistry &registry, QString *error)
{
    initExampleResources();
    QFile f(ExamplesDir + QLatin1Char('/') + fileName);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = tr("example %1: %2").arg(fileName, f.errorString());
        return std::nullopt;
    }
    // Relative to the embedded folder: sum_primes.json's "script" is the embedded sum_primes.py.
    auto spec = sched::parseJobJson(f.readAll(), tr("example %1").arg(fileName), ExamplesDir, registry, error);
    if (spec && spec->name.isEmpty())
        spec->name = QFileInfo(fileName).completeBaseName();
    return spec;
}

std::optional<sched::JobSpec> jobFile(const QString &path, const exec::PluginRegistry &registry, QString *error)
{
    auto spec = sched::parseJobFile(path, registry, error);
    if (spec && spec->name.isEmpty())
        spec->name = QFileInfo(path).completeBaseName();
    return spec;
}

bool looksLikePlugin(const QString &path)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    return suffix == QLatin1String("so") || suffix == QLatin1String("dylib") || suffix == QLatin1String("dll");
}

bool looksLikePython(const QString &path)
{
    return QFileInfo(path).suffix().toLower() == QLatin1String("py");
}

} // namespace taskfleet::gui::jobsources
