// SPDX-License-Identifier: MIT
// "Job 3 "sleepers": finished" where the user will see it when a job ends while they look elsewhere.
#include "jobnotifier.h"

#include "jobsmodel.h"

#include <QtWidgets/QApplication>
#include <QtWidgets/QMainWindow>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QSystemTrayIcon>

namespace taskfleet::gui {

JobNotifier::JobNotifier(QWidget *window)
    : QObject(window)
    , m_window(window)
{
}

void JobNotifier::notify(const sched::JobSnapshot &job)
{
    m_last = tr("Job %1 \"%2\": %3").arg(job.id).arg(job.name, JobsModel::stateText(job));
    m_channel.clear();
    // Not logged: the controller logs the job's end (with its counts and time) already.
    if (m_window->isActiveWindow())
        return; // the user sees the Jobs table
    if (!m_tray && QSystemTrayIcon::isSystemTrayAvailable()) {
        m_tray = new QSystemTrayIcon(m_window->windowIcon(), this);
        m_tray->setToolTip(tr("Taskfleet"));
        connect(m_tray, &QSystemTrayIcon::activated, this, [this] {
            m_window->showNormal();
            m_window->raise();
            m_window->activateWindow();
        });
        m_tray->show();
    }
    if (m_tray) {
        m_tray->showMessage(tr("Taskfleet"), m_last,
                            JobsModel::outcome(job) == JobsModel::FinishedOk ? QSystemTrayIcon::Information
                                                                             : QSystemTrayIcon::Warning);
        m_channel = QStringLiteral("tray");
        return;
    }
    if (auto *main = qobject_cast<QMainWindow *>(m_window))
        main->statusBar()->showMessage(m_last, 15000);
    QApplication::alert(m_window); // no tray: the taskbar entry asks for attention
    m_channel = QStringLiteral("status bar");
}

} // namespace taskfleet::gui
