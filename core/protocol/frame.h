// SPDX-License-Identifier: MIT
// Length-prefixed CBOR frames: the one framing used on every Taskfleet connection.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QCborMap>
#include <QtCore/QString>

namespace taskfleet::protocol {

/** Largest frame any peer may send. A bigger message travels as several frames (see ContinuedFrameBit). */
constexpr quint32 MaxFrameSize = 64u * 1024u * 1024u;

/**
 * Largest message (one CBOR map) a peer may send, in one frame or several. It holds one task input or
 * output of MaxValueSize plus the rest of its batch.
 */
constexpr qint64 MaxMessageSize = qint64(320) * 1024 * 1024;

/** Largest single task input or output; bigger ones end that task with an error naming its size. */
constexpr qint64 MaxValueSize = qint64(256) * 1024 * 1024;

/**
 * Batches (tasks to a node or worker, results back) close at this many bytes of values, so one frame
 * never gathers many big values; a single value above it travels alone.
 */
constexpr qint64 BatchByteBudget = qint64(8) * 1024 * 1024;

/**
 * Set in a length prefix: this frame's payload continues in the next frame. A message larger than
 * MaxFrameSize is cut into frames of at most MaxFrameSize bytes, all but the last carrying this bit;
 * the receiver joins the payloads (at most MaxMessageSize bytes) and decodes one CBOR map.
 */
constexpr quint32 ContinuedFrameBit = 0x80000000u;

/** Size of the big-endian length prefix in front of every frame. */
constexpr int FrameHeaderSize = 4;

/**
 * Appends one message (CBOR map) to \a out as one frame, or as continued frames when it is larger than
 * MaxFrameSize, in one buffer so it goes out in one write.
 */
void appendFrame(QByteArray &out, const QCborMap &message);

/** The same for a map already encoded as CBOR. */
void appendEncodedFrame(QByteArray &out, const QByteArray &cbor);

/**
 * A cheap upper bound of \a value's CBOR size, without encoding it (strings count 3 bytes per UTF-16 unit).
 * Used to close batches by bytes and to find values that may be over MaxValueSize.
 */
qint64 cborSizeBound(const QCborValue &value);

/** The exact CBOR size of \a value, encoding it only when the cheap bound is above \a limit. */
qint64 cborSizeIfOver(const QCborValue &value, qint64 limit);

/** Returns one encoded frame. */
QByteArray encodeFrame(const QCborMap &message);

/**
 * Incremental decoder for a byte stream of frames.
 *
 * Feed bytes with append(), then call next() until it returns NeedMore. After an Error the
 * decoder stays in error: the stream cannot be resynchronised and the connection must be closed.
 * Not thread-safe; one decoder per connection.
 */
class FrameDecoder
{
public:
    enum class Status {
        Frame,    ///< *message holds the next frame
        NeedMore, ///< no complete frame buffered
        Error,    ///< the stream is broken; errorString() says why
    };

    /**
     * \a maxFrameSize bounds each frame; \a maxMessageSize (default: MaxMessageSize for the standard frame
     * size, else the frame size itself) bounds what continued frames may join to.
     */
    explicit FrameDecoder(quint32 maxFrameSize = MaxFrameSize, qint64 maxMessageSize = -1);

    void append(const char *data, qsizetype size);
    void append(const QByteArray &data) { append(data.constData(), data.size()); }

    Status next(QCborMap *message);

    QString errorString() const { return m_error; }
    bool hasError() const { return !m_error.isEmpty(); }
    qsizetype bufferedBytes() const { return m_buffer.size() - m_offset; }
    /** Length announced by the frame being received, or 0 when between frames. */
    quint32 pendingFrameSize() const;
    quint32 maxFrameSize() const { return m_maxFrameSize; }

private:
    Status fail(const QString &reason);

    QByteArray m_buffer;
    qsizetype m_offset = 0;
    quint32 m_maxFrameSize;
    qint64 m_maxMessageSize;
    QByteArray m_joined; ///< payloads of continued frames received so far
    QString m_error;
};

} // namespace taskfleet::protocol
