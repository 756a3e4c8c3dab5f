// SPDX-License-Identifier: MIT
// Discovery beacons: the signed UDP datagram an agent announces itself with, and its verifier.
#pragma once

#include "protocol/version.h"

#include <QtCore/QByteArray>
#include <QtCore/QHash>
#include <QtCore/QList>
#include <QtCore/QMetaType>
#include <QtCore/QString>
#include <QtCore/QUuid>
#include <QtNetwork/QHostAddress>

#include <array>
#include <map>

namespace taskfleet::net {

/** UDP port agents and controllers use for discovery unless configured otherwise. */
constexpr quint16 DefaultDiscoveryPort = 45451;
/** How often an agent announces itself by default. */
constexpr int DefaultAnnounceIntervalMs = 2000;
/** Largest beacon datagram; anything larger is dropped without being parsed. */
constexpr int MaxBeaconSize = 1200;
/** A beacon is accepted only if its timestamp is within this many ms of the receiver's clock (both ways). */
constexpr qint64 DefaultReplayWindowMs = 30000;
/** Bytes of random nonce in every beacon. */
constexpr int BeaconNonceSize = 16;
/** Bytes of HMAC-SHA256 tag at the end of every beacon. */
constexpr int BeaconTagSize = 32;
/** Bytes in front of the CBOR map: the 4-byte magic "TFB1" and one kind byte. */
constexpr int BeaconHeaderSize = 5;
/** A host name longer than this many UTF-8 bytes is cut when encoding, and refused when verifying. */
constexpr int MaxBeaconHostNameBytes = 255;
/** Size of an "another cluster" reply: "TFB1" + 'X' + the probe's nonce. Smaller than any probe. */
constexpr int OtherClusterReplySize = BeaconHeaderSize + BeaconNonceSize;

/**
 * Returns the HMAC key that signs beacons of the cluster with \a secret
 * (deriveKey(secret, KeyPurpose::DiscoveryHmac); distinct from the TLS PSK). Empty if \a secret is empty.
 */
QByteArray beaconKey(const QByteArray &secret);

/**
 * The content of one discovery datagram.
 *
 * An Announce is sent by an agent (periodically and in answer to a probe) and describes it.
 * A Probe is sent by a controller to ask every agent for an immediate Announce; it is signed
 * like an Announce so that agents answer only controllers of their own cluster, and its
 * node fields describe the controller (tcpPort and workers are 0).
 * A plain value type; see encodeBeacon() and BeaconVerifier for the wire form.
 */
struct Beacon {
    enum class Kind : quint8 {
        Announce, ///< "A" on the wire: an agent describing itself
        Probe,    ///< "P" on the wire: a controller asking agents to announce now
    };

    Kind kind = Kind::Announce;
    QUuid nodeId;
    QString hostName;
    quint16 tcpPort = 0;
    int protocolMajor = protocol::ProtocolMajor;
    int protocolMinor = protocol::ProtocolMinor;
    int workersTotal = 0;
    int workersBusy = 0;
    qint64 timestampMs = 0; ///< sender's wall clock, ms since the Unix epoch (UTC)
    QByteArray nonce;       ///< BeaconNonceSize random bytes, fresh for every datagram

