// SPDX-License-Identifier: MIT
// The agent's store of job parameters (shared values, the python plugin's code): one per node, bounded in bytes.
#pragma once

#include "exec/workerprotocol.h"

#include <QtCore/QByteArray>
#include <QtCore/QHash>
#include <QtCore/QVector>

#include <list>

namespace taskfleet::agent {

/**
 * Job parameters by their SHA-256, shared by every controller of the node: a value many tasks share is held
 * once however many connections send it.
 *
 * Bounded in bytes (limitBytes(), 0 = no bound): when the values together pass it, the least recently used
 * ones are evicted, but never one that queued tasks still hold (their JobParametersPtr keeps it alive, so
 * dropping it here would free nothing). If everything left is held that way, the store stays over its limit
 * until tasks finish: full() is then true, and the agent keeps working and says so. Evicted ids are returned
 * so that the agent can tell the controllers that sent them to send them again.
 * Not thread-safe; the agent uses it on its event-loop thread only.
 */
class ParameterStore
{
public:
    /** Default bound: 2 GiB. */
    static constexpr qint64 DefaultLimitBytes = qint64(2) << 30;

    void setLimitBytes(qint64 bytes) { m_limitBytes = bytes; }
    qint64 limitBytes() const { return m_limitBytes; }

    /** The value for \a id, marked as just used; null if not held. */
    exec::JobParametersPtr find(const QByteArray &id);
    /** Holds \a value (already verified against its id), marked as just used; returns the ids evicted to make room. */
    QVector<QByteArray> insert(const exec::JobParametersPtr &value);
    /** Evicts what the limit no longer allows now that tasks let go of values; returns the evicted ids. */
    QVector<QByteArray> trim();

    qint64 bytes() const { return m_bytes; }
    int count() const { return int(m_values.size()); }
    qint64 evicted() const { return m_evicted; }
    /** Over the limit with nothing left to evict: every value held is in use by queued tasks. */
    bool full() const { return m_limitBytes > 0 && m_bytes > m_limitBytes; }

private:
    struct Entry {
        exec::JobParametersPtr value;
        std::list<QByteArray>::iterator use; ///< its place in m_order
    };

    std::list<QByteArray> m_order; ///< least recently used first
    QHash<QByteArray, Entry> m_values;
    qint64 m_bytes = 0;
    qint64 m_limitBytes = DefaultLimitBytes;
    qint64 m_evicted = 0;
};

} // namespace taskfleet::agent
