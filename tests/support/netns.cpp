// SPDX-License-Identifier: MIT
// Builds and tears down namespace LANs with the `ip` tool; every command has a time limit.
#include "netns.h"

#include <QtCore/QAtomicInt>
#include <QtCore/QCoreApplication>
#include <QtCore/QDebug>
#include <QtCore/QFileInfo>
#include <QtCore/QProcess>
#include <QtCore/QRandomGenerator>
#include <QtCore/QRegularExpression>
#include <QtCore/QStandardPaths>

#include <unistd.h>

namespace taskfleet::test {

namespace {

constexpr int IpTimeoutMs = 10000;
constexpr int KillTimeoutMs = 3000;
constexpr int MaxHosts = 32;
const QLatin1String NamePrefix("tfnl-");

QAtomicInt labCounter;

struct CommandResult {
    bool ok = false;
    QByteArray output;
    QString error;
};

CommandResult run(const QString &program, const QStringList &arguments, int timeoutMs = IpTimeoutMs)
{
    CommandResult result;
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(program, arguments);
    if (!process.waitForStarted(timeoutMs)) {
        result.error = QStringLiteral("%1 did not start: %2").arg(program, process.errorString());
        return result;
    }
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished(KillTimeoutMs);
        result.error = QStringLiteral("%1 %2 timed out").arg(program, arguments.join(QLatin1Char(' ')));
        return result;
    }
    result.output = process.readAll();
    result.ok = process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0;
    if (!result.ok)
        result.error = QStringLiteral("`ip %1` failed: %2")
                           .arg(arguments.join(QLatin1Char(' ')), QString::fromLocal8Bit(result.output).trimmed());
    return result;
}

QStringList listNamespaces(const QString &ip)
{
    const CommandResult r = run(ip, {QStringLiteral("netns"), QStringLiteral("list")});
    QStringList names;
    if (!r.ok)
        return names;
    const QList<QByteArray> lines = r.output.split('\n');
    for (const QByteArray &line : lines) {
        // Lines look like "name (id: 3)" or just "name".
        const QString name = QString::fromLocal8Bit(line).section(QLatin1Char(' '), 0, 0).trimmed();
        if (!name.isEmpty())
            names.append(name);
    }
    return names;
}

bool pidAlive(qint64 pid)
{
    return pid > 0 && QFileInfo::exists(QStringLiteral("/proc/%1").arg(pid));
}

} // namespace

NetnsLab::NetnsLab() = default;

NetnsLab::~NetnsLab()
{
    destroy();
}

QString NetnsLab::ipProgram()
{
    QString ip = QStandardPaths::findExecutable(QStringLiteral("ip"));
    if (ip.isEmpty())
        ip = QStandardPaths::findExecutable(QStringLiteral("ip"), {QStringLiteral("/usr/sbin"), QStringLiteral("/sbin"),
                                                                   QStringLiteral("/usr/bin"), QStringLiteral("/bin")});
    return ip;
}

bool NetnsLab::available(QString *why)
{
    auto no = [why](const QString &reason) {
        if (why)
            *why = reason;
        return false;
    };
    if (::geteuid() != 0)
        return no(QStringLiteral("network namespaces need root (run the test as root, as CI does)"));
    const QString ip = ipProgram();
    if (ip.isEmpty())
        return no(QStringLiteral("the `ip` program (iproute2) is not installed"));
    const QString probe = NamePrefix + QStringLiteral("%1-probe").arg(QCoreApplication::applicationPid());
    const CommandResult added = run(ip, {QStringLiteral("netns"), QStringLiteral("add"), probe});
    if (!added.ok)
        return no(QStringLiteral("cannot create a network namespace: %1").arg(added.error));
    run(ip, {QStringLiteral("netns"), QStringLiteral("del"), probe});
    return true;
}

int NetnsLab::removeStaleNamespaces()
{
    const QString ip = ipProgram();
    if (ip.isEmpty())
        return 0;
    static const QRegularExpression ours(QStringLiteral("^tfnl-(\\d+)-"));
    int removed = 0;
    const QStringList names = listNamespaces(ip);
    for (const QString &name : names) {
        const QRegularExpressionMatch m = ours.match(name);
        if (!m.hasMatch() || pidAlive(m.captured(1).toLongLong()))
            continue;
        if (run(ip, {QStringLiteral("netns"), QStringLiteral("del"), name}).ok) {
            qInfo().noquote() << "removed stale test namespace" << name;
            ++removed;
        }
    }
    return removed;
}

bool NetnsLab::runIp(const QStringList &arguments, QString *error)
{
    const CommandResult r = run(ipProgram(), arguments);
    if (!r.ok && error)
        *error = r.error;
    return r.ok;
}