    /** A beacon of \a kind with the current protocol version, \a nowMs as timestamp and a fresh nonce. */
    static Beacon create(Kind kind, qint64 nowMs);
};

/** BeaconNonceSize bytes from the system's cryptographic random generator. */
QByteArray newBeaconNonce();

/**
 * Encodes \a beacon into one datagram signed with \a hmacKey:
 * "TFB1" + kind byte ('A' or 'P') + CBOR map + HMAC-SHA256(hmacKey, everything before the tag).
 * The host name is cut to MaxBeaconHostNameBytes so that the datagram stays below MaxBeaconSize.
 * Returns an empty array if \a hmacKey is empty or the nonce is not BeaconNonceSize bytes.
 */
QByteArray encodeBeacon(const Beacon &beacon, const QByteArray &hmacKey);

/** Outcome of BeaconVerifier::verify(). */
enum class BeaconStatus {
    Accepted,            ///< authentic, fresh, compatible: use it
    NotTaskfleet,        ///< no Taskfleet magic: some other program's datagram; ignored, not counted
    WrongKind,           ///< a valid-looking beacon of the kind this receiver ignores; not counted
    Malformed,           ///< has the magic but is truncated, oversized or does not decode; counted
    BadTag,              ///< the tag does not match: signed with another secret (or altered); counted
    Stale,               ///< authentic, but the timestamp is outside the replay window; counted
    Replayed,            ///< authentic, but its nonce was already seen within the window; counted
    IncompatibleVersion, ///< another protocol major version (or beacon format); counted
};
constexpr int BeaconStatusCount = int(BeaconStatus::IncompatibleVersion) + 1;

/** Short stable name of \a status for logs and JSON ("accepted", "bad-tag", ...). */
QString beaconStatusName(BeaconStatus status);

/** True for the statuses BeaconVerifier counts as rejections (not Accepted, NotTaskfleet, WrongKind). */
bool isCountedRejection(BeaconStatus status);

/** Rejection counters for one source address, as kept by BeaconVerifier. */
struct BeaconSourceStats {
    QHostAddress address;
    std::array<quint64, BeaconStatusCount> counts {};        ///< indexed by int(BeaconStatus)
    std::array<qint64, BeaconStatusCount> lastSeenMs {};     ///< receiver wall clock of the last one, per reason
    std::array<qint64, BeaconStatusCount> lastReportedMs {}; ///< see BeaconVerifier::takeReportToken()
    qint64 lastSeenAnyMs = 0;
    qint64 lastClockSkewMs = 0; ///< sender minus receiver clock, from the last Stale beacon

    quint64 count(BeaconStatus status) const { return counts[size_t(status)]; }
    quint64 total() const;
};

/**
 * Checks datagrams against one cluster key and remembers what it rejected.
 *
 * verify() checks, in this order: magic (else NotTaskfleet), size and header (Malformed),
 * kind (WrongKind), CBOR content and field shapes (Malformed: junk), tag in constant time (BadTag:
 * a well-formed beacon of another secret), protocol major version (IncompatibleVersion),
 * timestamp within ±replayWindow of \a nowMs (Stale; but Replayed if the source address or the
 * node id also sent a fresh beacon within the window: a clock problem shows in every beacon),
 * nonce not seen before (Replayed). Only well-formed datagrams can count as another secret, so
 * random junk with the magic is reported as junk. A beacon with the magic "TFB" + another
 * format digit counts as IncompatibleVersion without a tag check; an "another cluster" reply
 * ('X') is WrongKind here (DiscoveryListener reads those).
 *
 * Memory is bounded: at most MaxRememberedNonces nonces (each forgotten once its beacon's
 * timestamp has left the window; when full the one expiring first is dropped) and at most
 * MaxTrackedSources source addresses (the least recently seen one is dropped).
 * Not thread-safe; use from one thread.
 */
class BeaconVerifier
{
public:
    static constexpr int MaxRememberedNonces = 8192;
    static constexpr int MaxTrackedSources = 256;

    /** Verifies with \a hmacKey (see beaconKey()); beacons of another kind than \a accepts are WrongKind. */
    BeaconVerifier(const QByteArray &hmacKey, Beacon::Kind accepts, qint64 replayWindowMs = DefaultReplayWindowMs);

    /**
     * Verifies one datagram received from \a sender at wall-clock time \a nowMs (ms since epoch).
     * On Accepted fills \a beacon; on BadTag fills it with the well-formed but unauthenticated content (an
     * agent uses only its nonce, for encodeOtherClusterReply()); on every other result \a detail (if given) says why.
     * Counted rejections are recorded against \a sender.
     */
    BeaconStatus verify(const QByteArray &datagram, const QHostAddress &sender, qint64 nowMs, Beacon *beacon = nullptr,
                        QString *detail = nullptr);

