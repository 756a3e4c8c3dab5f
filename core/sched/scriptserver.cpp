// SPDX-License-Identifier: MIT
#include "scriptserver.h"

#include "node.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QPointer>
#include <QtNetwork/QLocalServer>
#include <QtNetwork/QLocalSocket>

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace taskfleet::sched {

QString defaultScriptSocketPath()
{
    const QString explicitPath = qEnvironmentVariable("TASKFLEET_APP_SOCKET");
    if (!explicitPath.isEmpty())
        return explicitPath;
    const QString runtime = qEnvironmentVariable("XDG_RUNTIME_DIR");
    if (!runtime.isEmpty())
        return runtime + QStringLiteral("/taskfleet/app.sock");
    return QDir::tempPath() + QStringLiteral("/taskfleet-%1/app.sock").arg(::getuid());
}

namespace {
/** Creates \a dir (0700) if missing and checks nobody else can reach into it. */
bool privateDirectory(const QString &dir, QString *error)
{
    const QByteArray path = QFile::encodeName(dir);
    if (::mkdir(path.constData(), 0700) != 0 && errno != EEXIST) {
        *error = QStringLiteral("cannot create %1: %2").arg(dir, QString::fromLocal8Bit(std::strerror(errno)));
        return false;
    }
    struct stat st = {};
    if (::lstat(path.constData(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        *error = QStringLiteral("%1 is not a directory").arg(dir);
        return false;
    }
    if (st.st_uid != ::getuid() || (st.st_mode & 077) != 0) {
        // Someone else made it, or opened it up: a socket there could be theirs.
        *error = QStringLiteral("%1 must belong to this user and be closed to others (mode 0700)").arg(dir);
        return false;
    }
    return true;
}

bool samePeerUser(const QLocalSocket *socket)
{
    struct ucred cred = {};
    socklen_t size = sizeof cred;
    if (::getsockopt(int(socket->socketDescriptor()), SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0)
        return false;
    return cred.uid == ::getuid();
}
} // namespace

ScriptServer::ScriptServer(Controller *controller, exec::PluginInfo python, QObject *parent)
    : QObject(parent)
    , m_controller(controller)
    , m_python(std::move(python))
    , m_server(new QLocalServer(this))
{
    connect(m_server, &QLocalServer::newConnection, this, &ScriptServer::onNewConnection);
}

ScriptServer::~ScriptServer()
{
    // The sessions first (they cancel their jobs on the controller), while the sockets still exist.
    for (auto it = m_sessions.cbegin(); it != m_sessions.cend(); ++it) {
        it.key()->disconnect(this);
        delete it.value();
    }
    m_sessions.clear();
    m_server->close();
}

bool ScriptServer::listen(const QString &path, QString *error)
{
    if (!privateDirectory(QFileInfo(path).absolutePath(), error))
        return false;
    if (QFileInfo::exists(path)) {
        QLocalSocket probe;
        probe.connectToServer(path);
        if (probe.waitForConnected(500)) {
            *error = QStringLiteral("another Taskfleet window serves scripts at %1 already").arg(path);
            return false;
        }
        QLocalServer::removeServer(path); // left behind by a window that crashed
    }
    m_server->setSocketOptions(QLocalServer::UserAccessOption);
    if (!m_server->listen(path)) {
        *error = m_server->errorString();
        return false;
    }
    m_path = path;
    return true;
}

void ScriptServer::onNewConnection()
{
    while (QLocalSocket *socket = m_server->nextPendingConnection()) {
        if (!samePeerUser(socket)) {
            emit eventLogged(QStringLiteral("scripts: refused a connection from another user"));
            socket->abort();
            socket->deleteLater();
            continue;
        }
        auto *session = new ClientSession(
            m_controller, m_python,
            [socket = QPointer<QLocalSocket>(socket)](const QByteArray &frames) {
                if (socket && socket->state() == QLocalSocket::ConnectedState)
                    // Copied into Qt's buffer (the client's reader thread drains it): the bytes may be a big
                    // value's own, valid only during this call, which write(QByteArray) would keep a reference to.
                    socket->write(frames.constData(), frames.size());
            },
            this);
        if (m_submit)
            session->setSubmitter(m_submit);
        session->setLabelJobs(true);
        m_sessions.insert(socket, session);
        connect(socket, &QLocalSocket::readyRead, session, [socket, session] {
            const QByteArray data = socket->readAll();
            session->receive(data.constData(), data.size());
        });
        connect(session, &ClientSession::ended, socket, [this, socket](const QString &error) {
            if (!error.isEmpty())
                emit eventLogged(QStringLiteral("scripts: %1").arg(error));
            socket->disconnectFromServer();
        });
        connect(socket, &QLocalSocket::disconnected, this, [this, socket] { onDisconnected(socket); });

        const Node *local = m_controller->localNode();
        const int workers = local ? local->workerCount() : 0;
        QCborMap hello;
        hello.insert(QStringLiteral("version"), QStringLiteral(TASKFLEET_VERSION));
        hello.insert(QStringLiteral("pid"), QCoreApplication::applicationPid());
        hello.insert(QStringLiteral("workers"), workers);
        hello.insert(QStringLiteral("attached"), true);
        hello.insert(QStringLiteral("max_value"), m_controller->maxValueSize()); // the client refuses bigger at submit
        session->sendHello(hello);
        emit eventLogged(QStringLiteral("scripts: a script attached (%1 attached)").arg(m_sessions.size()));
    }
}

void ScriptServer::onDisconnected(QLocalSocket *socket)
{
    ClientSession *session = m_sessions.take(socket);
    socket->deleteLater();
    if (!session)
        return;
    const QString name = session->clientName().isEmpty() ? QStringLiteral("a script") : session->clientName();
    const bool unfinished = session->hasUnfinishedJobs();
    // Later, not now: this may run inside the session's own ended() signal. Its destructor cancels its jobs.
    session->deleteLater();
    emit eventLogged(unfinished ? QStringLiteral("scripts: %1 detached; its unfinished jobs were cancelled").arg(name)
                                : QStringLiteral("scripts: %1 detached").arg(name));
}

} // namespace taskfleet::sched
