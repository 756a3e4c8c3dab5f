// SPDX-License-Identifier: MIT
#include "frame.h"

#include <QtCore/QCborStreamReader>
#include <QtCore/QCborValue>
#include <QtCore/QtEndian>

namespace taskfleet::protocol {

void appendFrame(QByteArray &out, const QCborMap &message)
{
    const qsizetype start = out.size();
    out.append(FrameHeaderSize, '\0');
    out.append(QCborValue(message).toCbor());
    const quint32 length = quint32(out.size() - start - FrameHeaderSize);
    qToBigEndian<quint32>(length, out.data() + start);
}

QByteArray encodeFrame(const QCborMap &message)
{
    QByteArray out;
    appendFrame(out, message);
    return out;
}

FrameDecoder::FrameDecoder(quint32 maxFrameSize)
    : m_maxFrameSize(maxFrameSize)
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
    return qFromBigEndian<quint32>(m_buffer.constData() + m_offset);
}

FrameDecoder::Status FrameDecoder::fail(const QString &reason)
{
    m_error = reason;
    m_buffer.clear();
    m_offset = 0;
    return Status::Error;
}

FrameDecoder::Status FrameDecoder::next(QCborMap *message)
{
    if (hasError())
        return Status::Error;
    if (bufferedBytes() < FrameHeaderSize)
        return Status::NeedMore;
    const quint32 length = pendingFrameSize();
    if (length == 0)
        return fail(QStringLiteral("empty frame"));
    if (length > m_maxFrameSize)
        return fail(QStringLiteral("frame of %1 bytes exceeds the limit of %2 bytes").arg(length).arg(m_maxFrameSize));
    if (bufferedBytes() < FrameHeaderSize + qsizetype(length))
        return Status::NeedMore;

    const QByteArray payload =
        QByteArray::fromRawData(m_buffer.constData() + m_offset + FrameHeaderSize, qsizetype(length));
    QCborStreamReader reader(payload);
    const QCborValue value = QCborValue::fromCbor(reader);
    if (reader.lastError() != QCborError::NoError)
        return fail(QStringLiteral("frame is not valid CBOR: %1").arg(reader.lastError().toString()));
    if (reader.currentOffset() != payload.size())
        return fail(QStringLiteral("frame has %1 bytes after its CBOR value").arg(payload.size() - reader.currentOffset()));
    if (!value.isMap())
        return fail(QStringLiteral("frame is not a CBOR map"));
    *message = value.toMap();
    if (!message->value(QLatin1String("t")).isString())
        return fail(QStringLiteral("frame has no string field \"t\" naming its type"));
    m_offset += FrameHeaderSize + qsizetype(length);
    return Status::Frame;
}

} // namespace taskfleet::protocol
