// SPDX-License-Identifier: MIT
// Agent side of discovery: announces this node by signed UDP broadcast and answers controllers' probes.
#pragma once

#include "net/beacon.h"

#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtNetwork/QHostAddress>

#include <functional>

class QUdpSocket;

namespace taskfleet::net {

/** Where and how often a DiscoveryAnnouncer sends; read by start(). */
struct AnnouncerConfig {
    /** Address the socket that receives probes binds to (AnyIPv4 on an agent, 127.0.0.1 in tests). */
    QHostAddress bindAddress = QHostAddress(QHostAddress::AnyIPv4);
    /** Port probes arrive on; 0 picks a free port (see DiscoveryAnnouncer::boundPort()). */
    quint16 port = DefaultDiscoveryPort;
    /** Each announcement goes to every one of these addresses (agent flag -b/--broadcast). */
    QList<QHostAddress> broadcastAddresses = {QHostAddress(QHostAddress::Broadcast)};
    /** Port announcements are sent to: the port controllers listen on. */
    quint16 targetPort = DefaultDiscoveryPort;
    /** Period of announcements, in ms; the first goes out at start(). */
    int intervalMs = DefaultAnnounceIntervalMs;
    /** Probes whose timestamp is further than this from our clock are ignored. */
    qint64 replayWindowMs = DefaultReplayWindowMs;
    /** Probe answers beyond this many per second are dropped (a probe costs the sender nothing). */
    int maxProbeAnswersPerSecond = 20;
    /**
     * Answer a well-formed probe we cannot verify (a controller of another cluster) with the 21-byte
     * "another cluster" reply, so that it can name us at once; at most one per source address every
     * otherClusterReplyGapMs and maxProbeAnswersPerSecond in total. The reply is smaller than any probe.
     */
    bool answerOtherClusters = true;
    int otherClusterReplyGapMs = 1000;
};

/** What an announcement says about this node; the nonce, timestamp and version are added per datagram. */
struct AnnouncedNode {
    QUuid nodeId;
    QString hostName;
    quint16 tcpPort = 0;
    int workersTotal = 0;
    int workersBusy = 0;
};

/**
 * Announces one node agent on the LAN.
 *
 * start() binds a UDP socket (ShareAddress | ReuseAddressHint, so an agent and a controller on
 * one machine can share the discovery port), sends an Announce to every broadcast address at
 * once and then every intervalMs, and answers every verified Probe of its own cluster with an
 * immediate unicast Announce to the prober's address and port. Every datagram carries a fresh
 * nonce and timestamp and is signed with the HMAC key given to the constructor (beaconKey()).
 * Stale or replayed probes and junk are dropped (and counted in probeVerifier()); a well-formed
 * probe signed with another key gets only the unsigned 21-byte "another cluster" reply
 * (encodeOtherClusterReply(): no node id, host name or port), rate-limited per source address,
 * so a controller of another cluster can say why it does not see us. Announcements of other
 * agents arriving on the shared port are ignored.
 *
 * What is announced comes from setNode(), or from the provider set with setNodeProvider(),
 * which is called before every announcement (use it to report live worker counts).
 * Send errors are logged, rate-limited, and never stop the announcer. Lives in one thread;
 * never blocks.
 */
class DiscoveryAnnouncer : public QObject
{
    Q_OBJECT

public:
    explicit DiscoveryAnnouncer(const QByteArray &hmacKey, QObject *parent = nullptr);
    ~DiscoveryAnnouncer() override;

    /** Takes effect at the next start(). */
    void setConfig(const AnnouncerConfig &config) { m_config = config; }
    AnnouncerConfig config() const { return m_config; }

    void setNode(const AnnouncedNode &node) { m_node = node; }
    AnnouncedNode node() const;
    /** Called before every announcement; overrides setNode(). Pass {} to remove. */
    void setNodeProvider(std::function<AnnouncedNode()> provider) { m_provider = std::move(provider); }
    /** Wall clock in ms since the epoch used for timestamps and the probe window (tests move it). */
    void setClock(std::function<qint64()> clock);

    /** Binds and sends the first announcement. False (with \a error) if the port cannot be bound. */
    [[nodiscard]] bool start(QString *error = nullptr);
    /** Stops announcing and closes the socket. Idempotent. */
    void stop();
    bool isRunning() const;
    /** The bound port (useful with port 0), or 0 when not running. */
    quint16 boundPort() const;

    quint64 announcementsSent() const { return m_announcementsSent; }
    quint64 probesAnswered() const { return m_probesAnswered; }
    /** "another cluster" replies sent. */
    quint64 otherClusterReplies() const { return m_otherClusterReplies; }
    /** Verifier of incoming probes, with its rejection counters. */
    const BeaconVerifier &probeVerifier() const { return m_verifier; }

public slots:
    /** Sends an announcement to every broadcast address now (the period is not restarted). */
    void announceNow();

signals:
    /** A verified probe from \a address:\a port was answered. */
    void probeAnswered(const QHostAddress &address, quint16 port);

private slots:
    void onReadyRead();

private:
    bool sendAnnouncement(const QHostAddress &address, quint16 port);
    void handleProbe(const QByteArray &datagram, const QHostAddress &sender, quint16 senderPort);
    void replyOtherCluster(const QByteArray &probeNonce, const QHostAddress &sender, quint16 senderPort, qint64 t);
    bool takeAnswerToken(qint64 t);
    qint64 now() const { return m_clock(); }

    QByteArray m_key;
    AnnouncerConfig m_config;
    AnnouncedNode m_node;
    std::function<AnnouncedNode()> m_provider;
    std::function<qint64()> m_clock;
    BeaconVerifier m_verifier;
    QPointer<QUdpSocket> m_socket;
    QTimer m_timer;
    quint64 m_announcementsSent = 0;
    quint64 m_probesAnswered = 0;
    quint64 m_otherClusterReplies = 0;
    QHash<QHostAddress, qint64> m_lastOtherClusterReply; ///< per source; pruned, at most MaxTrackedSources
    qint64 m_answerWindowStartMs = 0;
    int m_answersInWindow = 0;
    qint64 m_lastSendErrorLogMs = 0;
    qint64 m_lastProbeRejectLogMs = 0;
};

} // namespace taskfleet::net
