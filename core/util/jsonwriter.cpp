// SPDX-License-Identifier: MIT
#include "jsonwriter.h"

#include "cborstring.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborMap>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonArray>

#include <algorithm>
#include <cmath>

namespace taskfleet::util {

namespace {

constexpr qsizetype SpillBytes = 1024 * 1024;

// Copies runs that need no escape as they are; escapes only '"', '\' and control characters.
void appendEscaped(QByteArray &out, const char *p, qsizetype n)
{
    static const char hex[] = "0123456789abcdef";
    const char *const end = p + n;
    while (p < end) {
        const char *q = findJsonSpecial(p, end);
        out.append(p, q - p);
        if (q == end)
            return;
        const unsigned char u = static_cast<unsigned char>(*q);
        switch (*q) {
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
            out.append("\\u00");
            out.append(hex[u >> 4]);
            out.append(hex[u & 0xf]);
        }
        p = q + 1;
    }
}

void appendTextValue(QByteArray &out, const QCborValue &value, const JsonSpill &spill)
{
    out.append('"');
    forEachStringChunk(value, [&](const char *data, qsizetype size) {
        for (qsizetype at = 0; at < size; at += SpillBytes) {
            const qsizetype piece = std::min(size - at, SpillBytes);
            appendEscaped(out, data + at, piece);
            if (spill && out.size() >= SpillBytes)
                spill(out);
        }
    });
    out.append('"');
}

} // namespace

void appendJsonString(QByteArray &out, const QString &text)
{
    const QByteArray utf8 = text.toUtf8();
    out.reserve(out.size() + utf8.size() + 2);
    out.append('"');
    appendEscaped(out, utf8.constData(), utf8.size());
    out.append('"');
}

void appendJson(QByteArray &out, const QCborValue &value, const JsonSpill &spill)
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
        appendTextValue(out, value, spill);
        return;
    case QCborValue::ByteArray: {
        const QByteArray bytes = value.toByteArray();
        out.append('"');
        out.append(bytes.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
        out.append('"');
        if (spill && out.size() >= SpillBytes)
            spill(out);
        return;
    }
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
            appendJson(out, a.at(i), spill);
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
            appendJson(out, it.value(), spill);
        }
        out.append('}');
        return;
    }
    default: {
        // Tags, simple types: the same mapping Qt documents for toJsonValue().
        const QJsonValue j = value.toJsonValue();
        const QByteArray doc = QJsonDocument(QJsonArray {j}).toJson(QJsonDocument::Compact);
        out.append(doc.mid(1, doc.size() - 2));
        return;
    }
    }
}

} // namespace taskfleet::util
