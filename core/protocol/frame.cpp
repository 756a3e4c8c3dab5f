// SPDX-License-Identifier: MIT
#include "frame.h"

#include "util/allocator.h"
#include "util/cborstring.h"

#include <QtCore/QBuffer>
#include <QtCore/QCborStreamReader>
#include <QtCore/QCborStreamWriter>
#include <QtCore/QCborValue>
#include <QtCore/QCborArray>
#include <QtCore/QtEndian>

#include <algorithm>
#include <cstring>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

namespace taskfleet::protocol {

namespace {

// Counts what a QCborStreamWriter writes: the exact encoded size of a value, with no copy of it.
class CountingDevice final : public QIODevice
{
public:
    CountingDevice() { open(QIODevice::WriteOnly | QIODevice::Unbuffered); }
    bool isSequential() const override { return true; }
    qint64 count = 0;

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *, qint64 len) override
    {
        count += len;
        return len;
    }
};

// Hands a payload to QCborStreamReader and gives the memory of what it has read back to the system as it
// goes (whole pages, well behind the read position: the reader only peeks a few bytes ahead and back).
// The pages then read as zeros, but nothing reads them again: the payload is dropped after decoding.
class ReleasingDevice final : public QIODevice
{
public:
    static constexpr qsizetype MinPayload = 16 * 1024 * 1024;

    explicit ReleasingDevice(const QByteArray *payload)
        : m_payload(payload)
    {
        open(QIODevice::ReadOnly | QIODevice::Unbuffered);
    }
    bool isSequential() const override { return false; }
    qint64 size() const override { return m_payload->size(); }

protected:
    qint64 readData(char *to, qint64 max) override
    {
        const qint64 at = pos();
        const qint64 n = std::max<qint64>(0, std::min<qint64>(max, m_payload->size() - at));
        for (qint64 done = 0; done < n;) {
            const qint64 step = std::min<qint64>(n - done, Step);
            std::memcpy(to + done, m_payload->constData() + at + done, size_t(step));
            done += step;
            release(at + done);
        }
        return n;
    }
    qint64 writeData(const char *, qint64) override { return -1; }

private:
    static constexpr qint64 Step = 1024 * 1024;
    static constexpr qint64 Margin = 1024 * 1024;

    void release(qint64 readUpTo)
    {
        static const quintptr page = quintptr(::sysconf(_SC_PAGESIZE));
        const quintptr base = quintptr(m_payload->constData());
        const quintptr from = (base + quintptr(m_released) + page - 1) & ~(page - 1);
        if (readUpTo < Margin + Step)
            return;
        const quintptr to = (base + quintptr(readUpTo - Margin)) & ~(page - 1);
        if (to < from + quintptr(Step))
            return;
        ::madvise(reinterpret_cast<void *>(from), to - from, MADV_DONTNEED);
        m_released = qint64(to - base);
    }

    const QByteArray *m_payload;
    qint64 m_released = 0;
};

qint64 exactCborSize(const QCborValue &value)
{
    CountingDevice device;
    QCborStreamWriter writer(&device);
    value.toCbor(writer);
    return device.count;
}

} // namespace

void appendFrame(QByteArray &out, const QCborMap &message)
{
    appendFrameWith(out, [&message](QCborStreamWriter &writer) { message.toCborValue().toCbor(writer); });
}

void appendFrameWith(QByteArray &out, const std::function<void(QCborStreamWriter &)> &write)
{
    const qsizetype start = out.size();
    out.append(FrameHeaderSize, '\0');
    {
        // Encoded straight into out (QCborStreamWriter's own QByteArray constructor would write from its start).
        QBuffer device(&out);
        device.open(QIODevice::WriteOnly | QIODevice::Unbuffered);
        device.seek(out.size());
        QCborStreamWriter writer(&device);
        write(writer);
    }
    const qsizetype length = out.size() - start - FrameHeaderSize;
    if (length <= qsizetype(MaxFrameSize)) {
        qToBigEndian<quint32>(quint32(length), out.data() + start);
        return;
    }
    // Too big for one frame (over 64 MiB, rare): re-lay it as continued frames.
    const QByteArray cbor = out.mid(start + FrameHeaderSize);
    out.truncate(start);
    appendEncodedFrame(out, cbor);
}

