// SPDX-License-Identifier: MIT
#include "cborstring.h"

#include <QtCore/QCborStreamReader>
#include <QtCore/QCborStreamWriter>
#include <QtCore/QIODevice>
#include <QtCore/QLatin1String>

#include <cstring>

namespace taskfleet::util {

namespace {

// Receives what QCborStreamWriter writes for one string value and hands on what follows its head: the
// string's bytes as stored. The writer is the only public way to reach them without a QString or a copy.
class StringBytesDevice final : public QIODevice
{
public:
    StringBytesDevice() { open(QIODevice::WriteOnly | QIODevice::Unbuffered); }
    bool isSequential() const override { return true; }

    void begin(const std::function<void(const char *, qsizetype)> *sink)
    {
        m_sink = sink;
        m_headLeft = -1;
    }

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *data, qint64 len) override
    {
        const qint64 total = len;
        while (len > 0 && m_headLeft != 0) {
            if (m_headLeft < 0) {
                const unsigned info = uchar(*data) & 0x1f; // the head's additional information
                m_headLeft = info < 24 ? 1 : info == 24 ? 2 : info == 25 ? 3 : info == 26 ? 5 : 9;
            }
            const qint64 skip = std::min<qint64>(len, m_headLeft);
            data += skip;
            len -= skip;
            m_headLeft -= int(skip);
        }
        if (len > 0 && m_sink)
            (*m_sink)(data, qsizetype(len));
        return total;
    }

private:
    const std::function<void(const char *, qsizetype)> *m_sink = nullptr;
    int m_headLeft = -1;
};

struct StringBytesWriter {
    StringBytesDevice device;
    QCborStreamWriter writer {&device};
};

bool isAscii(const char *data, qsizetype size)
{
    // Eight bytes at a time: a big value is scanned at memory speed.
    qsizetype i = 0;
    for (; i + 8 <= size; i += 8) {
        quint64 word;
        std::memcpy(&word, data + i, 8);
        if (word & 0x8080808080808080ULL)
            return false;
    }
    for (; i < size; ++i)
        if (uchar(data[i]) >= 0x80)
            return false;
    return true;
}

} // namespace

void forEachStringChunk(const QCborValue &value, const std::function<void(const char *, qsizetype)> &sink)
{
    if (!value.isString() && !value.isByteArray())
        return;
    // One per thread, reused: this runs once per task on hot paths.
    thread_local StringBytesWriter w;
    w.device.begin(&sink);
    value.toCbor(w.writer);
    w.device.begin(nullptr);
}

qint64 stringByteSize(const QCborValue &value)
{
    qint64 n = 0;
    forEachStringChunk(value, [&n](const char *, qsizetype size) { n += size; });
    return n;
}

const char *findJsonSpecial(const char *from, const char *to)
{
    constexpr quint64 Ones = 0x0101010101010101ULL;
    constexpr quint64 Highs = 0x8080808080808080ULL;
    auto hasZero = [](quint64 v) { return (v - Ones) & ~v & Highs; };
    while (to - from >= 8) {
        quint64 w;
        std::memcpy(&w, from, 8);
        // A byte below 0x20 (as unsigned: 0x80 and up excluded), a '"' or a '\\' somewhere in these eight?
        const quint64 below = (w - Ones * 0x20) & ~w & Highs;
        if (below | hasZero(w ^ (Ones * '"')) | hasZero(w ^ (Ones * '\\')))
            break;
        from += 8;
    }
    while (from < to && uchar(*from) >= 0x20 && *from != '"' && *from != '\\')
        ++from;
    return from;
}

bool textFromUtf8(const char *data, qsizetype size, QCborValue *out)
{
    if (isAscii(data, size)) {
        *out = QCborValue(QLatin1String(data, size)); // held as US-ASCII bytes: one copy
        return true;
    }
    // Non-ASCII: through the CBOR decoder, which keeps UTF-8 as UTF-8 (a QString would double it) and
    // refuses invalid sequences.
    QByteArray cbor;
    cbor.reserve(size + 9);
    {
        QCborStreamWriter writer(&cbor);
        writer.appendTextString(data, size);
    }
    QCborStreamReader reader(cbor);
    QCborValue v = QCborValue::fromCbor(reader);
    if (reader.lastError() != QCborError::NoError || !v.isString())
        return false;
    *out = std::move(v);
    return true;
}

} // namespace taskfleet::util
