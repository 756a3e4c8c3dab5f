// SPDX-License-Identifier: MIT
#include "agent/parameterstore.h"

namespace taskfleet::agent {

exec::JobParametersPtr ParameterStore::find(const QByteArray &id)
{
    const auto it = m_values.find(id);
    if (it == m_values.end())
        return {};
    m_order.splice(m_order.end(), m_order, it->use);
    return it->value;
}

QVector<QByteArray> ParameterStore::insert(const exec::JobParametersPtr &value)
{
    if (find(value->id))
        return trim();
    m_order.push_back(value->id);
    m_values.insert(value->id, Entry {value, std::prev(m_order.end())});
    m_bytes += value->encodedSize;
    return trim();
}

QVector<QByteArray> ParameterStore::trim()
{
    QVector<QByteArray> evicted;
    if (m_limitBytes <= 0)
        return evicted;
    for (auto it = m_order.begin(); it != m_order.end() && m_bytes > m_limitBytes;) {
        const auto entry = m_values.find(*it);
        // Held elsewhere (a queued task, the caller that just inserted it): dropping our reference frees nothing.
        if (entry->value.use_count() > 1) {
            ++it;
            continue;
        }
        m_bytes -= entry->value->encodedSize;
        evicted.append(*it);
        m_values.erase(entry);
        it = m_order.erase(it);
        ++m_evicted;
    }
    return evicted;
}

} // namespace taskfleet::agent
