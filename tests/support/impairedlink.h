// SPDX-License-Identifier: MIT
// A TCP forwarder on 127.0.0.1 that makes a loopback connection behave like a distant, lossy link.
#pragma once

#include <QtCore/QObject>
#include <QtCore/QThread>
#include <QtNetwork/QHostAddress>

#include <atomic>
#include <memory>

namespace taskfleet::test {

/**
 * What the link does to each direction of every connection. The kernel here has no netem, so
 * the impairment is made in user space, at the level TCP shows to applications: bytes are cut
 * into segments of \a segmentBytes; each segment arrives \a delayMs ± \a jitterMs after it was
 * sent; with probability \a loss a segment is "lost" and arrives only after a retransmission
 * (\a retransmitMs, Linux's minimum RTO, plus one more trip). Like TCP, a stream never reorders:
 * a late segment holds back everything after it (head-of-line blocking). \a bytesPerSecond > 0
 * adds serialization time (a slow link).
 */
struct LinkProfile {
    int delayMs = 50;
    int jitterMs = 0;
    double loss = 0.0;
    int retransmitMs = 200;
    qint64 bytesPerSecond = 0;
    int segmentBytes = 1448;
    quint32 seed = 15; ///< the same seed gives the same losses and jitter for the same traffic
};

/**
 * Listens on 127.0.0.1 (any free port) and forwards every connection to \a target:\a targetPort,
 * both directions impaired as \a profile says. Runs on its own thread so the delays do not
 * depend on how busy the caller's event loop is. Closing either end closes the other once the
 * bytes already in flight have been delivered.
 */
class ImpairedLink
{
public:
    ImpairedLink(const QHostAddress &target, quint16 targetPort, const LinkProfile &profile);
    ~ImpairedLink();
    ImpairedLink(const ImpairedLink &) = delete;
    ImpairedLink &operator=(const ImpairedLink &) = delete;

    /** Starts listening; false if no port could be bound. */
    bool start();
    quint16 port() const { return m_port; }
    /** "127.0.0.1:PORT", the address to connect to instead of the target. */
    QString address() const;

    /** Segments forwarded and segments delayed as lost, both directions, all connections. */
    quint64 segments() const { return m_counters->segments.load(); }
    quint64 lostSegments() const { return m_counters->lost.load(); }

    struct Counters {
        std::atomic<quint64> segments {0};
        std::atomic<quint64> lost {0};
    };

private:
    QHostAddress m_target;
    quint16 m_targetPort = 0;
    LinkProfile m_profile;
    quint16 m_port = 0;
    QThread m_thread;
    QObject *m_forwarder = nullptr; ///< lives on m_thread
    std::shared_ptr<Counters> m_counters = std::make_shared<Counters>();
};

} // namespace taskfleet::test
