// SPDX-License-Identifier: MIT
// Files the user opens or drops become jobs: job files at once, plugins and Python scripts through a dialog.
#include "jobopener.h"

#include "joblifecycle.h"
#include "jobsources.h"
#include "plugininputsdialog.h"
#include "pythonjobdialog.h"

#include <QtCore/QDir>
#include <QtWidgets/QFileDialog>

namespace taskfleet::gui {

JobOpener::JobOpener(JobLifecycle *jobs, const exec::PluginRegistry *registry, QWidget *dialogParent)
    : QObject(dialogParent)
    , m_jobs(jobs)
    , m_registry(registry)
    , m_dialogParent(dialogParent)
{
}

int JobOpener::openFiles(const QStringList &paths)
{
    int queued = 0;
    for (const QString &path : paths) {
        if (jobsources::looksLikePlugin(path)) {
            openPluginFile(path);
        } else if (jobsources::looksLikePython(path)) {
            openPythonFile(path);
        } else {
            QString error;
            if (queueJobFile(path, &error))
                ++queued;
            else
                emit errorRaised(error);
        }
    }
    return queued;
}

bool JobOpener::queueJobFile(const QString &path, QString *error)
{
    auto spec = jobsources::jobFile(path, *m_registry, error);
    if (!spec)
        return false;
    m_jobs->submit(*spec, true); // selected, so Pause and Cancel work on it at once (the last of several wins)
    return true;
}

bool JobOpener::queueExample(const QString &fileName)
{
    QString error;
    auto spec = jobsources::example(fileName, *m_registry, &error);
    if (!spec) {
        emit errorRaised(error);
        return false;
    }
    m_jobs->submit(*spec, true);
    return true;
}

void JobOpener::openPluginFile(const QString &path)
{
    QString error;
    const auto plugin = exec::PluginRegistry::inspect(path, &error);
    if (!plugin) {
        emit errorRaised(tr("%1: not a task plugin: %2").arg(QDir::toNativeSeparators(path), error));
        return;
    }
    auto *dialog = new PluginInputsDialog(*plugin, m_dialogParent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog, path] {
        QString error;
        if (auto spec = dialog->jobSpec(&error)) {
            spec->sourceFile = path;
            m_jobs->submit(*spec, true);
        } else {
            emit errorRaised(error);
        }
    });
    dialog->open();
}

void JobOpener::openPythonFile(const QString &path)
{
    QString pluginError;
    const auto python = m_registry->resolve(QStringLiteral("python"), &pluginError);
    auto *dialog = new PythonJobDialog(path, python, pluginError, m_dialogParent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (!dialog->problem().isEmpty())
        emit logged(tr("%1: %2").arg(QDir::toNativeSeparators(path), dialog->problem()));
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        QString error;
        if (auto spec = dialog->jobSpec(&error))
            m_jobs->submit(*spec, true);
        else
            emit errorRaised(error);
    });
    dialog->open();
}

void JobOpener::openDialog()
{
    openFiles(
        QFileDialog::getOpenFileNames(m_dialogParent, tr("Open Job"), QString(),
                                      tr("Jobs, Python scripts and plugins (*.json *.py *.so);;Job files (*.json);;"
                                         "Python scripts (*.py);;Task plugins (*.so);;All files (*)")));
}

} // namespace taskfleet::gui
