// SPDX-License-Identifier: MIT
// Length-prefixed CBOR frames: the one framing used on every Taskfleet connection.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QCborMap>
#include <QtCore/QString>

namespace taskfleet::protocol {

/** Largest frame any peer may send (plugin uploads are the largest frames). */
constexpr quint32 MaxFrameSize = 64u * 1024u * 1024u;

/** Size of the big-endian length prefix in front of every frame. */
constexpr int FrameHeaderSize = 4;

/** Appends one frame (length prefix + CBOR map) to \a out, in one buffer so it goes out in one write. */
void appendFrame(QByteArray &out, const QCborMap &message);

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

    explicit FrameDecoder(quint32 maxFrameSize = MaxFrameSize);

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
    QString m_error;
};

} // namespace taskfleet::protocol
