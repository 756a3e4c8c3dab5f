// SPDX-License-Identifier: MIT
#include "impairedlink.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTimer>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>

#include <algorithm>
#include <deque>

namespace taskfleet::test {

namespace {

/** One direction of one connection: bytes read from `from` are written to `to` when they are due. */
class Pipe : public QObject
{
public:
    Pipe(QTcpSocket *from, QTcpSocket *to, const LinkProfile &profile, quint32 seed,
         std::shared_ptr<ImpairedLink::Counters> counters, const QElapsedTimer *clock, QObject *parent)
        : QObject(parent)
        , m_from(from)
        , m_to(to)
        , m_profile(profile)
        , m_rng(seed)
        , m_counters(std::move(counters))
        , m_clock(clock)
    {
        m_timer.setSingleShot(true);
        m_timer.setTimerType(Qt::PreciseTimer);
        connect(&m_timer, &QTimer::timeout, this, &Pipe::deliver);
        connect(m_from, &QTcpSocket::readyRead, this, &Pipe::take);
        connect(m_from, &QTcpSocket::disconnected, this, [this] {
            take();
            // The close travels like data: it arrives after the bytes before it, one delay later.
            m_lastDueUs = std::max(m_lastDueUs, nowUs() + qint64(m_profile.delayMs) * 1000);
            m_queue.push_back({m_lastDueUs, {}, true});
            arm();
        });
        connect(m_to, &QTcpSocket::connected, this, &Pipe::deliver);
    }

    void take()
    {
        if (!m_from->isOpen())
            return;
        const QByteArray data = m_from->readAll();
        if (data.isEmpty())
            return;
        const qint64 now = nowUs();
        const qint64 segment = std::max(1, m_profile.segmentBytes);
        for (qint64 offset = 0; offset < data.size(); offset += segment) {
            const QByteArray piece = data.mid(offset, segment);
            // Serialization: the link carries one segment after another at its rate.
            qint64 leaves = std::max(now, m_linkFreeUs);
            if (m_profile.bytesPerSecond > 0)
                leaves += piece.size() * 1000000 / m_profile.bytesPerSecond;
            m_linkFreeUs = leaves;
            qint64 delay = qint64(m_profile.delayMs) * 1000;
            if (m_profile.jitterMs > 0)
                delay += qint64(m_rng.bounded(2 * m_profile.jitterMs * 1000 + 1)) - qint64(m_profile.jitterMs) * 1000;
            if (m_profile.loss > 0 && m_rng.generateDouble() < m_profile.loss) {
                // Lost: the sender's retransmission timer fires, and the copy makes the trip again.
                delay += qint64(m_profile.retransmitMs) * 1000 + qint64(m_profile.delayMs) * 1000;
                ++m_counters->lost;
            }
            ++m_counters->segments;
            // A byte stream never reorders: a late segment holds back the ones behind it.
            m_lastDueUs = std::max(m_lastDueUs, leaves + std::max<qint64>(0, delay));
            m_queue.push_back({m_lastDueUs, piece, false});
        }
        arm();
    }

    void deliver()
    {
        if (m_to->state() == QAbstractSocket::ConnectedState) {
            const qint64 now = nowUs();
            while (!m_queue.empty() && m_queue.front().dueUs <= now) {
                if (m_queue.front().close)
                    m_to->disconnectFromHost();
                else
                    m_to->write(m_queue.front().bytes);
                m_queue.pop_front();
            }
        } else if (m_to->state() == QAbstractSocket::UnconnectedState && !m_queue.empty() && m_queue.back().close) {
            m_queue.clear(); // the target never answered and the client is gone
        }
        arm();
    }

private:
    struct Piece {
        qint64 dueUs;
        QByteArray bytes;
        bool close = false; ///< the sender closed: close the other end
    };

    qint64 nowUs() const { return m_clock->nsecsElapsed() / 1000; }

    void arm()
    {
        if (m_queue.empty())
            return;
        const qint64 waitUs = m_queue.front().dueUs - nowUs();
        m_timer.start(int(std::max<qint64>(0, (waitUs + 999) / 1000)));
    }

