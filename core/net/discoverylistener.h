// SPDX-License-Identifier: MIT
// Controller side of discovery: probes, verifies beacons, tracks live nodes and counts rejected ones.
#pragma once

#include "net/beacon.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtNetwork/QHostAddress>

#include <functional>

class QUdpSocket;

namespace taskfleet::net {

/** A node agent as last announced. address:tcpPort is where its TLS server listens. */
struct DiscoveredNode {
    QUuid nodeId;
    QString hostName;
    QHostAddress address; ///< sender address of the announcement
    quint16 tcpPort = 0;  ///< from the beacon
    int protocolMajor = 0;
    int protocolMinor = 0;
    int workersTotal = 0;
    int workersBusy = 0;
    qint64 lastSeenMs = 0; ///< our wall clock when the last announcement arrived

    /** "address:port", IPv6 in brackets. */
    QString endpoint() const;
    /** True if every announced field (everything but lastSeenMs) is equal. */
    bool sameAnnouncement(const DiscoveredNode &other) const;
};

/** Where a DiscoveryListener listens and probes; read by start(). */
struct ListenerConfig {
    /** Address the listening socket binds to (AnyIPv4 on a controller, 127.0.0.1 in tests). */
    QHostAddress bindAddress = QHostAddress(QHostAddress::AnyIPv4);
    /** Port announcements arrive on; 0 picks a free port (see DiscoveryListener::boundPort()). */
    quint16 port = DefaultDiscoveryPort;
    /** Probes go to each of these addresses ... */
    QList<QHostAddress> probeAddresses = {QHostAddress(QHostAddress::Broadcast)};
    /** ... at this port (where agents listen). */
    quint16 probePort = DefaultDiscoveryPort;
    /** Send one probe from start(). */
    bool probeAtStart = true;
    /** A node not heard from for this long is expired: about three missed announcements. */
    int expiryMs = 3 * DefaultAnnounceIntervalMs + DefaultAnnounceIntervalMs / 2;
    /** Beacons whose timestamp is further than this from our clock are rejected as Stale. */
    qint64 replayWindowMs = DefaultReplayWindowMs;
    /** beaconRejected() is emitted at most once per source address and reason in this many ms. */
    int rejectionReportIntervalMs = 5000;
    /** rejectionSummary() mentions rejections seen within this many ms (0: since start). */
    qint64 summaryMaxAgeMs = 120000;
    /** Our own identity, carried in probes (informational). */
    QUuid controllerId;
    QString hostName;
};

/**
 * Finds node agents of one cluster by their signed UDP announcements.
 *
 * start() binds the listening socket (ShareAddress | ReuseAddressHint) and a second socket on
 * an ephemeral port of the same address that sends probes and receives the agents' unicast
 * answers (a unicast answer to a shared port would reach only one of the sockets sharing it).
 *
 * Every datagram goes through a BeaconVerifier, except "another cluster" replies (an agent with another
 * secret answering our probe, see encodeOtherClusterReply()): one that carries the nonce of a probe we sent
 * within the replay window counts as BadTag for its sender, so such an agent is named within a round trip
 * of the probe rather than at its next announcement; any other is ignored. An accepted announcement emits nodeSeen() the
 * first time a node id is seen, and again whenever anything it announces changes (address, TCP
 * port, host name, version, workers); a node not heard from for expiryMs emits nodeExpired()
 * and, if it comes back, nodeSeen() again. Rejected beacons (other secret, stale, replayed,
 * malformed, incompatible) are counted per source address (rejectionStats(),
 * rejectionSummary()) and reported by beaconRejected() at most once per address and reason
 * per rejectionReportIntervalMs, plus a global cap, so a flood cannot flood the GUI.
 *
 * Lives in one thread (the controller's); never blocks.
 */
class DiscoveryListener : public QObject
{
    Q_OBJECT

public:
    /** Largest number of nodes tracked at once; announcements of further nodes are dropped. */
    static constexpr int MaxNodes = 4096;
    /** Nonces of our own probes remembered for matching "another cluster" replies. */
    static constexpr int MaxProbeNonces = 64;

    explicit DiscoveryListener(const QByteArray &hmacKey, QObject *parent = nullptr);
    ~DiscoveryListener() override;

    /** Takes effect at the next start(), except the probe targets (see setProbeTargets()). */
    void setConfig(const ListenerConfig &config) { m_config = config; }
    ListenerConfig config() const { return m_config; }
    /** Changes where probe() sends to; effective immediately. */
    void setProbeTargets(const QList<QHostAddress> &addresses, quint16 port);
    /** Wall clock in ms since the epoch, for the replay window and lastSeenMs (tests move it). */
    void setClock(std::function<qint64()> clock);

    /** Binds both sockets, probes if configured. False (with \a error) if binding fails. */
    [[nodiscard]] bool start(QString *error = nullptr);
    /** Closes the sockets and forgets all nodes (without nodeExpired()). Rejection counters stay. */
    void stop();
    bool isRunning() const;
    /** Port announcements are received on, or 0 when not running. */
    quint16 boundPort() const;
    /** Port probes are sent from (and answers received on), or 0 when not running. */
    quint16 probeSourcePort() const;

    /** Live nodes, in no particular order. */
    QList<DiscoveredNode> nodes() const;
    /** Rejection counters per source address, sorted by address. */
    QList<BeaconSourceStats> rejectionStats() const { return m_verifier.rejectionsBySource(); }
    quint64 rejectedTotal(BeaconStatus status) const { return m_verifier.rejectedTotal(status); }
    /** For example "2 agents at 10.0.0.7, 10.0.0.9 answer with another secret"; empty if none recently. */
    QString rejectionSummary() const;
    const BeaconVerifier &verifier() const { return m_verifier; }

public slots:
    /** Sends a signed probe to every probe address; agents of this cluster answer at once. */
    void probe();

signals:
    void nodeSeen(const taskfleet::net::DiscoveredNode &node);
    void nodeExpired(const QUuid &nodeId);
    void beaconRejected(const QHostAddress &address, taskfleet::net::BeaconStatus reason);

private slots:
    void onListenSocketReadyRead();
    void onProbeSocketReadyRead();
    void onExpiryTimer();

private:
    struct Entry {
        DiscoveredNode node;
        qint64 lastSeenMonotonicMs = 0;
    };

    void readDatagrams(QUdpSocket *socket);
    void handleDatagram(const QByteArray &datagram, const QHostAddress &sender);
    void reportRejection(const QHostAddress &sender, BeaconStatus status, const QString &why, qint64 nowMs);
    void handleOtherClusterReply(const QByteArray &probeNonce, const QHostAddress &sender, qint64 nowMs);
    qint64 now() const { return m_clock(); }

    QByteArray m_key;
    ListenerConfig m_config;
    std::function<qint64()> m_clock;
    BeaconVerifier m_verifier;
    QPointer<QUdpSocket> m_socket;
    QPointer<QUdpSocket> m_probeSocket;
    QTimer m_expiryTimer;
    QElapsedTimer m_monotonic;
    QHash<QUuid, Entry> m_nodes;
    QHash<QByteArray, qint64> m_probeNonces; ///< nonces of our recent probes -> sent at (at most MaxProbeNonces)
    qint64 m_reportWindowStartMs = 0;
    int m_reportsInWindow = 0;
    qint64 m_lastProbeErrorLogMs = 0;
};

} // namespace taskfleet::net

Q_DECLARE_METATYPE(taskfleet::net::DiscoveredNode)
