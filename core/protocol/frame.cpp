// SPDX-License-Identifier: MIT
#include "frame.h"

#include <QtCore/QCborStreamReader>
#include <QtCore/QCborValue>
#include <QtCore/QCborArray>
#include <QtCore/QtEndian>

#include <algorithm>
#include <utility>

namespace taskfleet::protocol {

void appendFrame(QByteArray &out, const QCborMap &message)
{
    const qsizetype start = out.size();
    out.append(FrameHeaderSize, '\0');
    out.append(QCborValue(message).toCbor());
    const qsizetype length = out.size() - start - FrameHeaderSize;
    if (length <= qsizetype(MaxFrameSize)) {
        qToBigEndian<quint32>(quint32(length), out.data() + start);
        return;
    }
    // Too big for one frame: re-lay it as continued frames.
    const QByteArray cbor = out.mid(start + FrameHeaderSize);
    out.truncate(start);
    appendEncodedFrame(out, cbor);
}

void appendEncodedFrame(QByteArray &out, const QByteArray &cbor)
{
    qsizetype at = 0;
    out.reserve(out.size() + cbor.size() + FrameHeaderSize * (1 + cbor.size() / MaxFrameSize));
    do {
        const qsizetype piece = std::min<qsizetype>(cbor.size() - at, MaxFrameSize);
        const bool more = at + piece < cbor.size();
        char head[FrameHeaderSize];
        qToBigEndian<quint32>(quint32(piece) | (more ? ContinuedFrameBit : 0u), head);
        out.append(head, FrameHeaderSize);
        out.append(cbor.constData() + at, piece);
        at += piece;
    } while (at < cbor.size());
}

qint64 cborSizeBound(const QCborValue &value)
{
    switch (value.type()) {
    case QCborValue::ByteArray:
        return 9 + value.toByteArray().size();
    case QCborValue::String:
        return 9 + 3 * qint64(value.toString().size());
    case QCborValue::Array: {
        qint64 n = 9;
        const QCborArray a = value.toArray();
        for (const QCborValue &v : a)
            n += cborSizeBound(v);
        return n;
    }
    case QCborValue::Map: {
        qint64 n = 9;
        const QCborMap m = value.toMap();
        for (auto it = m.cbegin(); it != m.cend(); ++it)
            n += cborSizeBound(it.key()) + cborSizeBound(it.value());
        return n;
    }
    default:
        return value.isTag() ? 9 + cborSizeBound(value.taggedValue()) : 9;
    }
}

qint64 cborSizeIfOver(const QCborValue &value, qint64 limit)
{
    const qint64 bound = cborSizeBound(value);
    if (bound <= limit || value.isByteArray())
        return bound; // a byte string's bound is exact to the head's few bytes: no copy of a big value
    if (value.isString())
        return 9 + value.toString().toUtf8().size();
    return value.toCbor().size();
}

QByteArray encodeFrame(const QCborMap &message)
{
    QByteArray out;
    appendFrame(out, message);
    return out;
}

FrameDecoder::FrameDecoder(quint32 maxFrameSize, qint64 maxMessageSize)
    : m_maxFrameSize(maxFrameSize)
    , m_maxMessageSize(maxMessageSize >= 0            ? maxMessageSize
                       : maxFrameSize == MaxFrameSize ? MaxMessageSize
                                                      : qint64(maxFrameSize))
{
}

void FrameDecoder::append(const char *data, qsizetype size)
{
    if (hasError() || size <= 0)
        return;
    // Drop consumed bytes before growing, so the buffer stays about one frame long.
    if (m_offset > 0 && (m_offset == m_buffer.size() || m_offset > 64 * 1024)) {
        m_buffer.remove(0, m_offset);
        m_offset = 0;
    }
    m_buffer.append(data, size);
}

quint32 FrameDecoder::pendingFrameSize() const
{
    if (bufferedBytes() < FrameHeaderSize)
        return 0;
    return qFromBigEndian<quint32>(m_buffer.constData() + m_offset) & ~ContinuedFrameBit;
}

FrameDecoder::Status FrameDecoder::fail(const QString &reason)
{
    m_error = reason;
    m_buffer.clear();
    m_joined.clear();
    m_offset = 0;
    return Status::Error;
}

FrameDecoder::Status FrameDecoder::next(QCborMap *message)
{
    if (hasError())
        return Status::Error;
    quint32 length = 0;
    for (;;) {
        if (bufferedBytes() < FrameHeaderSize)
            return Status::NeedMore;
        const quint32 word = qFromBigEndian<quint32>(m_buffer.constData() + m_offset);
        length = word & ~ContinuedFrameBit;
        const bool continued = word & ContinuedFrameBit;
        if (length == 0)
            return fail(QStringLiteral("empty frame"));
        if (length > m_maxFrameSize)
            return fail(
                QStringLiteral("frame of %1 bytes exceeds the limit of %2 bytes").arg(length).arg(m_maxFrameSize));
        if ((continued || !m_joined.isEmpty()) && m_joined.size() + qint64(length) > m_maxMessageSize)
            return fail(
                QStringLiteral("message of more than %1 bytes in continued frames exceeds the limit of %2 bytes")
                    .arg(m_joined.size() + qint64(length))
                    .arg(m_maxMessageSize));
        if (bufferedBytes() < FrameHeaderSize + qsizetype(length))
            return Status::NeedMore;
        if (!continued && m_joined.isEmpty())
            break; // the common case: one frame, decoded in place
        m_joined.append(m_buffer.constData() + m_offset + FrameHeaderSize, qsizetype(length));
        m_offset += FrameHeaderSize + qsizetype(length);
        if (!continued) {
            length = 0; // the message is in m_joined
            break;
        }
    }

    const QByteArray joined = std::exchange(m_joined, QByteArray());
    const QByteArray payload
        = length == 0 ? joined
                      : QByteArray::fromRawData(m_buffer.constData() + m_offset + FrameHeaderSize, qsizetype(length));
    QCborStreamReader reader(payload);
    const QCborValue value = QCborValue::fromCbor(reader);
    if (reader.lastError() != QCborError::NoError)
        return fail(QStringLiteral("frame is not valid CBOR: %1").arg(reader.lastError().toString()));
    if (reader.currentOffset() != payload.size())
        return fail(
            QStringLiteral("frame has %1 bytes after its CBOR value").arg(payload.size() - reader.currentOffset()));
    if (!value.isMap())
        return fail(QStringLiteral("frame is not a CBOR map"));
    *message = value.toMap();
    if (!message->value(QLatin1String("t")).isString())
        return fail(QStringLiteral("frame has no string field \"t\" naming its type"));
    if (length > 0)
        m_offset += FrameHeaderSize + qsizetype(length);
    return Status::Frame;
}

} // namespace taskfleet::protocol
