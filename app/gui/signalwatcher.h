// SPDX-License-Identifier: MIT
// Turns SIGTERM/SIGINT/SIGHUP into a Qt signal through a self-pipe (async-signal-safe).
#pragma once

#include <QtCore/QObject>

class QSocketNotifier;

namespace taskfleet::gui {

/**
 * Installs handlers for SIGTERM, SIGINT and SIGHUP that only write one byte to a socket pair;
 * a QSocketNotifier on the other end emits terminationRequested() on the event loop. One
 * instance per process.
 */
class SignalWatcher : public QObject
{
    Q_OBJECT

public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;
    bool isActive() const { return m_notifier != nullptr; }

signals:
    void terminationRequested(int signalNumber);

private:
    void onReadable();
    QSocketNotifier *m_notifier = nullptr;
};

} // namespace taskfleet::gui
