// SPDX-License-Identifier: MIT
// AgentListener: a SecureServer whose authenticated connections are agents, matched to nodes by their hello.
#include "agentlistener.h"

#include "controller.h"
#include "protocol/messages.h"
#include "util/logging.h"

#include <QtCore/QTimer>

namespace taskfleet::sched {

using namespace taskfleet::protocol;

AgentListener::AgentListener(Controller *controller, AgentListenerOptions options, QObject *parent)
    : QObject(parent)
    , m_controller(controller)
    , m_options(std::move(options))
{
}

AgentListener::~AgentListener() = default;

bool AgentListener::listen(const QHostAddress &address, quint16 port)
{
    m_server = std::make_unique<net::SecureServer>(m_options.server);
    connect(m_server.get(), &net::SecureServer::channelReady, this, &AgentListener::onChannelReady);
    connect(m_server.get(), &net::SecureServer::handshakeFailed, this, [](const QString &peer, const QString &why) {
        qCInfo(lcSched).noquote() << "an agent at" << peer << "could not connect:" << why;
    });
    if (!m_server->listen(address, port)) {
        m_error = m_server->errorString();
        m_server.reset();
        return false;
    }
    return true;
}

void AgentListener::close()
{
    if (m_server)
        m_server->close();
}

quint16 AgentListener::port() const
{
    return m_server ? m_server->serverPort() : 0;
}

QHostAddress AgentListener::address() const
{
    return m_server ? m_server->serverAddress() : QHostAddress();
}

net::ServerCounters AgentListener::counters() const
{
    return m_server ? m_server->counters() : net::ServerCounters();
}

void AgentListener::onChannelReady(net::SecureChannel *channel)
{
    // Until its hello the channel is ours (a child of the server); then the node's.
    QPointer<net::SecureChannel> guard(channel);
    connect(channel, &net::SecureChannel::messageReceived, this,
            [this, channel](const QCborMap &m) { onFirstMessage(channel, m); });
    connect(channel, &net::SecureChannel::closed, this, [this, channel](const QString &reason) {
        emit agentRefused(channel->peerAddress(), reason);
        channel->deleteLater();
    });
    QTimer::singleShot(m_options.helloTimeoutMs, this, [this, guard] {
        if (guard && guard->parent() == m_server.get())
            refuse(guard, QStringLiteral("no hello within %1 s").arg(m_options.helloTimeoutMs / 1000.0));
    });
}

void AgentListener::refuse(net::SecureChannel *channel, const QString &reason)
{
    qCWarning(lcSched).noquote() << "agent at" << channel->peerAddress() << "refused:" << reason;
    channel->send(encodeError(reason));
    channel->close(reason); // closed() follows: reported and deleted there
}

void AgentListener::onFirstMessage(net::SecureChannel *channel, const QCborMap &message)
{
    QString error;
    if (messageType(message, &error) != MessageType::Hello)
        return refuse(channel, error.isEmpty() ? QStringLiteral("expected hello first") : error);
    Hello hello;
    if (!decode(message, &hello, &error))
        return refuse(channel, QStringLiteral("bad hello: ") + error);
    // Version and role: the node checks them too, but only an agent that says who it is may become one.
    const QString why = checkCompatible(hello, QStringLiteral("agent"));
    if (!why.isEmpty())
        return refuse(channel, why);
    if (hello.nodeId.isEmpty())
        return refuse(channel, QStringLiteral("the hello has no node id"));

    channel->disconnect(this);
    ++m_accepted;
    RemoteNode *node = findInbound(hello.nodeId);
    if (!node) {
        RemoteNodeOptions options = m_options.node;
        options.inbound = true;
        options.host = channel->peerHostAddress().toString();
        options.port = channel->peerPort();
        options.agentId = hello.nodeId;
        options.channel = m_options.server.channel;
        node = new RemoteNode(options);
        m_controller->addNode(node);
        qCInfo(lcSched).noquote() << "agent" << hello.hostName << "dialed in from" << channel->peerAddress();
        node->adopt(channel, message);
        emit nodeAdded(node);
        return;
    }
    qCInfo(lcSched).noquote() << "agent" << hello.hostName << "dialed in again from" << channel->peerAddress();
    node->adopt(channel, message);
}

RemoteNode *AgentListener::findInbound(const QString &agentId) const
{
    for (Node *n : m_controller->nodes()) {
        auto *remote = qobject_cast<RemoteNode *>(n);
        if (remote && remote->isInbound() && remote->inboundAgentId() == agentId)
            return remote;
    }
    return nullptr;
}

} // namespace taskfleet::sched