namespace {

// Frames what a QCborStreamWriter writes (payloadSize bytes in all) and hands it to a device a MiB at a time.
class FramingDevice final : public QIODevice
{
public:
    FramingDevice(QIODevice *sink, qint64 payloadSize)
        : m_sink(sink)
        , m_left(payloadSize)
    {
        open(QIODevice::WriteOnly | QIODevice::Unbuffered);
    }
    bool isSequential() const override { return true; }
    bool finish()
    {
        pass();
        return m_ok && m_left == 0 && m_frameLeft == 0;
    }

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *data, qint64 len) override
    {
        const qint64 total = len;
        while (len > 0 && m_ok) {
            if (m_frameLeft == 0) {
                if (m_left <= 0) {
                    m_ok = false; // more than was counted
                    break;
                }
                m_frameLeft = std::min<qint64>(m_left, MaxFrameSize);
                m_left -= m_frameLeft;
                char head[FrameHeaderSize];
                qToBigEndian<quint32>(quint32(m_frameLeft) | (m_left > 0 ? ContinuedFrameBit : 0u), head);
                m_buffer.append(head, FrameHeaderSize);
            }
            const qint64 n = std::min(len, m_frameLeft);
            if (n >= Piece) {
                // A big string's bytes go to the device from where they are, after what was gathered.
                pass();
                m_ok = m_ok && m_sink->write(data, n) == n;
            } else {
                m_buffer.append(data, qsizetype(n));
                if (m_buffer.size() >= Piece)
                    pass();
            }
            data += n;
            len -= n;
            m_frameLeft -= n;
        }
        return total;
    }

private:
    static constexpr qsizetype Piece = 1024 * 1024;

    void pass()
    {
        if (m_buffer.isEmpty() || !m_ok)
            return;
        m_ok = m_sink->write(m_buffer) == m_buffer.size();
        m_buffer.resize(0);
    }

    QIODevice *m_sink;
    qint64 m_left;
    qint64 m_frameLeft = 0;
    QByteArray m_buffer;
    bool m_ok = true;
};

} // namespace

qint64 encodedSize(const std::function<void(QCborStreamWriter &)> &write)
{
    CountingDevice device;
    QCborStreamWriter writer(&device);
    write(writer);
    return device.count;
}

bool writeFramesStreamed(QIODevice *device, qint64 payloadSize, const std::function<void(QCborStreamWriter &)> &write)
{
    FramingDevice framing(device, payloadSize);
    {
        QCborStreamWriter writer(&framing);
        write(writer);
    }
    return framing.finish();
}

namespace {
/** Hands what is written to a function, unbuffered. */
class SinkDevice final : public QIODevice
{
public:
    explicit SinkDevice(const std::function<void(const char *, qint64)> &sink)
        : m_sink(sink)
    {
        open(QIODevice::WriteOnly | QIODevice::Unbuffered);
    }
    bool isSequential() const override { return true; }

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *data, qint64 len) override
    {
        m_sink(data, len);
        return len;
    }

private:
    const std::function<void(const char *, qint64)> &m_sink;
};
} // namespace