    qint64 replayWindowMs() const { return m_replayWindowMs; }
    Beacon::Kind accepts() const { return m_accepts; }

    /** Per-source rejection counters, sorted by address. */
    QList<BeaconSourceStats> rejectionsBySource() const;
    /** Total rejections for \a status since construction or clearRejections() (not capped by source eviction). */
    quint64 rejectedTotal(BeaconStatus status) const { return m_totals[size_t(status)]; }
    /** Distinct source addresses with a rejection for \a status seen at most \a maxAgeMs before \a nowMs (0 = any age). */
    QList<QHostAddress> rejectingSources(BeaconStatus status, qint64 nowMs, qint64 maxAgeMs = 0) const;
    /**
     * Human-readable one-line summary of rejections seen at most \a maxAgeMs before \a nowMs
     * (0 = any age), for example "2 agents at 10.0.0.7, 10.0.0.9 answer with another secret".
     * Clauses for different reasons are joined by "; ". Empty if nothing was rejected.
     */
    QString rejectionSummary(qint64 nowMs, qint64 maxAgeMs = 0) const;
    void clearRejections();

    /**
     * Rate limit for reporting rejections: returns true (and remembers \a nowMs) if no rejection
     * for (\a sender, \a status) was reported in the last \a minGapMs. Only for tracked sources.
     */
    bool takeReportToken(const QHostAddress &sender, BeaconStatus status, qint64 nowMs, qint64 minGapMs);

    /** Counts a rejection for \a sender that was found outside verify() (an "another cluster" reply). */
    void countRejection(BeaconStatus status, const QHostAddress &sender, qint64 nowMs);
    /** True if \a source sent an accepted beacon at most \a maxAgeMs before \a nowMs (0 = any age). */
    bool sendsFreshBeacons(const QHostAddress &source, qint64 nowMs, qint64 maxAgeMs = 0) const;

    /** Number of nonces currently remembered (for tests). */
    int rememberedNonces() const { return int(m_nonceExpiry.size()); }

    /** IPv4-mapped IPv6 addresses become plain IPv4 so that one host is one key. */
    static QHostAddress normalizedAddress(const QHostAddress &address);

private:
    BeaconStatus reject(BeaconStatus status, const QHostAddress &sender, qint64 nowMs, QString *detail,
                        const QString &why, qint64 skewMs = 0);
    void forgetExpiredNonces(qint64 nowMs);
    bool hasFreshBeacons(const QHostAddress &source, const QUuid &nodeId, qint64 nowMs) const;
    void rememberFresh(const QHostAddress &source, const QUuid &nodeId, qint64 nowMs);
    bool rememberNonce(const QByteArray &nonce, qint64 expiryMs);

    QByteArray m_key;
    Beacon::Kind m_accepts;
    qint64 m_replayWindowMs;
    QHash<QByteArray, qint64> m_nonceExpiry;
    std::multimap<qint64, QByteArray> m_noncesByExpiry;
    QHash<QHostAddress, BeaconSourceStats> m_sources;
    QHash<QHostAddress, qint64> m_freshBySource; ///< last accepted beacon per source (at most MaxTrackedSources)
    QHash<QUuid, qint64> m_freshByNode;          ///< last accepted beacon per node id (at most MaxTrackedSources)
    std::array<quint64, BeaconStatusCount> m_totals {};
};

/**
 * The reply an agent sends to a well-formed probe whose tag it cannot verify (another cluster's controller):
 * "TFB1" + 'X' + the probe's 16-byte nonce, 21 bytes, unsigned. The nonce lets the controller accept only
 * replies to its own recent probes. Empty if \a probeNonce is not BeaconNonceSize bytes.
 */
QByteArray encodeOtherClusterReply(const QByteArray &probeNonce);
/** The probe nonce in an "another cluster" reply, or empty if \a datagram is not one. */
QByteArray otherClusterReplyNonce(const QByteArray &datagram);

} // namespace taskfleet::net

Q_DECLARE_METATYPE(taskfleet::net::BeaconStatus)
