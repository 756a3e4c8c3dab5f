// SPDX-License-Identifier: MIT
// Length-prefixed CBOR frames: the one framing used on every Taskfleet connection.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QCborMap>
#include <QtCore/QCborStreamWriter>
#include <QtCore/QIODevice>
#include <QtCore/QString>
#include <QtCore/QVector>

#include <functional>

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
 * MaxFrameSize, in one buffer so it goes out in one write. The map is encoded straight into \a out: a big
 * value in it is copied once.
 */
void appendFrame(QByteArray &out, const QCborMap &message);

/**
 * Appends one frame whose payload \a write encodes (exactly one CBOR map) straight into \a out, as
 * continued frames when it is larger than MaxFrameSize. For hot messages with big values: encoding them
 * with a QCborStreamWriter saves the copy a QCborMap makes of each value put in it.
 */
void appendFrameWith(QByteArray &out, const std::function<void(QCborStreamWriter &)> &write);

/** The CBOR size of what \a write encodes, counted without holding it. */
qint64 encodedSize(const std::function<void(QCborStreamWriter &)> &write);

/**
 * Writes the message \a write encodes to \a device as frames (continued frames past MaxFrameSize) of
 * \a payloadSize bytes in all (encodedSize()), a MiB at a time: a big message is never held whole.
 * Returns false if a write failed.
 */
bool writeFramesStreamed(QIODevice *device, qint64 payloadSize, const std::function<void(QCborStreamWriter &)> &write);

/**
 * The same, handing the bytes to \a sink: a big string's from where it lies, valid only during the call (the
 * sink copies what it keeps). The message is counted first (encodedSize()), then written.
 */
void writeFramesStreamed(const std::function<void(const char *data, qint64 size)> &sink,
                         const std::function<void(QCborStreamWriter &)> &write);

/** The same for a map already encoded as CBOR. */
void appendEncodedFrame(QByteArray &out, const QByteArray &cbor);

/**
 * A cheap upper bound of \a value's CBOR size, without encoding it: a string counts its bytes as stored,
 * read in place (no QString, no copy), plus 9 for its head. Used to close batches by bytes and to find
 * values that may be over MaxValueSize.
 */
qint64 cborSizeBound(const QCborValue &value);

/** The CBOR size of \a value: the cheap bound, or when that is above \a limit the exact size (counted, not stored). */
qint64 cborSizeIfOver(const QCborValue &value, qint64 limit);

/** Returns one encoded frame. */
QByteArray encodeFrame(const QCborMap &message);

/**
 * Incremental decoder for a byte stream of frames.
 *
 * Feed bytes with append() (or read them straight into payloadSpace() and commit() them), then call
 * next() until it returns NeedMore. Each frame's payload goes into a buffer sized from its length prefix,
 * so a big frame is copied once on its way in: never front-erased from a growing buffer nor scanned again
 * as more bytes arrive. After an Error the decoder stays in error: the stream cannot be resynchronised
 * and the connection must be closed. Not thread-safe; one decoder per connection.
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

    /**
     * Where the rest of the payload being received may be written directly (a read() into it saves the
     * copy append() makes); *size is how many bytes it still wants, 0 (and null) between frames, when
     * append() must be used. Call commit() with the number of bytes written there.
     */
    char *payloadSpace(qsizetype *size);
    void commit(qsizetype written);

    Status next(QCborMap *message);

    QString errorString() const { return m_error; }
    bool hasError() const { return !m_error.isEmpty(); }
    /** Bytes received and not yet returned by next() (complete frames waiting, and the partial one). */
    qsizetype bufferedBytes() const { return m_bufferedBytes; }
    /** Length announced by the frame being received, or 0 when between frames. */
    quint32 pendingFrameSize() const { return m_headerHave == FrameHeaderSize ? m_frameLength : 0; }
    quint32 maxFrameSize() const { return m_maxFrameSize; }

private:
    Status fail(const QString &reason);
    bool startFrame(); // the header is complete: check it and size the payload buffer
    void finishFrame();

    struct Message {
        QByteArray payload; ///< one frame's payload, or the joined payloads of continued frames
        qsizetype wireBytes = 0;
    };

    quint32 m_maxFrameSize;
    qint64 m_maxMessageSize;
    char m_header[FrameHeaderSize] = {};
    int m_headerHave = 0;
    quint32 m_frameLength = 0;
    bool m_frameContinued = false;
    QByteArray m_payload;        ///< the message being received, sized from the headers seen so far
    qsizetype m_payloadHave = 0; ///< bytes of m_payload filled
    qsizetype m_messageWire = 0; ///< bytes of the message being received so far, headers included
    QVector<Message> m_ready;    ///< complete messages not yet decoded, oldest first from m_readyAt
    qsizetype m_readyAt = 0;
    qsizetype m_bufferedBytes = 0;
    QString m_pendingError; ///< a broken header seen by append(), reported by next() after the frames before it
    QString m_error;
};

} // namespace taskfleet::protocol
