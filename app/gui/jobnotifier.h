// SPDX-License-Identifier: MIT
// "Job 3 "sleepers": finished" where the user will see it when a job ends while they look elsewhere.
#pragma once

#include "sched/snapshot.h"

#include <QtCore/QObject>

class QSystemTrayIcon;
class QWidget;

namespace taskfleet::gui {

/**
 * Tells of a job's end: always as text (lastText()); while \a window is not the active window, also as a
 * desktop notification (QSystemTrayIcon::showMessage where a system tray exists), else in the window's status
 * bar with the taskbar entry asking for attention (QApplication::alert). Clicking the tray icon raises the window.
 */
class JobNotifier : public QObject
{
    Q_OBJECT

public:
    explicit JobNotifier(QWidget *window);
    void notify(const sched::JobSnapshot &job);
    QString lastText() const { return m_last; }
    /** How the last notification went out: "tray", "status bar" or "" (the window was active). */
    QString lastChannel() const { return m_channel; }

private:
    QWidget *m_window;
    QSystemTrayIcon *m_tray = nullptr;
    QString m_last;
    QString m_channel;
};

} // namespace taskfleet::gui
