// SPDX-License-Identifier: MIT
// A throw-away LAN built from network namespaces, for tests that need broadcast between hosts.
#pragma once

#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QStringList>

class QProcess;

namespace taskfleet::test {

/**
 * A private LAN of network namespaces (root only), as docs/DESIGN.md "Testing several hosts on
 * one machine" prescribes:
 *
 * - one namespace "<prefix>br" holding a bridge br0;
 * - one namespace "<prefix>h<i>" per host, joined to the bridge by a veth pair (eth0 in the
 *   host, vh<i> in the bridge namespace);
 * - host i has 10.213.X.(i+1)/24 on eth0 (X picked at random per lab; the subnet exists only
 *   inside these namespaces), lo up, and a default route via eth0 so that sends to
 *   255.255.255.255 work.
 *
 * The prefix is "tfnl-<pid>-<n>-", unique per process and lab. Nothing ever touches the
 * root namespace's interfaces or routes: processes started with startIn() see only the lab.
 *
 * The destructor (or destroy()) kills every process started with startIn() and deletes every
 * namespace the lab created, also when a test fails (QVERIFY returns from the test function,
 * which destroys a lab held by value). A crash or SIGKILL of the test process can leave the
 * namespaces behind; create() therefore first deletes namespaces whose prefix names a pid that
 * is no longer running (removeStaleNamespaces()). They can also be removed by hand with
 * `ip netns list | grep ^tfnl- | cut -d' ' -f1 | xargs -rn1 ip netns del`.
 *
 * Every external command is bounded in time. Not thread-safe.
 */
class NetnsLab
{
public:
    NetnsLab();
    ~NetnsLab();
    NetnsLab(const NetnsLab &) = delete;
    NetnsLab &operator=(const NetnsLab &) = delete;

    /** True if labs can be built here: running as root, `ip` found, and a namespace can be created. */
    static bool available(QString *why = nullptr);
    /** Full path of the `ip` program, or empty. */
    static QString ipProgram();
    /** Deletes "tfnl-<pid>-..." namespaces whose pid is dead; returns how many were deleted. */
    static int removeStaleNamespaces();

    /** Builds the bridge and \a hosts hosts (1..32). On failure cleans up and returns false with \a error. */
    bool create(int hosts, QString *error = nullptr);
    /** Kills the started processes and deletes the namespaces. Idempotent. */
    void destroy();

    int hostCount() const { return m_hosts; }
    /** Name of host \a i's namespace (for `ip netns exec`). */
    QString hostNamespace(int i) const;
    /** IPv4 address of host \a i, e.g. "10.213.57.1". */
    QString hostAddress(int i) const;
    /** The subnet's broadcast address, e.g. "10.213.57.255". */
    QString broadcastAddress() const;
    /** The subnet, e.g. "10.213.57.0/24". */
    QString subnet() const;
    /** All namespaces this lab made, bridge first. */
    QStringList namespaces() const { return m_namespaces; }

    /**
     * Starts \a program with \a arguments inside host \a i's namespace (`ip netns exec`).
     * The lab owns the QProcess (valid until destroy()); nullptr if \a i is out of range.
     * Stdout and stderr are separate channels; the process is started, not waited for.
     */
    QProcess *startIn(int i, const QString &program, const QStringList &arguments);

private:
    bool runIp(const QStringList &arguments, QString *error);

    QString m_prefix;
    int m_octet = 0;
    int m_hosts = 0;
    QStringList m_namespaces;
    QList<QProcess *> m_processes;
};

} // namespace taskfleet::test
