// SPDX-License-Identifier: MIT
// Typed, validating access to the fields of a decoded message.
#pragma once

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QCborValue>
#include <QtCore/QString>

#include <limits>

namespace taskfleet::protocol {

/**
 * Reads fields of one CBOR map and remembers the first field that was missing or of the
 * wrong type, so a decoder can read everything and check ok() once at the end.
 *
 * Example: MessageReader r(map); auto n = r.integer("n"); if (!r.ok()) return r.error();
 */
class MessageReader
{
public:
    explicit MessageReader(const QCborMap &map)
        : m_map(map)
    {
    }

    qint64 integer(const char *key, qint64 min = std::numeric_limits<qint64>::min(),
                   qint64 max = std::numeric_limits<qint64>::max());
    qint64 integerOr(const char *key, qint64 fallback, qint64 min = std::numeric_limits<qint64>::min(),
                     qint64 max = std::numeric_limits<qint64>::max());
    double number(const char *key);
    bool boolean(const char *key);
    bool booleanOr(const char *key, bool fallback);
    QString string(const char *key);
    QString stringOr(const char *key, const QString &fallback);
    QByteArray bytes(const char *key);
    QCborArray array(const char *key);
    QCborMap map(const char *key);
    /** Any value; only checks presence. */
    QCborValue value(const char *key);
    bool has(const char *key) const { return m_map.contains(QLatin1String(key)); }

    bool ok() const { return m_error.isEmpty(); }
    QString error() const { return m_error; }
    void fail(const QString &reason)
    {
        if (m_error.isEmpty())
            m_error = reason;
    }

private:
    QCborValue fetch(const char *key);
    void wrongType(const char *key, const char *expected);

    const QCborMap &m_map;
    QString m_error;
};

} // namespace taskfleet::protocol
