// SPDX-License-Identifier: MIT
// Files the user opens or drops become jobs: job files at once, plugins and Python scripts through a dialog.
#pragma once

#include <QtCore/QObject>

class QWidget;

namespace taskfleet::exec {
class PluginRegistry;
}

namespace taskfleet::gui {

class JobLifecycle;

/**
 * Turns files into jobs queued (and selected) through a JobLifecycle: a job file at once (a bad one is refused
 * with errorRaised() and nothing queued); a task plugin (.so) opens PluginInputsDialog, a Python script (.py)
 * PythonJobDialog, over \a dialogParent, and their job is queued when the dialog is accepted.
 */
class JobOpener : public QObject
{
    Q_OBJECT

public:
    JobOpener(JobLifecycle *jobs, const exec::PluginRegistry *registry, QWidget *dialogParent);

    /** Opens each file as above; returns how many jobs were queued now. */
    int openFiles(const QStringList &paths);
    /** Parses and queues one job file; false with *error (and nothing queued) when it is bad. */
    bool queueJobFile(const QString &path, QString *error);
    /** Queues an embedded example job (jobsources::exampleJobs()). */
    bool queueExample(const QString &fileName);
    /** File ▸ Open Job…: the file dialog, then openFiles(). */
    void openDialog();

signals:
    void errorRaised(const QString &message);
    void logged(const QString &message);

private:
    void openPluginFile(const QString &path);
    void openPythonFile(const QString &path);

    JobLifecycle *m_jobs;
    const exec::PluginRegistry *m_registry;
    QWidget *m_dialogParent;
};

} // namespace taskfleet::gui
