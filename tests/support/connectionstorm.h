// SPDX-License-Identifier: MIT
// A storm of silent TCP connections on loopback, for the flood test and bench_storm (header-only: both use it).
#pragma once

#include <QtCore/QElapsedTimer>
#include <QtCore/QObject>
#include <QtCore/QTimer>

#include <algorithm>
#include <cerrno>
#include <deque>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace taskfleet::test {

/**
 * Opens \a perSecond silent TCP connections a second to 127.0.0.1:\a port, spread over the source addresses
 * 127.0.0.\a firstHost ... (\a addresses of them), and closes each after \a holdMs: connections that never send
 * a byte, as a connection flood makes them. Raw non-blocking sockets, opened in slices every 10 ms; nothing is
 * read or written. Every socket is closed by stop() or the destructor. Loopback only.
 */
class ConnectionStorm : public QObject
{
public:
    ConnectionStorm(quint16 port, int perSecond, int addresses, int holdMs, int firstHost = 2)
        : m_port(port)
        , m_perSecond(perSecond)
        , m_addresses(addresses)
        , m_holdMs(holdMs)
        , m_firstHost(firstHost)
    {
        // perSecond x holdMs sockets stay open at once: make sure this process may hold them.
        rlimit limit {};
        if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
            limit.rlim_cur = limit.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &limit);
        }
        m_tick.setInterval(10);
        connect(&m_tick, &QTimer::timeout, this, [this] { onTick(); });
    }
    ~ConnectionStorm() override { stop(); }

    /** Starts the storm for \a durationMs (then no new connections; the open ones close on schedule). */
    void start(int durationMs)
    {
        m_durationMs = durationMs;
        m_clock.start();
        m_tick.start();
    }
    /** Closes every connection now. */
    void stop()
    {
        m_tick.stop();
        for (const Held &h : m_open)
            ::close(h.fd);
        m_open.clear();
    }
    bool isStorming() const { return m_tick.isActive() && m_clock.elapsed() < m_durationMs; }
    bool isActive() const { return m_tick.isActive(); }
    qint64 opened() const { return m_opened; }
    qint64 failedToOpen() const { return m_failed; }

private:
    struct Held {
        int fd;
        qint64 closeAtMs;
    };

    void onTick()
    {
        const qint64 now = m_clock.elapsed();
        while (!m_open.empty() && m_open.front().closeAtMs <= now) {
            ::close(m_open.front().fd);
            m_open.pop_front();
        }
        if (now < m_durationMs) {
            const qint64 due = qint64(m_perSecond) * std::min<qint64>(now, m_durationMs) / 1000;
            for (; m_opened + m_failed < due; ++m_next)
                open(now);
        } else if (m_open.empty()) {
            m_tick.stop();
        }
    }

    void open(qint64 now)
    {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            ++m_failed;
            return;
        }
        sockaddr_in source {};
        source.sin_family = AF_INET;
        source.sin_addr.s_addr = htonl((127u << 24) | quint32(m_firstHost + int(m_next % m_addresses)));
        sockaddr_in target {};
        target.sin_family = AF_INET;
        target.sin_port = htons(m_port);
        target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd, reinterpret_cast<sockaddr *>(&source), sizeof(source)) != 0
            || (::connect(fd, reinterpret_cast<sockaddr *>(&target), sizeof(target)) != 0 && errno != EINPROGRESS)) {
            ::close(fd);
            ++m_failed;
            return;
        }
        ++m_opened;
        m_open.push_back(Held {fd, now + m_holdMs});
    }

    quint16 m_port;
    int m_perSecond;
    int m_addresses;
    int m_holdMs;
    int m_firstHost;
    qint64 m_durationMs = 0;
    qint64 m_opened = 0;
    qint64 m_failed = 0;
    qint64 m_next = 0;
    std::deque<Held> m_open;
    QTimer m_tick;
    QElapsedTimer m_clock;
};

} // namespace taskfleet::test