    QTcpSocket *m_from;
    QTcpSocket *m_to;
    LinkProfile m_profile;
    QRandomGenerator m_rng;
    std::shared_ptr<ImpairedLink::Counters> m_counters;
    const QElapsedTimer *m_clock;
    QTimer m_timer;
    std::deque<Piece> m_queue;
    qint64 m_lastDueUs = 0;
    qint64 m_linkFreeUs = 0;
};

/** The listening side; lives on the link's thread. */
class Forwarder : public QObject
{
public:
    Forwarder(QHostAddress target, quint16 targetPort, LinkProfile profile,
              std::shared_ptr<ImpairedLink::Counters> counters)
        : m_target(std::move(target))
        , m_targetPort(targetPort)
        , m_profile(profile)
        , m_counters(std::move(counters))
    {
        m_clock.start();
    }

    quint16 listen()
    {
        m_server = new QTcpServer(this);
        connect(m_server, &QTcpServer::newConnection, this, &Forwarder::accept);
        return m_server->listen(QHostAddress::LocalHost, 0) ? m_server->serverPort() : 0;
    }

private:
    void accept()
    {
        while (QTcpSocket *in = m_server->nextPendingConnection()) {
            auto *out = new QTcpSocket(in);
            for (QTcpSocket *s : {in, out})
                s->setSocketOption(QAbstractSocket::LowDelayOption, 1);
            const quint32 seed = m_profile.seed + 2 * m_connections++;
            new Pipe(in, out, m_profile, seed, m_counters, &m_clock, in);
            new Pipe(out, in, m_profile, seed + 1, m_counters, &m_clock, in);
            connect(out, &QTcpSocket::connected, out,
                    [out] { out->setSocketOption(QAbstractSocket::LowDelayOption, 1); });
            connect(out, &QTcpSocket::errorOccurred, in, [in, out](QAbstractSocket::SocketError) {
                if (out->state() != QAbstractSocket::ConnectedState)
                    in->abort(); // the target refused: the client sees its connection end
            });
            // Both ends closed: the connection's objects go (out and the pipes are children of in).
            auto reap = [in, out] {
                if (in->state() == QAbstractSocket::UnconnectedState
                    && out->state() == QAbstractSocket::UnconnectedState)
                    in->deleteLater();
            };
            connect(in, &QTcpSocket::disconnected, in, reap);
            connect(out, &QTcpSocket::disconnected, in, reap);
            out->connectToHost(m_target, m_targetPort);
        }
    }

    QHostAddress m_target;
    quint16 m_targetPort;
    LinkProfile m_profile;
    std::shared_ptr<ImpairedLink::Counters> m_counters;
    QElapsedTimer m_clock;
    QTcpServer *m_server = nullptr;
    quint32 m_connections = 0;
};

} // namespace

ImpairedLink::ImpairedLink(const QHostAddress &target, quint16 targetPort, const LinkProfile &profile)
    : m_target(target)
    , m_targetPort(targetPort)
    , m_profile(profile)
{
}

ImpairedLink::~ImpairedLink()
{
    m_thread.quit(); // the forwarder and every connection go with the thread (finished -> deleteLater)
    m_thread.wait(10000);
}

bool ImpairedLink::start()
{
    auto *forwarder = new Forwarder(m_target, m_targetPort, m_profile, m_counters);
    m_forwarder = forwarder;
    forwarder->moveToThread(&m_thread);
    QObject::connect(&m_thread, &QThread::finished, forwarder, &QObject::deleteLater);
    m_thread.start();
    quint16 port = 0;
    QMetaObject::invokeMethod(
        forwarder, [forwarder] { return forwarder->listen(); }, Qt::BlockingQueuedConnection, &port);
    m_port = port;
    return m_port != 0;
}

QString ImpairedLink::address() const
{
    return QStringLiteral("127.0.0.1:%1").arg(m_port);
}

} // namespace taskfleet::test
