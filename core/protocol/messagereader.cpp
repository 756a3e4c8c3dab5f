// SPDX-License-Identifier: MIT
#include "messagereader.h"

namespace taskfleet::protocol {

QCborValue MessageReader::fetch(const char *key)
{
    const QCborValue v = m_map.value(QLatin1String(key));
    if (v.isUndefined())
        fail(QStringLiteral("missing field \"%1\"").arg(QLatin1String(key)));
    return v;
}

void MessageReader::wrongType(const char *key, const char *expected)
{
    fail(QStringLiteral("field \"%1\" must be %2").arg(QLatin1String(key), QLatin1String(expected)));
}

qint64 MessageReader::integer(const char *key, qint64 min, qint64 max)
{
    const QCborValue v = fetch(key);
    if (v.isUndefined())
        return 0;
    if (!v.isInteger()) {
        wrongType(key, "an integer");
        return 0;
    }
    const qint64 n = v.toInteger();
    if (n < min || n > max) {
        fail(QStringLiteral("field \"%1\" is %2, outside %3..%4").arg(QLatin1String(key)).arg(n).arg(min).arg(max));
        return 0;
    }
    return n;
}

qint64 MessageReader::integerOr(const char *key, qint64 fallback, qint64 min, qint64 max)
{
    return has(key) ? integer(key, min, max) : fallback;
}

double MessageReader::number(const char *key)
{
    const QCborValue v = fetch(key);
    if (v.isInteger())
        return double(v.toInteger());
    if (v.isDouble())
        return v.toDouble();
    if (!v.isUndefined())
        wrongType(key, "a number");
    return 0;
}

bool MessageReader::boolean(const char *key)
{
    const QCborValue v = fetch(key);
    if (!v.isBool() && !v.isUndefined())
        wrongType(key, "a boolean");
    return v.toBool();
}

bool MessageReader::booleanOr(const char *key, bool fallback)
{
    return has(key) ? boolean(key) : fallback;
}

QString MessageReader::string(const char *key)
{
    const QCborValue v = fetch(key);
    if (!v.isString() && !v.isUndefined())
        wrongType(key, "a text string");
    return v.toString();
}

QString MessageReader::stringOr(const char *key, const QString &fallback)
{
    return has(key) ? string(key) : fallback;
}

QByteArray MessageReader::bytes(const char *key)
{
    const QCborValue v = fetch(key);
    if (!v.isByteArray() && !v.isUndefined())
        wrongType(key, "a byte string");
    return v.toByteArray();
}

QCborArray MessageReader::array(const char *key)
{
    const QCborValue v = fetch(key);
    if (!v.isArray() && !v.isUndefined())
        wrongType(key, "an array");
    return v.toArray();
}

QCborMap MessageReader::map(const char *key)
{
    const QCborValue v = fetch(key);
    if (!v.isMap() && !v.isUndefined())
        wrongType(key, "a map");
    return v.toMap();
}

QCborValue MessageReader::value(const char *key)
{
    return fetch(key);
}

} // namespace taskfleet::protocol