void writeFramesStreamed(const std::function<void(const char *data, qint64 size)> &sink,
                         const std::function<void(QCborStreamWriter &)> &write)
{
    SinkDevice device(sink);
    writeFramesStreamed(&device, encodedSize(write), write);
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
    case QCborValue::String:
        return 9 + util::stringByteSize(value); // read in place: no QString, no copy
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
    if (bound <= limit || value.isByteArray() || value.isString())
        return bound;            // a string's bound is exact to the head's few bytes
    return exactCborSize(value); // counted as encoded, never held
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

bool FrameDecoder::startFrame()
{
    const quint32 word = qFromBigEndian<quint32>(m_header);
    const quint32 length = word & ~ContinuedFrameBit;
    const bool continued = word & ContinuedFrameBit;
    const bool joining = m_messageWire > 0; // earlier frames of this message carried the continued bit
    if (length == 0)
        m_pendingError = QStringLiteral("empty frame");
    else if (length > m_maxFrameSize)
        m_pendingError
            = QStringLiteral("frame of %1 bytes exceeds the limit of %2 bytes").arg(length).arg(m_maxFrameSize);
    else if ((continued || joining) && m_payload.size() + qint64(length) > m_maxMessageSize)
        m_pendingError
            = QStringLiteral("message of more than %1 bytes in continued frames exceeds the limit of %2 bytes")
                  .arg(m_payload.size() + qint64(length))
                  .arg(m_maxMessageSize);
    if (!m_pendingError.isEmpty())
        return false;
    m_frameLength = length;
    m_frameContinued = continued;
    // Sized from the header: the payload is written once, in place (continued frames extend it; a big
    // QByteArray grows by remapping, not copying).
    if (m_payload.isEmpty()) {
        m_payload = QByteArray(qsizetype(length), Qt::Uninitialized);
        util::adviseHugePages(m_payload.data(), length);
    } else
        m_payload.resize(m_payload.size() + qsizetype(length));
    m_messageWire += FrameHeaderSize;
    return true;
}

void FrameDecoder::finishFrame()
{
    m_messageWire += qsizetype(m_frameLength);
    m_headerHave = 0;
    m_frameLength = 0;
    if (m_frameContinued)
        return; // the message goes on in the next frame
    m_ready.append(Message {std::exchange(m_payload, QByteArray()), m_messageWire});
    m_payloadHave = 0;
    m_messageWire = 0;
}

char *FrameDecoder::payloadSpace(qsizetype *size)
{
    if (hasError() || !m_pendingError.isEmpty() || m_headerHave < FrameHeaderSize) {
        *size = 0;
        return nullptr;
    }
    *size = m_payload.size() - m_payloadHave;
    return m_payload.data() + m_payloadHave;
}

void FrameDecoder::commit(qsizetype written)
{
    Q_ASSERT(m_headerHave == FrameHeaderSize && written <= m_payload.size() - m_payloadHave);
    m_payloadHave += written;
    m_bufferedBytes += written;
    if (m_payloadHave == m_payload.size())
        finishFrame();
}

void FrameDecoder::append(const char *data, qsizetype size)
{
    if (hasError() || !m_pendingError.isEmpty())
        return;
    while (size > 0) {
        if (m_headerHave < FrameHeaderSize) {
            const qsizetype take = std::min<qsizetype>(size, FrameHeaderSize - m_headerHave);
            std::memcpy(m_header + m_headerHave, data, size_t(take));
            m_headerHave += int(take);
            m_bufferedBytes += take;
            data += take;
            size -= take;
            if (m_headerHave == FrameHeaderSize && !startFrame())
                return; // next() reports it after the frames before it
            continue;
        }
        const qsizetype take = std::min<qsizetype>(size, m_payload.size() - m_payloadHave);
        std::memcpy(m_payload.data() + m_payloadHave, data, size_t(take));
        data += take;
        size -= take;
        commit(take);
    }
}

FrameDecoder::Status FrameDecoder::fail(const QString &reason)
{
    m_error = reason;
    m_payload = QByteArray();
    m_ready.clear();
    m_readyAt = 0;
    m_bufferedBytes = 0;
    return Status::Error;
}

FrameDecoder::Status FrameDecoder::next(QCborMap *message)
{
    if (hasError())
        return Status::Error;
    if (m_readyAt == m_ready.size()) {
        if (!m_pendingError.isEmpty())
            return fail(m_pendingError);
        return Status::NeedMore;
    }
    Message ready = std::move(m_ready[m_readyAt++]);
    if (m_readyAt == m_ready.size()) {
        m_ready.clear(); // keeps its capacity
        m_readyAt = 0;
    }
    m_bufferedBytes -= ready.wireBytes;
    const QByteArray &payload = ready.payload;
    // A big payload is decoded through a device that gives back the pages already read: the value is built
    // while the payload goes, so a big message is never held twice in full.
    // A smaller one is read in place: the reader shares the payload (addData() would copy it).
    ReleasingDevice device(&payload);
    QCborStreamReader reader(payload.size() >= ReleasingDevice::MinPayload ? QByteArray() : payload);
    if (payload.size() >= ReleasingDevice::MinPayload)
        reader.setDevice(&device);
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
    return Status::Frame;
}

} // namespace taskfleet::protocol
