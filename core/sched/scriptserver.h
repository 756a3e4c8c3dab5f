// SPDX-License-Identifier: MIT
// The desktop app's door for Python scripts (taskfleet.Server(attach=True)): a local socket only its user
// can open, each connection served by a ClientSession on the app's own controller.
#pragma once

#include "clientsession.h"

#include <QtCore/QHash>
#include <QtCore/QObject>

class QLocalServer;
class QLocalSocket;

namespace taskfleet::sched {

/**
 * Where the desktop app listens for scripts, and where python/taskfleet looks (the same rule):
 * $TASKFLEET_APP_SOCKET, else $XDG_RUNTIME_DIR/taskfleet/app.sock, else <temp>/taskfleet-<uid>/app.sock.
 */
QString defaultScriptSocketPath();

/**
 * Accepts local connections from scripts of the same user and serves each with a ClientSession.
 *
 * Only the user can connect: the socket's directory is created mode 0700 and must be owned by the
 * user and closed to others (else listen() fails rather than trusting it), the socket is created
 * user-only, and every connection's peer uid is checked (SO_PEERCRED). When a script disconnects,
 * its unfinished jobs are cancelled: nobody is left to read their results.
 * Lives on the controller's thread.
 */
class ScriptServer : public QObject
{
    Q_OBJECT

public:
    ScriptServer(Controller *controller, exec::PluginInfo python, QObject *parent = nullptr);
    ~ScriptServer() override;

    /** How the sessions' jobs reach the controller (a window routes them through its host to see them). */
    void setSubmitter(ClientSession::Submitter submitter) { m_submit = std::move(submitter); }
    /**
     * Listens at \a path. Fails (with *error) when the directory is not private to this user, or
     * another live process serves that path already; a stale socket file is replaced.
     */
    [[nodiscard]] bool listen(const QString &path, QString *error);
    QString path() const { return m_path; }
    int clientCount() const { return int(m_sessions.size()); }

signals:
    void eventLogged(const QString &message);

private:
    void onNewConnection();
    void onDisconnected(QLocalSocket *socket);

    Controller *m_controller;
    exec::PluginInfo m_python;
    ClientSession::Submitter m_submit;
    QLocalServer *m_server = nullptr;
    QString m_path;
    QHash<QLocalSocket *, ClientSession *> m_sessions;
};

} // namespace taskfleet::sched
