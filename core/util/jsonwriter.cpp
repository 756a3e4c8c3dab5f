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
        if (std::isnan(d)) {
            // JSON has no NaN or infinity; null would silently change the value. Python's json module
            // writes (and reads) these tokens: exact, and a strict reader refuses the line instead.
            out.append("NaN");
        } else if (std::isinf(d)) {
            out.append(d > 0 ? "Infinity" : "-Infinity");
        } else if (d == std::floor(d) && std::fabs(d) < 1e15) {
            if (d == 0 && std::signbit(d))
                out.append('-'); // -0.0: qint64 has no negative zero
            out.append(QByteArray::number(qint64(d)));
            out.append(".0");
        } else {
            const QByteArray text = QByteArray::number(d, 'g', 17);
            out.append(text);
            // 'g' writes 1e15 as "1000000000000000": the ".0" keeps it a double for every reader (Python's json
            // and this project's read digits alone as an integer).
            if (!text.contains('.') && !text.contains('e'))
                out.append(".0");
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
    case QCborValue::Tag: {
        // The tagged value, as toJsonValue() converts it, but written here: Qt's conversion turns a NaN
        // inside into null. Only a byte string under an encoding hint (tags 21-23) goes Qt's way.
        const QCborValue tagged = value.taggedValue();
        const quint64 tag = quint64(value.tag());
        if (!(tagged.isByteArray() && tag >= 21 && tag <= 23)) {
            appendJson(out, tagged, spill);
            return;
        }
        break;
    }
    default:
        break;
    }
    {
        // Extended types (date-time, URL, UUID, ...), simple types: the mapping Qt documents for toJsonValue().
        const QJsonValue j = value.toJsonValue();
        const QByteArray doc = QJsonDocument(QJsonArray {j}).toJson(QJsonDocument::Compact);
        out.append(doc.mid(1, doc.size() - 2));
    }
}

} // namespace taskfleet::util
