// SPDX-License-Identifier: MIT
// ControllerDialer: one outbound controller link of an agent, redialed with jittered backoff.
#include "controllerdialer.h"

#include "net/nodeaddress.h"
#include "net/secureserver.h"
#include "util/logging.h"

#include <QtCore/QRandomGenerator>

#include <algorithm>

namespace taskfleet::agent {

namespace {
constexpr int FirstDelayMs = 1000;
constexpr int MaxDelayMs = 30000;
/** A session that lasted this long was a working link: the next dial starts from the first delay again. */
constexpr qint64 StableSessionMs = 10000;
/** After a busy refusal: this plus up to 4 times this of jitter (see scheduleRedial()). */
constexpr int BusyDelayMs = 500;
} // namespace

ControllerDialer::ControllerDialer(QString host, quint16 port, net::ChannelOptions options, QObject *parent)
    : QObject(parent)
    , m_host(std::move(host))
    , m_port(port)
    , m_options(std::move(options))
{
    m_redial.setSingleShot(true);
    connect(&m_redial, &QTimer::timeout, this, &ControllerDialer::dial);
}

QString ControllerDialer::target() const
{
    return net::formatNodeAddress(m_host, m_port);
}

void ControllerDialer::start()
{
    m_stopped = false;
    if (!m_dialing && !m_live && !m_redial.isActive())
        dial();
}

void ControllerDialer::stop()
{
    m_stopped = true;
    m_redial.stop();
    if (m_dialing) {
        m_dialing->disconnect(this);
        m_dialing->close(QStringLiteral("agent stopping"));
        m_dialing->deleteLater();
    }
}

void ControllerDialer::dial()
{
    if (m_stopped)
        return;
    ++m_attempts;
    m_busy = false;
    auto *channel = new net::SecureChannel(m_options, this);
    m_dialing = channel;
    net::watchForBusyRefusal(channel, this, [this] { m_busy = true; });
    connect(channel, &net::SecureChannel::ready, this, [this, channel] {
        channel->disconnect(this);
        m_dialing = nullptr;
        m_live = channel;
        m_sessionClock.start();
        connect(channel, &net::SecureChannel::closed, this, &ControllerDialer::onSessionClosed);
        qCInfo(lcAgent).noquote() << "connected to controller" << target();
        channel->setParent(nullptr); // the session owns it now
        emit connected(channel);
    });
    connect(channel, &net::SecureChannel::closed, this, &ControllerDialer::onDialClosed);
    channel->connectToHost(m_host, m_port);
}

void ControllerDialer::onDialClosed(const QString &reason)
{
    if (m_dialing) {
        m_dialing->deleteLater();
        m_dialing = nullptr;
    }
    if (reason.contains(QStringLiteral("secrets differ"))) {
        // Not a passing fault: say so plainly, and do not knock on the controller's door every second.
        qCWarning(lcAgent).noquote() << "controller" << target() << "refused this agent:" << reason
                                     << "(check --secret-file on both sides)";
        return scheduleRedial(MaxDelayMs, reason);
    }
    if (m_busy) {
        // Turned away at the controller's pre-authentication limits (many agents dialing at once): the
        // controller is up and admits a few at a time, so come back soon, at a random moment of the next
        // seconds, without growing the backoff that is meant for a controller that is down.
        return scheduleRedial(BusyDelayMs, QStringLiteral("the controller is at its pending-handshake limit"));
    }
    scheduleRedial(m_backoffMs, reason);
    m_backoffMs = std::min(m_backoffMs * 2, MaxDelayMs);
}

void ControllerDialer::onSessionClosed(const QString &reason)
{
    m_live = nullptr;
    if (m_sessionClock.elapsed() >= StableSessionMs)
        m_backoffMs = FirstDelayMs;
    scheduleRedial(m_backoffMs, reason);
    m_backoffMs = std::min(m_backoffMs * 2, MaxDelayMs);
}

void ControllerDialer::scheduleRedial(int baseMs, const QString &reason)
{
    m_lastError = reason;
    if (m_stopped)
        return;
    // A quarter of jitter spreads agents cut off together; a busy refusal spreads them over 0.5-2.5 s.
    const int spread = baseMs == BusyDelayMs ? 4 * baseMs : baseMs / 4;
    const int jitter = int(QRandomGenerator::global()->bounded(spread + 1));
    const int delay = baseMs + jitter;
    qCInfo(lcAgent).noquote() << "controller" << target() << "—" << reason << "— dialing again in"
                              << double(delay) / 1000.0 << "s";
    m_redial.start(delay);
}

} // namespace taskfleet::agent
