// SPDX-License-Identifier: MIT
#include "cborstring.h"

#include <QtCore/QCborStreamReader>
#include <QtCore/QCborStreamWriter>
#include <QtCore/QIODevice>
#include <QtCore/QLatin1String>

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// A CBOR head followed by bytes that stay where they are: the decoder copies them once, into the value.
class PrefixedDevice final : public QIODevice
{
public:
    PrefixedDevice(const QByteArray &head, const char *data, qsizetype size)
        : m_head(head)
        , m_data(data)
        , m_size(size)
    {
        open(QIODevice::ReadOnly | QIODevice::Unbuffered);
    }
    bool isSequential() const override { return false; }
    qint64 size() const override { return m_head.size() + m_size; }

protected:
    qint64 readData(char *to, qint64 max) override
    {
        qint64 at = pos();
        qint64 done = 0;
        if (at < m_head.size() && done < max) {
            const qint64 n = std::min<qint64>(max - done, m_head.size() - at);
            std::memcpy(to + done, m_head.constData() + at, size_t(n));
            done += n;
            at += n;
        }
        if (done < max && at < size()) {
            const qint64 n = std::min<qint64>(max - done, size() - at);
            std::memcpy(to + done, m_data + (at - m_head.size()), size_t(n));
            done += n;
        }
        return done;
    }
    qint64 writeData(const char *, qint64) override { return -1; }

private:
    QByteArray m_head;
    const char *m_data;
    qsizetype m_size;
};

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
#if defined(__SSE2__)
    // 32 bytes a step: a big string is scanned when it is read from a job file and again when its result
    // is written, so this should run at close to memory speed.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i control = _mm_set1_epi8(0x1f);
    const auto specials = [&](__m128i v) {
        // v <= 0x1f as unsigned bytes: min(v, 0x1f) == v.
        const __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, control), v);
        return _mm_or_si128(low, _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    };
    while (to - from >= 32) {
        const __m128i a = specials(_mm_loadu_si128(reinterpret_cast<const __m128i *>(from)));
        const __m128i b = specials(_mm_loadu_si128(reinterpret_cast<const __m128i *>(from + 16)));
        const unsigned mask = unsigned(_mm_movemask_epi8(a)) | (unsigned(_mm_movemask_epi8(b)) << 16);
        if (mask != 0)
            return from + __builtin_ctz(mask);
        from += 32;
    }
#endif
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
    // refuses invalid sequences. It reads a text-string head and then the bytes where they are.
    // The head of a CBOR text string (major type 3) of size bytes.
    QByteArray head;
    const quint64 n = quint64(size);
    const int extra = n < 24 ? 0 : n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffffULL ? 4 : 8;
    head.append(char(0x60 | (extra == 0 ? int(n) : extra == 1 ? 24 : extra == 2 ? 25 : extra == 4 ? 26 : 27)));
    for (int i = extra - 1; i >= 0; --i)
        head.append(char(uchar(n >> (8 * i))));
    PrefixedDevice device(head, data, size);
    QCborStreamReader reader(&device);
    QCborValue v = QCborValue::fromCbor(reader);
    if (reader.lastError() != QCborError::NoError || !v.isString())
        return false;
    *out = std::move(v);
    return true;
}

} // namespace taskfleet::util