bool NetnsLab::create(int hosts, QString *error)
{
    destroy();
    if (hosts < 1 || hosts > MaxHosts) {
        if (error)
            *error = QStringLiteral("a lab has 1..%1 hosts").arg(MaxHosts);
        return false;
    }
    if (ipProgram().isEmpty()) {
        if (error)
            *error = QStringLiteral("the `ip` program (iproute2) is not installed");
        return false;
    }
    removeStaleNamespaces();

    m_prefix = NamePrefix
               + QStringLiteral("%1-%2-").arg(QCoreApplication::applicationPid()).arg(labCounter.fetchAndAddRelaxed(1));
    // The subnet exists only inside the lab; still avoid one the root namespace happens to use, to keep logs unambiguous.
    const CommandResult rootAddresses
        = run(ipProgram(), {QStringLiteral("-4"), QStringLiteral("-o"), QStringLiteral("addr")});
    for (int attempt = 0; attempt < 64; ++attempt) {
        m_octet = int(QRandomGenerator::global()->bounded(16, 240));
        if (!rootAddresses.output.contains(QStringLiteral("10.213.%1.").arg(m_octet).toLatin1()))
            break;
    }

    auto fail = [&](const QString &why) {
        if (error)
            *error = why;
        destroy();
        return false;
    };
    QString why;
    const QString bridgeNs = m_prefix + QStringLiteral("br");
    if (!runIp({QStringLiteral("netns"), QStringLiteral("add"), bridgeNs}, &why))
        return fail(why);
    m_namespaces.append(bridgeNs);
    auto inNs = [](const QString &ns, const QString &command) {
        return QStringList {QStringLiteral("-n"), ns} + command.split(QLatin1Char(' '));
    };
    for (const QString &command : {QStringLiteral("link set lo up"), QStringLiteral("link add br0 type bridge"),
                                   QStringLiteral("link set br0 up")}) {
        if (!runIp(inNs(bridgeNs, command), &why))
            return fail(why);
    }

    for (int i = 0; i < hosts; ++i) {
        const QString hostNs = m_prefix + QStringLiteral("h%1").arg(i);
        if (!runIp({QStringLiteral("netns"), QStringLiteral("add"), hostNs}, &why))
            return fail(why);
        m_namespaces.append(hostNs);
        m_hosts = i + 1;
        const QString veth = QStringLiteral("vh%1").arg(i);
        const QList<QStringList> commands = {
            inNs(bridgeNs, QStringLiteral("link add %1 type veth peer name eth0 netns %2").arg(veth, hostNs)),
            inNs(bridgeNs, QStringLiteral("link set %1 master br0").arg(veth)),
            inNs(bridgeNs, QStringLiteral("link set %1 up").arg(veth)),
            inNs(hostNs, QStringLiteral("link set lo up")),
            inNs(hostNs,
                 QStringLiteral("addr add %1/24 broadcast %2 dev eth0").arg(hostAddress(i), broadcastAddress())),
            inNs(hostNs, QStringLiteral("link set eth0 up")),
            // Without a default route a send to 255.255.255.255 fails with "Network is unreachable".
            inNs(hostNs, QStringLiteral("route add default dev eth0")),
        };
        for (const QStringList &command : commands) {
            if (!runIp(command, &why))
                return fail(why);
        }
    }
    return true;
}

void NetnsLab::destroy()
{
    for (QProcess *process : std::as_const(m_processes)) {
        if (process->state() != QProcess::NotRunning) {
            process->kill();
            process->waitForFinished(KillTimeoutMs);
        }
        delete process;
    }
    m_processes.clear();
    // Hosts first; deleting the bridge namespace then removes the veth ends and the bridge.
    for (auto it = m_namespaces.crbegin(); it != m_namespaces.crend(); ++it) {
        QString why;
        if (!runIp({QStringLiteral("netns"), QStringLiteral("del"), *it}, &why))
            qWarning().noquote() << "could not delete test namespace" << *it << ":" << why;
    }
    m_namespaces.clear();
    m_hosts = 0;
}

QString NetnsLab::hostNamespace(int i) const
{
    return (i >= 0 && i < m_hosts) ? m_prefix + QStringLiteral("h%1").arg(i) : QString();
}

QString NetnsLab::hostAddress(int i) const
{
    return QStringLiteral("10.213.%1.%2").arg(m_octet).arg(i + 1);
}

QString NetnsLab::broadcastAddress() const
{
    return QStringLiteral("10.213.%1.255").arg(m_octet);
}

QString NetnsLab::subnet() const
{
    return QStringLiteral("10.213.%1.0/24").arg(m_octet);
}

QProcess *NetnsLab::startIn(int i, const QString &program, const QStringList &arguments)
{
    const QString ns = hostNamespace(i);
    if (ns.isEmpty())
        return nullptr;
    auto *process = new QProcess;
    m_processes.append(process);
    // `ip netns exec` execs the program, so the QProcess pid is the program itself.
    process->start(ipProgram(), QStringList {QStringLiteral("netns"), QStringLiteral("exec"), ns, program} + arguments);
    return process;
}

} // namespace taskfleet::test
