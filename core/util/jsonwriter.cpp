// SPDX-License-Identifier: MIT
#include "jsonwriter.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonArray>

#include <cmath>

namespace taskfleet::util {

void appendJsonString(QByteArray &out, const QString &text)
{
    static const char hex[] = "0123456789abcdef";
    const QByteArray utf8 = text.toUtf8();
    out.reserve(out.size() + utf8.size() + 2);
    out.append('"');
    for (char c : utf8) {
        const unsigned char u = static_cast<unsigned char>(c);
        switch (c) {
        case '"':
            out.append("\\\"");
            break;
        case '\\':
            out.append("\\\\");
            break;
        case '\n':
            out.append("\\n");
            break;
        case '\r':
            out.append("\\r");
            break;
        case '\t':
            out.append("\\t");
            break;
        default:
            if (u < 0x20) {
                out.append("\\u00");
                out.append(hex[u >> 4]);
                out.append(hex[u & 0xf]);
            } else {
                out.append(c);
            }
        }
    }
    out.append('"');
}

void appendJson(QByteArray &out, const QCborValue &value)
{
    switch (value.type()) {
    case QCborValue::Integer:
        out.append(QByteArray::number(value.toInteger()));
        return;
    case QCborValue::Double: {
        const double d = value.toDouble();
        if (!std::isfinite(d)) {
            out.append("null"); // JSON has no NaN or infinity
        } else if (d == std::floor(d) && std::fabs(d) < 1e15) {
            out.append(QByteArray::number(qint64(d)));
            out.append(".0");
        } else {
            out.append(QByteArray::number(d, 'g', 17));
        }
        return;
    }
    case QCborValue::String:
        appendJsonString(out, value.toString());
        return;
    case QCborValue::True:
        out.append("true");
        return;
    case QCborValue::False:
        out.append("false");
        return;
    case QCborValue::Null:
    case QCborValue::Undefined:
        out.append("null");
        return;
    case QCborValue::Array: {
        out.append('[');
        const QCborArray a = value.toArray();
        for (qsizetype i = 0; i < a.size(); ++i) {
            if (i)
                out.append(',');
            appendJson(out, a.at(i));
        }
        out.append(']');
        return;
    }
    case QCborValue::Map: {
        out.append('{');
        const QCborMap m = value.toMap();
        bool first = true;
        for (auto it = m.cbegin(); it != m.cend(); ++it) {
            if (!first)
                out.append(',');
            first = false;
            appendJsonString(out, it.key().isString() ? it.key().toString() : it.key().toDiagnosticNotation());
            out.append(':');
            appendJson(out, it.value());
        }
        out.append('}');
        return;
    }
    default: {
        // Byte strings, tags, simple types: the same mapping Qt documents for toJsonValue().
        const QJsonValue j = value.toJsonValue();
        const QByteArray doc = QJsonDocument(QJsonArray {j}).toJson(QJsonDocument::Compact);
        out.append(doc.mid(1, doc.size() - 2));
        return;
    }
    }
}

} // namespace taskfleet::util
