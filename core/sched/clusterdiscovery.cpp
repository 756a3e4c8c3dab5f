// SPDX-License-Identifier: MIT
// ClusterDiscovery: discovered agents become RemoteNodes of the controller; rejections become log text.
#include "clusterdiscovery.h"

#include "controller.h"
#include "net/beacon.h"
#include "util/logging.h"

#include <algorithm>

namespace taskfleet::sched {

namespace {
QHostAddress plainAddress(const QHostAddress &address)
{
    bool ok = false;
    const quint32 v4 = address.toIPv4Address(&ok);
    return ok ? QHostAddress(v4) : address;
}

QString uuidText(const QUuid &id)
{
    return id.toString(QUuid::WithoutBraces);
}

/** "host:port" of a node with the host normalised when it is a literal address (so "::ffff:1.2.3.4" = "1.2.3.4"). */
QString normalisedEndpoint(const QString &hostPort)
{
    const qsizetype colon = hostPort.lastIndexOf(QLatin1Char(':'));
    if (colon <= 0)
        return hostPort;
    QString host = hostPort.left(colon);
    if (host.startsWith(QLatin1Char('[')) && host.endsWith(QLatin1Char(']')))
        host = host.mid(1, host.size() - 2);
    const QHostAddress a(host);
    if (a.isNull())
        return hostPort;
    const QHostAddress p = plainAddress(a);
    const QString text
        = p.protocol() == QAbstractSocket::IPv6Protocol ? QStringLiteral("[%1]").arg(p.toString()) : p.toString();
    return text + hostPort.mid(colon);
}
} // namespace

QString discoveredEndpoint(const net::DiscoveredNode &node)
{
    net::DiscoveredNode copy = node;
    copy.address = plainAddress(node.address);
    return copy.endpoint();
}

ClusterDiscovery::ClusterDiscovery(Controller *controller, const QByteArray &secret, QObject *parent)
    : QObject(parent)
    , m_controller(controller)
    , m_secret(secret)
    , m_listener(new net::DiscoveryListener(net::beaconKey(secret), this))
{
    m_nodeOptions.channel = net::ChannelOptions::fromSecret(secret);
    connect(m_listener, &net::DiscoveryListener::nodeSeen, this, &ClusterDiscovery::onNodeSeen);
    connect(m_listener, &net::DiscoveryListener::nodeExpired, this, &ClusterDiscovery::onNodeExpired);
    // A new rejection is reported (rate-limited by the listener): refresh the summary at once.
    connect(m_listener, &net::DiscoveryListener::beaconRejected, this, &ClusterDiscovery::onSummaryTick);
    // Everything we log also shows where the controller's log goes (GUI log panel).
    connect(this, &ClusterDiscovery::eventLogged, controller, &Controller::eventLogged);
    m_monotonic.start();
    m_summaryTimer.setInterval(1000);
    connect(&m_summaryTimer, &QTimer::timeout, this, &ClusterDiscovery::onSummaryTick);
}

ClusterDiscovery::~ClusterDiscovery()
{
    for (Agent &agent : m_agents)
        dropCandidate(agent);
}

void ClusterDiscovery::setNodeOptions(const RemoteNodeOptions &options)
{
    m_nodeOptions = options;
    m_nodeOptions.channel.psk = net::ChannelOptions::fromSecret(m_secret).psk;
}

bool ClusterDiscovery::start(QString *error)
{
    m_listener->setConfig(m_listenerConfig);
    if (!m_listener->start(error))
        return false;
    m_summaryTimer.start();
    QStringList targets;
    for (const QHostAddress &a : std::as_const(m_listenerConfig.probeAddresses))
        targets << a.toString();
    emit eventLogged(QStringLiteral("discovery: listening on UDP %1:%2, probing %3 port %4")
                         .arg(m_listenerConfig.bindAddress.toString())
                         .arg(m_listener->boundPort())
                         .arg(targets.join(QStringLiteral(", ")))
                         .arg(m_listenerConfig.probePort));
    return true;
}

void ClusterDiscovery::stop()
{
    m_summaryTimer.stop();
    m_listener->stop();
}

bool ClusterDiscovery::isRunning() const
{
    return m_listener->isRunning();
}

void ClusterDiscovery::probe()
{
    m_listener->probe();
}

QString ClusterDiscovery::rejectionSummary() const
{
    return m_listener->rejectionSummary();
}

QStringList ClusterDiscovery::discoveredNodeIds() const
{
    QStringList ids;
    for (const Agent &a : m_agents)
        if (a.node)
            ids << a.node->id();
    ids.sort();
    return ids;
}

Node *ClusterDiscovery::foreignTwin(const net::DiscoveredNode &node) const
{
    const QString endpoint = discoveredEndpoint(node);
    QSet<const Node *> ours;
    for (const Agent &a : m_agents)
        if (a.node)
            ours.insert(a.node.data());
    for (Node *n : m_controller->nodes()) {
        if (n->isLocal() || ours.contains(n))
            continue;
        if (normalisedEndpoint(n->address()) == endpoint)
            return n;
        if (auto *remote = qobject_cast<RemoteNode *>(n))
            if (QUuid::fromString(remote->agentNodeId()) == node.nodeId && !node.nodeId.isNull())
                return n;
    }
    return nullptr;
}

void ClusterDiscovery::onNodeSeen(const net::DiscoveredNode &seen)
{
    const bool known = m_agents.contains(seen.nodeId);
    Agent &agent = m_agents[seen.nodeId];
    const net::DiscoveredNode previous = agent.last;
    agent.last = seen;
    const QString endpoint = discoveredEndpoint(seen);
    const QString label
        = QStringLiteral("%1 (%2)").arg(seen.hostName.isEmpty() ? uuidText(seen.nodeId) : seen.hostName, endpoint);

    if (Node *twin = foreignTwin(seen)) {
        dropCandidate(agent);
        if (agent.node)
            removeRemote(agent, QStringLiteral("also given by hand as %1").arg(twin->address()));
        if (!agent.manual)
            emit eventLogged(
                QStringLiteral("discovery: %1 is already a node (%2); not added twice").arg(label, twin->address()));
        agent.manual = true;
        return;
    }
    agent.manual = false;

    if (agent.node && agent.node->address() != endpoint && agent.node->state() == NodeState::Online) {
        // Make before break: a live session is only given up for an endpoint proven to be the same node.
        if (!agent.aliases.contains(endpoint))
            startCandidate(agent, seen, label);
        return;
    }
    if (agent.node && agent.node->address() != endpoint) {
        emit eventLogged(QStringLiteral("discovery: %1 moved from %2").arg(label, agent.node->address()));
        removeRemote(agent, QStringLiteral("moved to %1").arg(endpoint));
    }
    if (!agent.node) {
        emit eventLogged(QStringLiteral("discovery: found %1, %2 %3%4")
                             .arg(label)
                             .arg(seen.workersTotal)
                             .arg(seen.workersTotal == 1 ? QStringLiteral("worker") : QStringLiteral("workers"))
                             .arg(known && previous.tcpPort != 0 ? QStringLiteral(" (back again)") : QString()));
        addRemote(agent);
        return;
    }
    // Known and at the same place: if its link is down, the agent probably restarted; connect now
    // instead of waiting for the RemoteNode's backoff (up to 30 s).
    const NodeState state = agent.node->state();
    if (state == NodeState::Offline || state == NodeState::Refused
        || (state == NodeState::Connecting && agent.node->failedAttempts() > 0)) {
        emit eventLogged(QStringLiteral("discovery: %1 announces again; reconnecting").arg(label));
        removeRemote(agent, QStringLiteral("reconnecting"));
        addRemote(agent);
    }
}

void ClusterDiscovery::onNodeExpired(const QUuid &nodeId)
{
    auto it = m_agents.find(nodeId);
    if (it == m_agents.end())
        return;
    Agent &agent = it.value();
    const QString endpoint = discoveredEndpoint(agent.last);
    if (agent.node && agent.node->state() != NodeState::Online) {
        emit eventLogged(QStringLiteral("discovery: %1 stopped announcing; removed").arg(endpoint));
        removeRemote(agent, QStringLiteral("stopped announcing"));
    } else if (agent.node) {
        emit eventLogged(QStringLiteral("discovery: %1 stopped announcing (still connected)").arg(endpoint));
    }
    // Keep the entry: a node that comes back is reported as "back again" and added anew.
}

void ClusterDiscovery::addRemote(Agent &agent)
{
    RemoteNodeOptions options = m_nodeOptions;
    const QHostAddress address = plainAddress(agent.last.address);
    options.host = address.toString();
    options.port = agent.last.tcpPort;
    auto *node = new RemoteNode(options);
    agent.node = node;
    m_controller->addNode(node);
    node->start();
    emit nodeAdded(node->id(), agent.last);
}

void ClusterDiscovery::removeRemote(Agent &agent, const QString &why)
{
    if (!agent.node)
        return;
    const QString id = agent.node->id();
    agent.node.clear();
    qCInfo(lcDiscovery) << "removing discovered node" << id << why;
    m_controller->removeNode(id);
    emit nodeRemoved(id);
}

void ClusterDiscovery::startCandidate(Agent &agent, const net::DiscoveredNode &seen, const QString &label)
{
    const QString endpoint = discoveredEndpoint(seen);
    if (agent.candidate && agent.candidate->address() == endpoint)
        return; // already checking it
    const qint64 now = m_monotonic.elapsed();
    const auto failed = agent.failedEndpoints.constFind(endpoint);
    if (failed != agent.failedEndpoints.constEnd() && now - failed.value() < m_verifyRetryMs)
        return;
    dropCandidate(agent);
    emit eventLogged(QStringLiteral("discovery: %1 announced while online at %2; checking that %3 is the same node "
                                    "before moving")
                         .arg(label, agent.node->address(), endpoint));
    RemoteNodeOptions options = m_nodeOptions;
    options.host = plainAddress(seen.address).toString();
    options.port = seen.tcpPort;
    auto *candidate = new RemoteNode(options, this);
    agent.candidate = candidate;
    agent.candidateSeen = seen;
    const QUuid nodeId = seen.nodeId;
    connect(candidate, &Node::stateChanged, this, [this, nodeId] { onCandidateStateChanged(nodeId); });
    candidate->start();
}

void ClusterDiscovery::onCandidateStateChanged(const QUuid &nodeId)
{
    auto it = m_agents.find(nodeId);
    if (it == m_agents.end() || !it->candidate)
        return;
    Agent &agent = it.value();
    RemoteNode *candidate = agent.candidate;
    const QString endpoint = candidate->address();
    const NodeState state = candidate->state();
    if (state == NodeState::Online && QUuid::fromString(candidate->agentNodeId()) == nodeId) {
        const QString from = agent.node ? agent.node->address() : QString();
        candidate->disconnect(this);
        agent.candidate.clear();
        if (agent.node) {
            agent.aliases.insert(from);
            removeRemote(agent, QStringLiteral("moved to %1 (verified)").arg(endpoint));
        }
        agent.last = agent.candidateSeen;
        agent.node = candidate;
        emit eventLogged(
            QStringLiteral("discovery: %1 moved from %2 (a TLS session there authenticated as the same node)")
                .arg(endpoint, from));
        m_controller->addNode(candidate);
        emit nodeAdded(candidate->id(), agent.last);
        return;
    }
    QString why;
    if (state == NodeState::Online)
        why = QStringLiteral("the agent there is another node (%1)").arg(candidate->agentNodeId());
    else if (candidate->failedAttempts() > 0 || state == NodeState::Refused || state == NodeState::Incompatible)
        why = candidate->stateReason();
    else
        return; // still connecting
    agent.failedEndpoints.insert(endpoint, m_monotonic.elapsed());
    if (agent.failedEndpoints.size() > 64) // bounded: forget the oldest
        agent.failedEndpoints.erase(std::min_element(agent.failedEndpoints.begin(), agent.failedEndpoints.end()));
    emit eventLogged(QStringLiteral("discovery: not moving %1 to %2: %3; the session at %1 stays")
                         .arg(agent.node ? agent.node->address() : QStringLiteral("(none)"), endpoint, why));
    dropCandidate(agent);
}

void ClusterDiscovery::dropCandidate(Agent &agent)
{
    if (!agent.candidate)
        return;
    RemoteNode *candidate = agent.candidate;
    agent.candidate.clear();
    candidate->disconnect(this);
    candidate->deleteLater(); // says bye if it got that far
}

void ClusterDiscovery::onSummaryTick()
{
    // A discovered node that a manual node turned out to be (same agent id once both connected).
    for (auto it = m_agents.begin(); it != m_agents.end(); ++it) {
        Agent &agent = it.value();
        if (!agent.node)
            continue;
        if (Node *twin = foreignTwin(agent.last)) {
            emit eventLogged(QStringLiteral("discovery: %1 is the same agent as %2; keeping %2")
                                 .arg(agent.node->address(), twin->address()));
            removeRemote(agent, QStringLiteral("duplicate of %1").arg(twin->address()));
            agent.manual = true;
        }
    }
    const QString summary = m_listener->rejectionSummary();
    if (summary == m_lastSummary)
        return;
    m_lastSummary = summary;
    emit rejectionsChanged(summary);
    if (!summary.isEmpty())
        emit eventLogged(QStringLiteral("discovery: ") + summary);
}

} // namespace taskfleet::sched
