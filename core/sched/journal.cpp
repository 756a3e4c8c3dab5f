// SPDX-License-Identifier: MIT
#include "journal.h"

#include "jobfile.h"
#include "protocol/frame.h"
#include "util/cborinteger.h"

#include <QtCore/QCborArray>
#include <QtCore/QCborStreamReader>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QtEndian>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace taskfleet::sched {

namespace {
// /3: records carry a marker, their length and CRC-32C checksums (below), so a damaged record is found and
// skipped instead of ending the journal there. Readers of /1 and /2 refuse /3 ("not a Taskfleet journal").
// /2: a job's inputs may be a range (three numbers) or continue in "in" records; a reader of /1 refuses it.
// This reader reads all three.
const QString Magic = QStringLiteral("taskfleet-journal/3");
const QString MagicV2 = QStringLiteral("taskfleet-journal/2");
const QString MagicV1 = QStringLiteral("taskfleet-journal/1");
const QString MagicPrefix = QStringLiteral("taskfleet-journal/");
// A record may be much larger than a frame (a result with a big value, many big inputs).
constexpr quint32 MaxRecordSize = 1u << 30;
// A job's inputs go in records of at most this many values ("job" holds the first, "in" records the rest), so
// journaling a job of millions of lines never builds one record of them all...
constexpr qsizetype InputsPerRecord = 65536;
// ... and of about this many bytes (a bigger value goes alone), so big inputs never make a record too big.
constexpr qint64 InputsRecordBytes = 16 * 1024 * 1024;
// Records above this size are written to the file in pieces as they are encoded, never held whole.
constexpr qint64 StreamedRecordSize = 1024 * 1024;

// A format-3 record: the marker, the payload's length (big-endian), its kind, three zero bytes and the
// CRC-32C of these 12 bytes; the payload (one CBOR map); the length again and the payload's CRC-32C.
// The head's own checksum lets a reader that lost its place (a damaged record) tell a real record head
// from bytes that look like one; the tail's lets it read a record whose head alone was damaged.
constexpr char RecordMarker[4] = {'\xFE', 'T', 'F', 'J'};
constexpr int RecordHeadSize = 16;
constexpr int RecordTailSize = 8;
constexpr char KindJob = 'J';
constexpr char KindInputs = 'I';
constexpr char KindResults = 'R';
constexpr char KindEnd = 'E';
constexpr char KindUnknown = '?';
// A region of bytes between two records is checked for a record whose head alone is damaged up to this size.
constexpr qint64 SalvageMax = 64 * 1024 * 1024;
constexpr qint64 ReadChunk = 4 * 1024 * 1024;

// CRC-32C (Castagnoli), eight bytes a step (about 1.5 GB/s): the checksum of every format-3 record.
struct Crc32cTable {
    quint32 t[8][256];
};

constexpr Crc32cTable makeCrc32cTable()
{
    Crc32cTable table {};
    for (quint32 i = 0; i < 256; ++i) {
        quint32 c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table.t[0][i] = c;
    }
    for (int s = 1; s < 8; ++s)
        for (quint32 i = 0; i < 256; ++i)
            table.t[s][i] = (table.t[s - 1][i] >> 8) ^ table.t[0][table.t[s - 1][i] & 0xFF];
    return table;
}

constexpr Crc32cTable Crc = makeCrc32cTable();

quint32 crc32c(quint32 crc, const char *data, qint64 size)
{
    const auto *p = reinterpret_cast<const uchar *>(data);
    quint32 c = ~crc;
    for (; size >= 8; p += 8, size -= 8) {
        const quint32 lo = (quint32(p[0]) | quint32(p[1]) << 8 | quint32(p[2]) << 16 | quint32(p[3]) << 24) ^ c;
        const quint32 hi = quint32(p[4]) | quint32(p[5]) << 8 | quint32(p[6]) << 16 | quint32(p[7]) << 24;
        c = Crc.t[7][lo & 0xFF] ^ Crc.t[6][(lo >> 8) & 0xFF] ^ Crc.t[5][(lo >> 16) & 0xFF] ^ Crc.t[4][lo >> 24]
            ^ Crc.t[3][hi & 0xFF] ^ Crc.t[2][(hi >> 8) & 0xFF] ^ Crc.t[1][(hi >> 16) & 0xFF] ^ Crc.t[0][hi >> 24];
    }
    for (; size > 0; ++p, --size)
        c = (c >> 8) ^ Crc.t[0][(c ^ *p) & 0xFF];
    return ~c;
}

void putRecordHead(char *out, quint32 length, char kind)
{
    std::memcpy(out, RecordMarker, 4);
    qToBigEndian<quint32>(length, out + 4);
    out[8] = kind;
    out[9] = out[10] = out[11] = 0;
    qToBigEndian<quint32>(crc32c(0, out, 12), out + 12);
}

void putRecordTail(char *out, quint32 length, quint32 crc)
{
    qToBigEndian<quint32>(length, out);
    qToBigEndian<quint32>(crc, out + 4);
}

struct RecordHead {
    quint32 length = 0;
    char kind = KindUnknown;
};

bool parseRecordHead(const char *p, RecordHead *head)
{
    if (std::memcmp(p, RecordMarker, 4) != 0 || p[9] != 0 || p[10] != 0 || p[11] != 0
        || qFromBigEndian<quint32>(p + 12) != crc32c(0, p, 12))
        return false;
    head->length = qFromBigEndian<quint32>(p + 4);
    head->kind = p[8];
    return head->length <= MaxRecordSize;
}

QString kindName(char kind)
{
    switch (kind) {
    case KindJob:
        return QStringLiteral("a job");
    case KindInputs:
        return QStringLiteral("a job's inputs");
    case KindResults:
        return QStringLiteral("results");
    case KindEnd:
        return QStringLiteral("a job's end");
    default:
        return QStringLiteral("of unknown kind");
    }
}

char kindOfType(const QString &type)
{
    if (type == QLatin1String("job"))
        return KindJob;
    if (type == QLatin1String("in"))
        return KindInputs;
    if (type == QLatin1String("res"))
        return KindResults;
    if (type == QLatin1String("end"))
        return KindEnd;
    return KindUnknown;
}

// Decodes one CBOR map that fills \a size bytes exactly; false with *why otherwise. The parse error is checked
// before the value is used: a value QCborValue::fromCbor() made of malformed bytes is not safe to read.
bool decodeMap(const char *data, qint64 size, QCborMap *map, QString *why)
{
    QCborStreamReader reader(QByteArray::fromRawData(data, qsizetype(size)));
    const QCborValue value = QCborValue::fromCbor(reader);
    if (reader.lastError() != QCborError::NoError) {
        *why = QStringLiteral("not valid CBOR (%1)").arg(reader.lastError().toString());
        return false;
    }
    if (reader.currentOffset() != size) {
        *why = QStringLiteral("%1 bytes after its CBOR value").arg(size - reader.currentOffset());
        return false;
    }
    if (!value.isMap()) {
        *why = QStringLiteral("not a CBOR map");
        return false;
    }
    *map = value.toMap();
    return true;
}

// The header every journal starts with: one frame of the older formats' framing, so their readers read it
// and refuse the journal by its magic.
QByteArray headerFrame(const QString &magic)
{
    QCborMap header;
    header.insert(QStringLiteral("t"), QStringLiteral("journal"));
    header.insert(QStringLiteral("magic"), magic);
    return protocol::encodeFrame(header);
}

// What a stat() says a path is, for "is not a regular file" messages.
QString fileKind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return QStringLiteral("a FIFO");
    if (S_ISDIR(mode))
        return QStringLiteral("a folder");
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return QStringLiteral("a device");
    if (S_ISSOCK(mode))
        return QStringLiteral("a socket");
    return QStringLiteral("not a regular file");
}

// Opens \a path without ever blocking (a FIFO would block open() until another process opens it) and only
// if it is a regular file; -1 with *error otherwise.
int openRegularFile(const QString &path, int flags, QString *error, const char *verb)
{
    const QByteArray native = QFile::encodeName(path);
    const int fd = ::open(native.constData(), flags | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0) {
        const int e = errno;
        struct stat st {
        };
        if (::stat(native.constData(), &st) == 0 && !S_ISREG(st.st_mode)) // a folder, a FIFO with no reader
            *error = QStringLiteral("cannot use %1 as a journal: it is %2, not a regular file")
                         .arg(path, fileKind(st.st_mode));
        else
            *error = QStringLiteral("cannot %1 journal %2: %3").arg(QLatin1String(verb), path, qt_error_string(e));
        return -1;
    }
    struct stat st {
    };
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *error = QStringLiteral("cannot use %1 as a journal: it is %2, not a regular file")
                     .arg(path, fileKind(st.st_mode));
        ::close(fd);
        return -1;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

// Writes all of \a data. QFile reports a write that a full disk cut short as a short count with no reason: the
// rest is written again, and the write that fails then says why.
bool writeAll(QIODevice *file, const char *data, qint64 size, QString *reason)
{
    while (size > 0) {
        const qint64 n = file->write(data, size);
        if (n <= 0) {
            *reason = file->errorString();
            return false;
        }
        data += n;
        size -= n;
    }
    return true;
}

// Keeps what a QCborStreamWriter writes while it stays within a limit, and counts it all: a small record is
// encoded once, a big one is only counted here and encoded again straight to the file.
class LimitedBuffer final : public QIODevice
{
public:
    LimitedBuffer(QByteArray *out, qint64 limit)
        : m_out(out)
        , m_limit(limit)
    {
        open(QIODevice::WriteOnly | QIODevice::Unbuffered);
    }
    bool isSequential() const override { return true; }
    qint64 count = 0;

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *data, qint64 len) override
    {
        count += len;
        if (count <= m_limit)
            m_out->append(data, qsizetype(len));
        return len;
    }

private:
    QByteArray *m_out;
    qint64 m_limit;
};

// Passes what a QCborStreamWriter writes to a file a MiB at a time, with the CRC-32C and count of it all.
class ChecksummingSink final : public QIODevice
{
public:
    explicit ChecksummingSink(QIODevice *file)
        : m_file(file)
    {
        open(QIODevice::WriteOnly | QIODevice::Unbuffered);
    }
    bool isSequential() const override { return true; }
    bool finish()
    {
        pass();
        return m_ok;
    }
    quint32 crc = 0;
    qint64 count = 0;
    QString reason; ///< why a write failed

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *data, qint64 len) override
    {
        crc = crc32c(crc, data, len);
        count += len;
        if (len >= Piece) {
            pass(); // a big string's bytes go to the file from where they are
            m_ok = m_ok && writeAll(m_file, data, len, &reason);
        } else {
            m_buffer.append(data, qsizetype(len));
            if (m_buffer.size() >= Piece)
                pass();
        }
        return len;
    }

private:
    static constexpr qsizetype Piece = 1024 * 1024;
    void pass()
    {
        if (!m_buffer.isEmpty() && m_ok)
            m_ok = writeAll(m_file, m_buffer.constData(), m_buffer.size(), &reason);
        m_buffer.resize(0);
    }
    QIODevice *m_file;
    QByteArray m_buffer;
    bool m_ok = true;
};

// Writes \a small's entries, then \a key with \a values, as one map.
void writeMapWithValues(QCborStreamWriter &w, const QCborMap &small, const QString &key,
                        const QVector<QCborValue> &values)
{
    w.startMap(quint64(small.size()) + 1);
    for (auto it = small.cbegin(); it != small.cend(); ++it) {
        it.key().toCbor(w);
        it.value().toCbor(w);
    }
    w.append(key);
    w.startArray(quint64(values.size()));
    for (const QCborValue &v : values)
        v.toCbor(w);
    w.endArray();
    w.endMap();
}

// The inputs from \a from on that go in one record: at most InputsPerRecord, and about InputsRecordBytes.
QVector<QCborValue> inputsChunk(const JobInputs &inputs, qsizetype from)
{
    QVector<QCborValue> values;
    qint64 bytes = 0;
    for (qsizetype i = from; i < inputs.size() && values.size() < InputsPerRecord; ++i) {
        QCborValue v = inputs.at(i);
        const qint64 size = protocol::cborSizeBound(v);
        if (!values.isEmpty() && bytes + size > InputsRecordBytes)
            break;
        bytes += size;
        values.append(std::move(v));
    }
    return values;
}

QCborMap specToCbor(const JobSpec &spec)
{
    QCborMap m;
    m.insert(QStringLiteral("name"), spec.name);
    m.insert(QStringLiteral("plugin"), spec.plugin.name);
    m.insert(QStringLiteral("pluginPath"), spec.plugin.path);
    m.insert(QStringLiteral("sha256"), QString::fromLatin1(spec.plugin.sha256));
    m.insert(QStringLiteral("retries"), spec.retries);
    m.insert(QStringLiteral("timeoutMs"), spec.timeoutMs);
    m.insert(QStringLiteral("priority"), spec.priority);
    m.insert(QStringLiteral("source"), spec.sourceFile);
    if (spec.inputs.isRange()) {
        // Three numbers, not the values (writeJob() adds a list's values).
        m.insert(QStringLiteral("range"),
                 QCborArray {spec.inputs.rangeStart(), spec.inputs.rangeStep(), qint64(spec.inputs.size())});
    }

    if (!spec.parameters.isUndefined() && !spec.parameters.isNull())
        m.insert(QStringLiteral("params"), spec.parameters);
    return m;
}

JobSpec specFromCbor(const QCborMap &m)
{
    JobSpec spec;
    spec.name = m.value(QStringLiteral("name")).toString();
    spec.plugin.name = m.value(QStringLiteral("plugin")).toString();
    spec.plugin.path = m.value(QStringLiteral("pluginPath")).toString();
    spec.plugin.sha256 = m.value(QStringLiteral("sha256")).toString().toLatin1();
    spec.retries = int(util::cborInteger(m.value(QStringLiteral("retries"))));
    spec.timeoutMs = util::cborInteger(m.value(QStringLiteral("timeoutMs")));
    spec.priority = int(util::cborInteger(m.value(QStringLiteral("priority"))));
    spec.parameters = m.value(QStringLiteral("params"));
    spec.sourceFile = m.value(QStringLiteral("source")).toString();
    const QCborArray range = m.value(QStringLiteral("range")).toArray();
    if (range.size() == 3) {
        const qint64 count = util::cborInteger(range.at(2), -1);
        spec.inputs = JobInputs::range(util::cborInteger(range.at(0)), util::cborInteger(range.at(1)),
                                       std::clamp<qint64>(count, 0, MaxJobInputs));
        return spec;
    }
    const QCborArray inputs = m.value(QStringLiteral("inputs")).toArray();
    QVector<QCborValue> values;
    values.reserve(inputs.size());
    for (const QCborValue &v : inputs)
        values.append(v);
    spec.inputs = std::move(values);
    return spec;
}

// Reads a device forward, holding what the reader still needs: the record being read (kept from a mark) and
// whatever it asked for after it.
class Source
{
public:
    explicit Source(QIODevice *device)
        : m_device(device)
        , m_size(device->size())
    {
        m_device->seek(0);
    }
    qint64 size() const { return m_size; }
    QString error() const { return m_error; }
    /** Bytes before \a at may be dropped (never those after the last mark). */
    void keepFrom(qint64 at) { m_keep = at; }

    /** Bytes [at, at + n), or null when the file ends before at + n or a read fails (then error() says why). */
    const char *get(qint64 at, qint64 n)
    {
        if (at < m_base || n < 0 || at > m_size - n)
            return nullptr;
        if (at + n <= m_base + m_buffer.size())
            return m_buffer.constData() + (at - m_base);
        const qint64 drop = std::min(at, m_keep) - m_base;
        if (drop >= m_buffer.size()) {
            m_base += m_buffer.size();
            m_buffer.clear();
            if (m_base < std::min(at, m_keep)) {
                m_base = std::min(at, m_keep);
                if (!m_device->seek(m_base))
                    return fail();
            }
        } else if (drop > 0) {
            m_buffer.remove(0, qsizetype(drop));
            m_base += drop;
        }
        if (m_buffer.capacity() > 4 * ReadChunk && m_buffer.size() + n < ReadChunk)
            m_buffer.squeeze(); // a big record went: give its memory back
        const qint64 have = m_base + m_buffer.size();
        const qint64 want = at + n - have;
        const qint64 chunk = std::min(std::max(want, ReadChunk), m_size - have);
        const qsizetype old = m_buffer.size();
        m_buffer.resize(old + qsizetype(chunk));
        const qint64 got = m_device->read(m_buffer.data() + old, chunk);
        m_buffer.resize(old + qsizetype(std::max<qint64>(got, 0)));
        if (got < want)
            return fail();
        return m_buffer.constData() + (at - m_base);
    }

private:
    const char *fail()
    {
        const QString why = m_device->errorString();
        m_error = why.isEmpty() || why == QLatin1String("Unknown error")
                      ? QStringLiteral("the file got shorter while it was read")
                      : why;
        return nullptr;
    }

    QIODevice *m_device;
    qint64 m_size;
    QByteArray m_buffer;
    qint64 m_base = 0; ///< file offset of m_buffer[0]
    qint64 m_keep = 0;
    QString m_error;
};

// What records mean: jobs, their inputs, results and ends, gathered as they are read.
class Parser
{
public:
    Parser(bool keepResults, const JournalReader::ResultSink &sink)
        : m_keep(keepResults)
        , m_sink(sink)
    {
    }

    QVector<JournaledJob> jobs;
    QHash<QString, int> byKey;
    QHash<QString, qint64> announced; // jobs whose inputs continue in "in" records: how many in all
    qint64 orphans = 0;               // records of a job the journal does not hold

    /** Takes in one record; false (with *why) when it is not what a record of its type must be. */
    bool process(const QCborMap &m, qint64 number, QString *why)
    {
        const QString type = m.value(QStringLiteral("t")).toString();
        if (kindOfType(type) == KindUnknown)
            return true; // the header again, or a type of a later version: nothing to do
        const QCborValue keyValue = m.value(QStringLiteral("key"));
        if (!keyValue.isString() || keyValue.toString().isEmpty()) {
            *why = QStringLiteral("it has no key");
            return false;
        }
        const QString key = keyValue.toString();
        if (type == QLatin1String("job"))
            return processJob(m, key, number, why);
        const int at = byKey.value(key, -1);
        if (at < 0) {
            ++orphans;
            return true;
        }
        JournaledJob &job = jobs[at];
        if (type == QLatin1String("in")) {
            const QCborValue values = m.value(QStringLiteral("v"));
            if (!values.isArray()) {
                *why = QStringLiteral("it holds no inputs");
                return false;
            }
            if (!announced.contains(key)
                || util::cborInteger(m.value(QStringLiteral("from")), -1) != job.spec.inputs.size())
                return true; // a repeat, or out of order: the count check at the end leaves the job out
            const QCborArray array = values.toArray();
            if (job.spec.inputs.size() + array.size() > announced.value(key)) {
                *why = QStringLiteral("it holds more inputs than its job announced");
                return false;
            }
            for (const QCborValue &v : array)
                job.spec.inputs.append(v);
            return true;
        }
        if (type == QLatin1String("end")) {
            if (!job.ended)
                job.endedMs = util::cborInteger(m.value(QStringLiteral("at")), -1);
            job.ended = true;
            return true;
        }
        const QCborValue rows = m.value(QStringLiteral("r"));
        if (!rows.isArray() || rows.toArray().size() % 6 != 0) {
            *why = QStringLiteral("its results are not rows of six values");
            return false;
        }
        const QCborArray flat = rows.toArray();
        for (qsizetype i = 0; i + 5 < flat.size(); i += 6) {
            // A damaged journal must not resume a wrong task: skip rows out of range (the window journals
            // index -1 for a task it cannot place).
            const qint64 index = util::cborInteger(flat.at(i), -1);
            const qint64 status = util::cborInteger(flat.at(i + 1), -1);
            if (index < 0 || index >= job.spec.inputs.size() || index >= job.done.size() || status < 0
                || status > qint64(stats::TaskStatus::Cancelled))
                continue;
            if (job.done.testBit(qsizetype(index))) {
                ++job.repeatedResults;
                continue;
            }
            job.done.setBit(qsizetype(index));
            ++job.doneCount;
            if (!m_keep && !m_sink)
                continue;
            TaskRecord r;
            r.index = int(index);
            r.status = stats::TaskStatus(status);
            if (r.status == stats::TaskStatus::Ok)
                r.output = flat.at(i + 2);
            else
                r.error = flat.at(i + 2).toString();
            r.nodeName = flat.at(i + 3).toString();
            r.runtimeUs = util::cborInteger(flat.at(i + 4));
            r.attempts = int(util::cborInteger(flat.at(i + 5)));
            if (m_sink)
                m_sink(job, r);
            if (m_keep)
                job.results.insert(r.index, std::move(r));
        }
        return true;
    }

    /** Leaves out the jobs whose inputs were not all journaled; a message naming them, or empty. */
    QString dropIncomplete(const QString &name)
    {
        QStringList incomplete;
        for (auto it = announced.constBegin(); it != announced.constEnd(); ++it) {
            const int at = byKey.value(it.key(), -1);
            if (at >= 0 && jobs.at(at).spec.inputs.size() != it.value())
                incomplete.append(it.key());
        }
        if (incomplete.isEmpty())
            return {};
        jobs.erase(
            std::remove_if(jobs.begin(), jobs.end(), [&](const JournaledJob &j) { return incomplete.contains(j.key); }),
            jobs.end());
        return QStringLiteral("%1: left out %2 job(s) whose inputs were not all journaled (%3)")
            .arg(name)
            .arg(incomplete.size())
            .arg(incomplete.join(QStringLiteral(", ")));
    }

private:
    bool processJob(const QCborMap &m, const QString &key, qint64 number, QString *why)
    {
        if (byKey.contains(key))
            return true; // a job carried twice (the window carries ended jobs into a new journal): the first wins
        const QCborValue specValue = m.value(QStringLiteral("spec"));
        if (!specValue.isMap()) {
            *why = QStringLiteral("it has no job spec");
            return false;
        }
        const QCborMap spec = specValue.toMap();
        for (const char *field : {"plugin", "pluginPath", "sha256"}) {
            const QCborValue v = spec.value(QLatin1String(field));
            if (!v.isString()) { // JournalWriter writes all three, maybe empty (a job built in a program)
                *why = QStringLiteral("its \"%1\" is missing").arg(QLatin1String(field));
                return false;
            }
        }
        const QCborValue range = spec.value(QStringLiteral("range"));
        const QCborValue inputs = spec.value(QStringLiteral("inputs"));
        qint64 total = 0;
        if (range.isArray()) {
            const QCborArray r = range.toArray();
            if (r.size() != 3 || !r.at(0).isInteger() || !r.at(1).isInteger() || !r.at(2).isInteger()) {
                *why = QStringLiteral("its range is not three integers");
                return false;
            }
            total = r.at(2).toInteger();
        } else if (inputs.isArray()) {
            total = inputs.toArray().size();
            if (spec.contains(QStringLiteral("count"))) {
                const qint64 count = util::cborInteger(spec.value(QStringLiteral("count")), -1);
                if (count < total) {
                    *why = QStringLiteral("its count of inputs is wrong");
                    return false;
                }
                total = count;
                announced.insert(key, count);
            }
        } else {
            *why = QStringLiteral("it has no inputs");
            return false;
        }
        if (total < 0 || total > MaxJobInputs) {
            *why = QStringLiteral("it has %1 inputs (a job may have 0 to %2)").arg(total).arg(MaxJobInputs);
            return false;
        }
        JournaledJob job;
        job.key = key;
        job.spec = specFromCbor(spec);
        job.record = number;
        job.startedMs = util::cborInteger(m.value(QStringLiteral("at")), -1);
        job.done = QBitArray(qsizetype(total));
        byKey.insert(key, int(jobs.size()));
        jobs.append(std::move(job));
        return true;
    }

    bool m_keep;
    const JournalReader::ResultSink &m_sink;
};

struct ReadOutcome {
    std::optional<QVector<JournaledJob>> jobs;
    QString error;
    QStringList warnings;
    int version = 0;
    qint64 goodEnd = -1; ///< where the last whole record ends (a writer appending cuts the torn tail off there)
};

QString byteSpan(qint64 from, qint64 to)
{
    return QStringLiteral("bytes %1-%2").arg(from).arg(std::max(from, to - 1));
}

// Reads the header; the format (1 to 3) and where the records start, or 0 with *error.
int readHeader(Source &src, const QString &name, qint64 *recordsStart, QString *error)
{
    if (src.size() == 0) {
        *error = QStringLiteral("%1 is empty: not a Taskfleet journal").arg(name);
        return 0;
    }
    const char *p = src.get(0, protocol::FrameHeaderSize);
    const quint32 length = p ? qFromBigEndian<quint32>(p) : 0;
    const char *payload = p && length <= 4096 ? src.get(protocol::FrameHeaderSize, length) : nullptr;
    if (!payload) {
        if (!src.error().isEmpty())
            *error = QStringLiteral("cannot read journal %1: %2").arg(name, src.error());
        else
            *error = QStringLiteral("%1 is not a Taskfleet journal (%2 bytes, no journal header)")
                         .arg(name)
                         .arg(src.size());
        return 0;
    }
    QCborMap header;
    QString why;
    if (!decodeMap(payload, length, &header, &why)) {
        *error = QStringLiteral("%1 is not a Taskfleet journal (its first record is %2)").arg(name, why);
        return 0;
    }
    const QString magic = header.value(QStringLiteral("magic")).toString();
    if (header.value(QStringLiteral("t")).toString() != QLatin1String("journal") || !magic.startsWith(MagicPrefix)) {
        *error = QStringLiteral("%1 is not a Taskfleet journal").arg(name);
        return 0;
    }
    *recordsStart = protocol::FrameHeaderSize + qint64(length);
    if (magic == MagicV1 || magic == MagicV2)
        return magic == MagicV1 ? 1 : 2;
    if (magic == Magic) {
        const QByteArray expected = headerFrame(Magic);
        if (QByteArray::fromRawData(p, qsizetype(*recordsStart)) != expected) {
            *error = QStringLiteral("%1: record 1 (the journal header, %2) is damaged")
                         .arg(name, byteSpan(0, *recordsStart));
            return 0;
        }
        return 3;
    }
    *error = QStringLiteral("%1 is a journal of format \"%2\", which this Taskfleet cannot read (it reads %3 to %4)")
                 .arg(name, magic, MagicV1, Magic);
    return 0;
}

// Format 3: record after record; a damaged one is found by its checksums and the next by its head.
void readRecords(Source &src, const QString &name, qint64 start, Parser &parser, ReadOutcome *out)
{
    qint64 pos = start;
    qint64 number = 1;
    qint64 good = 0;
    QStringList skipped;
    qint64 skippedCount = 0;
    QStringList repaired;
    const qint64 size = src.size();

    // The next record head at or after \a from (size if none, -1 if reading failed).
    const auto findRecord = [&](qint64 from, qint64 regionStart) -> qint64 {
        qint64 at = from;
        while (at <= size - RecordHeadSize) {
            src.keepFrom(std::max(regionStart, at - SalvageMax));
            const qint64 span = std::min<qint64>(size - at, 1024 * 1024);
            const char *p = src.get(at, span);
            if (!p)
                return -1;
            const void *hit = std::memchr(p, RecordMarker[0], size_t(span));
            if (!hit) {
                at += span;
                continue;
            }
            const qint64 candidate = at + (static_cast<const char *>(hit) - p);
            if (candidate > size - RecordHeadSize)
                break;
            const char *h = src.get(candidate, RecordHeadSize);
            if (!h)
                return -1;
            RecordHead head;
            if (parseRecordHead(h, &head))
                return candidate;
            at = candidate + 1;
        }
        return size;
    };
    // Takes in one whole record; false when it was fatal (out->error set).
    const auto take = [&](const char *payload, qint64 length, char kind, qint64 from, qint64 to) -> bool {
        QCborMap map;
        QString why;
        const bool decoded = decodeMap(payload, length, &map, &why);
        if (decoded && parser.process(map, number, &why))
            return true;
        const char recordKind = decoded ? kindOfType(map.value(QStringLiteral("t")).toString()) : kind;
        if (recordKind == KindResults || recordKind == KindEnd) {
            ++skippedCount;
            skipped.append(
                QStringLiteral("record %1, %2, %3: %4").arg(number).arg(kindName(recordKind), byteSpan(from, to), why));
            return true;
        }
        out->error = QStringLiteral("%1: record %2 (%3, %4) is invalid: %5")
                         .arg(name)
                         .arg(number)
                         .arg(kindName(recordKind), byteSpan(from, to), why);
        return false;
    };
    // A damaged record: skipped if it held results or an end, fatal otherwise.
    const auto damaged = [&](char kind, qint64 from, qint64 to, const QString &why) -> bool {
        if (kind == KindResults || kind == KindEnd) {
            ++skippedCount;
            skipped.append(
                QStringLiteral("record %1, %2, %3: %4").arg(number).arg(kindName(kind), byteSpan(from, to), why));
            return true;
        }
        out->error = QStringLiteral("%1: record %2 (%3, %4) is damaged (%5); the job it belongs to cannot be resumed "
                                    "without it")
                         .arg(name)
                         .arg(number)
                         .arg(kindName(kind), byteSpan(from, to), why);
        return false;
    };
    // The bytes [from, to) may be a record whose head alone is damaged: its tail says whether the rest is whole.
    const auto salvage = [&](qint64 from, qint64 to) -> int { // 1 taken, 0 not a record, -1 fatal
        const qint64 length = to - from - RecordHeadSize - RecordTailSize;
        if (length < 0 || to - from > SalvageMax)
            return 0;
        const char *p = src.get(from, to - from);
        if (!p)
            return 0;
        const char *tail = p + RecordHeadSize + length;
        if (qFromBigEndian<quint32>(tail) != quint32(length)
            || qFromBigEndian<quint32>(tail + 4) != crc32c(0, p + RecordHeadSize, length))
            return 0;
        repaired.append(QString::number(number));
        return take(p + RecordHeadSize, length, KindUnknown, from, to) ? 1 : -1;
    };

    while (pos < size) {
        ++number;
        src.keepFrom(pos);
        const char *h = src.get(pos, std::min<qint64>(RecordHeadSize, size - pos));
        if (!h) {
            out->error = QStringLiteral("cannot read journal %1: %2").arg(name, src.error());
            return;
        }
        RecordHead head;
        if (size - pos >= RecordHeadSize && parseRecordHead(h, &head)) {
            const qint64 end = pos + RecordHeadSize + qint64(head.length) + RecordTailSize;
            if (end <= size) {
                const char *p = src.get(pos, end - pos);
                if (!p) {
                    out->error = QStringLiteral("cannot read journal %1: %2").arg(name, src.error());
                    return;
                }
                const char *payload = p + RecordHeadSize;
                const char *tail = payload + head.length;
                if (qFromBigEndian<quint32>(tail) == head.length
                    && qFromBigEndian<quint32>(tail + 4) == crc32c(0, payload, head.length)) {
                    if (!take(payload, head.length, head.kind, pos, end))
                        return;
                    ++good;
                    pos = end;
                    continue;
                }
            }
            // A whole head, but not a whole record: damaged (a changed byte), or cut short.
            const qint64 next = findRecord(pos + RecordHeadSize, pos);
            if (next < 0) {
                out->error = QStringLiteral("cannot read journal %1: %2").arg(name, src.error());
                return;
            }
            if (end > size && next >= size) {
                out->warnings.append(QStringLiteral("%1: ignored a torn last record (record %2, %3, %4: cut short) "
                                                    "after %5 good records")
                                         .arg(name)
                                         .arg(number)
                                         .arg(kindName(head.kind), byteSpan(pos, size))
                                         .arg(good + 1));
                break;
            }
            if (!damaged(head.kind, pos, std::min(end, next),
                         end > size ? QStringLiteral("cut short") : QStringLiteral("checksum mismatch")))
                return;
            pos = next;
            continue;
        }
        // No record head here: the head is damaged, or this is the end of a torn file.
        const qint64 next = findRecord(pos + 1, pos);
        if (next < 0) {
            out->error = QStringLiteral("cannot read journal %1: %2").arg(name, src.error());
            return;
        }
        const int salvaged = salvage(pos, next);
        if (salvaged < 0)
            return;
        if (salvaged > 0) {
            ++good;
            pos = next;
            continue;
        }
        if (next >= size) {
            out->warnings.append(QStringLiteral("%1: ignored a torn last record (record %2, %3: no whole record) after "
                                                "%4 good records")
                                     .arg(name)
                                     .arg(number)
                                     .arg(byteSpan(pos, size))
                                     .arg(good + 1));
            break;
        }
        if (!damaged(KindUnknown, pos, next, QStringLiteral("its head is damaged")))
            return;
        pos = next;
    }
    out->goodEnd = pos;
    if (skippedCount > 0) {
        QStringList shown = skipped.mid(0, 3);
        if (skipped.size() > 3)
            shown.append(QStringLiteral("..."));
        out->warnings.append(
            QStringLiteral("%1: skipped %2 damaged record(s) of %3 (%4); the tasks they held run again")
                .arg(name)
                .arg(skippedCount)
                .arg(number)
                .arg(shown.join(QStringLiteral("; "))));
    }
    if (!repaired.isEmpty())
        out->warnings.append(QStringLiteral("%1: record(s) %2 had a damaged head, but were whole and were read")
                                 .arg(name, repaired.join(QStringLiteral(", "))));
}

// Formats 1 and 2: frames with no checksum; a damaged one ends what can be read.
void readFrames(Source &src, const QString &name, Parser &parser, ReadOutcome *out)
{
    protocol::FrameDecoder decoder(MaxRecordSize);
    qint64 fed = 0;
    qint64 number = 0;
    while (fed < src.size()) {
        const qint64 chunk = std::min<qint64>(ReadChunk, src.size() - fed);
        src.keepFrom(fed);
        const char *p = src.get(fed, chunk);
        if (!p) {
            out->error = QStringLiteral("cannot read journal %1: %2").arg(name, src.error());
            return;
        }
        decoder.append(p, qsizetype(chunk));
        fed += chunk;
        QCborMap m;
        while (decoder.next(&m) == protocol::FrameDecoder::Status::Frame) {
            if (++number == 1)
                continue; // the header, read already
            QString why;
            if (parser.process(m, number, &why))
                continue;
            const char kind = kindOfType(m.value(QStringLiteral("t")).toString());
            if (kind == KindResults || kind == KindEnd) {
                out->warnings.append(
                    QStringLiteral("%1: skipped record %2 (%3): %4").arg(name).arg(number).arg(kindName(kind), why));
                continue;
            }
            out->error
                = QStringLiteral("%1: record %2 (%3) is invalid: %4").arg(name).arg(number).arg(kindName(kind), why);
            return;
        }
        if (decoder.hasError())
            break;
    }
    if (decoder.hasError() || decoder.bufferedBytes() > 0) {
        const qint64 at = fed - decoder.bufferedBytes();
        out->warnings.append(QStringLiteral("%1: ignored a torn or damaged last record (record %2, from byte %3: %4) "
                                            "and the %5 bytes after it (a journal of format %6 has no checksums to "
                                            "find the records after a damaged one)")
                                 .arg(name)
                                 .arg(number + 1)
                                 .arg(std::max<qint64>(at, 0))
                                 .arg(decoder.hasError() ? decoder.errorString() : QStringLiteral("incomplete"))
                                 .arg(std::max<qint64>(src.size() - at, 0))
                                 .arg(out->version));
    } else {
        out->goodEnd = fed;
    }
}

ReadOutcome readJournal(QIODevice *device, const QString &name, bool keepResults, const JournalReader::ResultSink &sink)
{
    ReadOutcome out;
    Source src(device);
    qint64 start = 0;
    out.version = readHeader(src, name, &start, &out.error);
    if (out.version == 0)
        return out;
    Parser parser(keepResults, sink);
    if (out.version >= 3)
        readRecords(src, name, start, parser, &out);
    else
        readFrames(src, name, parser, &out);
    if (!out.error.isEmpty())
        return out;
    if (parser.orphans > 0)
        out.warnings.append(
            QStringLiteral("%1: ignored %2 record(s) of jobs the journal does not hold").arg(name).arg(parser.orphans));
    const QString incomplete = parser.dropIncomplete(name);
    if (!incomplete.isEmpty())
        out.warnings.append(incomplete);
    out.jobs = std::move(parser.jobs);
    return out;
}

ReadOutcome readJournalFile(const QString &path, bool keepResults, const JournalReader::ResultSink &sink)
{
    ReadOutcome out;
    const int fd = openRegularFile(path, O_RDONLY, &out.error, "read");
    if (fd < 0)
        return out;
    QFile f;
    if (!f.open(fd, QIODevice::ReadOnly, QFileDevice::AutoCloseHandle)) {
        ::close(fd);
        out.error = QStringLiteral("cannot read journal %1: %2").arg(path, f.errorString());
        return out;
    }
    return readJournal(&f, path, keepResults, sink);
}

std::optional<QVector<JournaledJob>> finishRead(ReadOutcome &&out, QString *error, QString *warning)
{
    if (!out.jobs) {
        *error = out.error;
        return std::nullopt;
    }
    if (warning)
        *warning = out.warnings.join(QStringLiteral("; "));
    return std::move(out.jobs);
}
// Whether the file ends with a whole format-3 record (or with its header): its last 8 bytes give the length of
// the record they end, whose head must be there with that length. Cheap: two small reads.
bool endsWithWholeRecord(QFile *file, qint64 recordsStart)
{
    const qint64 size = file->size();
    if (size == recordsStart)
        return true;
    char tail[RecordTailSize];
    char head[RecordHeadSize];
    if (size - recordsStart < RecordHeadSize + RecordTailSize || !file->seek(size - RecordTailSize)
        || file->read(tail, RecordTailSize) != RecordTailSize)
        return false;
    const qint64 start = size - RecordTailSize - qint64(qFromBigEndian<quint32>(tail)) - RecordHeadSize;
    RecordHead parsed;
    return start >= recordsStart && file->seek(start) && file->read(head, RecordHeadSize) == RecordHeadSize
           && parseRecordHead(head, &parsed) && parsed.length == qFromBigEndian<quint32>(tail);
}
} // namespace

QString defaultJournalDir()
{
    QString base = qEnvironmentVariable("XDG_STATE_HOME");
    if (base.isEmpty())
        base = QDir::homePath() + QStringLiteral("/.local/state");
    return base + QStringLiteral("/taskfleet/journal");
}

std::optional<QVector<JournaledJob>> JournalReader::read(const QString &path, QString *error, QString *warning)
{
    return finishRead(readJournalFile(path, true, {}), error, warning);
}

std::optional<QVector<JournaledJob>> JournalReader::scan(const QString &path, const ResultSink &sink, QString *error,
                                                         QString *warning)
{
    return finishRead(readJournalFile(path, false, sink), error, warning);
}

std::optional<QVector<JournaledJob>> JournalReader::read(QIODevice *device, const QString &name, bool keepResults,
                                                         const ResultSink &sink, QString *error, QString *warning)
{
    return finishRead(readJournal(device, name, keepResults, sink), error, warning);
}

bool JournalWriter::open(const QString &path, QString *error)
{
    m_failed = false;
    m_error.clear();
    m_version = 3;
    const QFileInfo info(path);
    if (!QDir().mkpath(info.absolutePath())) {
        *error = QStringLiteral("cannot make the folder %1 for the journal").arg(info.absolutePath());
        return false;
    }
    const bool existed = info.exists();
    const int fd = openRegularFile(path, O_RDWR | O_APPEND | O_CREAT, error, "open");
    if (fd < 0)
        return false;
    m_path = path;
    if (!m_file.open(fd, QIODevice::ReadWrite | QIODevice::Append | QIODevice::Unbuffered,
                     QFileDevice::AutoCloseHandle)) {
        ::close(fd);
        *error = QStringLiteral("cannot open journal %1: %2").arg(path, m_file.errorString());
        return false;
    }
    if (m_file.size() > 0) {
        // Appending (a resume): in the journal's own format, after its last whole record. A torn last record
        // (the writer was killed inside it) is cut off, so what is appended never follows a torn record.
        Source src(&m_file);
        qint64 start = 0;
        const int version = readHeader(src, path, &start, error);
        if (version == 0) {
            *error += QStringLiteral("; not appending to it");
            m_file.close();
            return false;
        }
        m_version = version >= 3 ? 3 : 2;
        if (version >= 3 && !endsWithWholeRecord(&m_file, start)) {
            const ReadOutcome found = readJournal(&m_file, path, false, {});
            if (found.goodEnd >= start && found.goodEnd < m_file.size() && !m_file.resize(found.goodEnd)) {
                *error = QStringLiteral("cannot cut the torn last record off journal %1: %2")
                             .arg(path, m_file.errorString());
                m_file.close();
                return false;
            }
        }
        m_file.seek(m_file.size());
        return true;
    }
    // A new journal: its header must reach the disk, or the journal is refused now rather than offered for a
    // resume it cannot serve (a full disk).
    const QByteArray header = headerFrame(Magic);
    QString reason;
    if (!writeAll(&m_file, header.constData(), header.size(), &reason) || ::fdatasync(m_file.handle()) != 0) {
        if (reason.isEmpty())
            reason = qt_error_string(errno);
        *error = QStringLiteral("cannot write journal %1: %2").arg(path, reason);
        m_file.close();
        if (!existed)
            QFile::remove(path);
        return false;
    }
    return true;
}

void JournalWriter::fail(const QString &reason)
{
    if (m_failed)
        return;
    m_failed = true;
    m_error = QStringLiteral("cannot write journal %1: %2")
                  .arg(m_path, reason.isEmpty() || reason == QLatin1String("Unknown error")
                                   ? QStringLiteral("a write was cut short (is the disk full?)")
                                   : reason);
}

void JournalWriter::append(const QCborMap &record, char kind)
{
    appendWith(kind, [&record](QCborStreamWriter &w) { record.toCborValue().toCbor(w); });
}

void JournalWriter::appendWith(char kind, const std::function<void(QCborStreamWriter &)> &write)
{
    // Unbuffered: each record is one write(), so a kill never splits a record between writes. A big record
    // (a big input or result) goes out a MiB at a time instead of being held whole; a kill while it is
    // written leaves a torn last record, which JournalReader ignores like any other. After a failed write
    // nothing more is written: the journal is incomplete from there on.
    if (!m_file.isOpen() || m_failed)
        return;
    if (m_version < 3) {
        // Appending to a journal of format 1 or 2: its frames, no checksums.
        const qint64 size = protocol::encodedSize(write);
        if (size > StreamedRecordSize) {
            if (!protocol::writeFramesStreamed(&m_file, size, write))
                fail(m_file.errorString());
            return;
        }
        QByteArray frame;
        protocol::appendFrameWith(frame, write);
        QString reason;
        if (!writeAll(&m_file, frame.constData(), frame.size(), &reason))
            fail(reason);
        return;
    }
    QByteArray record(RecordHeadSize, '\0');
    qint64 size = 0;
    {
        LimitedBuffer buffer(&record, StreamedRecordSize);
        QCborStreamWriter w(&buffer);
        write(w);
        size = buffer.count;
    }
    if (size > qint64(MaxRecordSize)) {
        fail(QStringLiteral("a record of %1 bytes is larger than a journal record may be (%2 bytes)")
                 .arg(size)
                 .arg(MaxRecordSize));
        return;
    }
    if (size <= StreamedRecordSize) {
        putRecordHead(record.data(), quint32(size), kind);
        const quint32 crc = crc32c(0, record.constData() + RecordHeadSize, size);
        record.resize(RecordHeadSize + qsizetype(size) + RecordTailSize);
        putRecordTail(record.data() + RecordHeadSize + size, quint32(size), crc);
        QString reason;
        if (!writeAll(&m_file, record.constData(), record.size(), &reason))
            fail(reason);
        return;
    }
    // Big: the head, the map encoded again straight to the file, then the tail with its checksum.
    record = QByteArray();
    char head[RecordHeadSize];
    putRecordHead(head, quint32(size), kind);
    QString reason;
    if (!writeAll(&m_file, head, RecordHeadSize, &reason)) {
        fail(reason);
        return;
    }
    ChecksummingSink sink(&m_file);
    {
        QCborStreamWriter w(&sink);
        write(w);
    }
    if (!sink.finish()) {
        fail(sink.reason);
        return;
    }
    if (sink.count != size) {
        fail(QStringLiteral("a record changed while it was written"));
        return;
    }
    char tail[RecordTailSize];
    putRecordTail(tail, quint32(size), sink.crc);
    if (!writeAll(&m_file, tail, RecordTailSize, &reason))
        fail(reason);
}

bool JournalWriter::sync()
{
    if (!m_file.isOpen())
        return false;
    if (!m_failed && ::fdatasync(m_file.handle()) != 0)
        fail(qt_error_string(errno));
    return !m_failed;
}

void JournalWriter::writeJob(const QString &key, const JobSpec &spec, qint64 startedMs)
{
    QCborMap head = specToCbor(spec);
    // When it ran, for History: a field readers of older versions skip.
    const qint64 at = startedMs >= 0 ? startedMs : QDateTime::currentMSecsSinceEpoch();
    if (spec.inputs.isRange()) {
        appendWith(KindJob, [&](QCborStreamWriter &w) {
            w.startMap(4);
            w.append(QLatin1String("t"));
            w.append(QLatin1String("job"));
            w.append(QLatin1String("key"));
            w.append(key);
            w.append(QLatin1String("at"));
            w.append(at);
            w.append(QLatin1String("spec"));
            head.toCborValue().toCbor(w);
            w.endMap();
        });
        return;
    }
    // Lines are journaled as values, so a resume does not depend on the file staying as it was. The first
    // values go in the job record; when more follow, in "in" records, "count" says how many there are in all.
    const QVector<QCborValue> first = inputsChunk(spec.inputs, 0);
    if (first.size() < spec.inputs.size())
        head.insert(QStringLiteral("count"), qint64(spec.inputs.size()));
    appendWith(KindJob, [&](QCborStreamWriter &w) {
        w.startMap(4);
        w.append(QLatin1String("t"));
        w.append(QLatin1String("job"));
        w.append(QLatin1String("key"));
        w.append(key);
        w.append(QLatin1String("at"));
        w.append(at);
        w.append(QLatin1String("spec"));
        writeMapWithValues(w, head, QStringLiteral("inputs"), first);
        w.endMap();
    });
    for (qsizetype from = first.size(); from < spec.inputs.size() && !m_failed;) {
        const QVector<QCborValue> values = inputsChunk(spec.inputs, from);
        QCborMap more;
        more.insert(QStringLiteral("t"), QStringLiteral("in"));
        more.insert(QStringLiteral("key"), key);
        more.insert(QStringLiteral("from"), qint64(from));
        appendWith(KindInputs, [&](QCborStreamWriter &w) { writeMapWithValues(w, more, QStringLiteral("v"), values); });
        from += values.size();
    }
}

void JournalWriter::writeResults(const QString &key, const QVector<TaskRecord> &records)
{
    // Straight from the records: a big output is copied once, into the record.
    appendWith(KindResults, [&](QCborStreamWriter &w) {
        w.startMap(3);
        w.append(QLatin1String("t"));
        w.append(QLatin1String("res"));
        w.append(QLatin1String("key"));
        w.append(key);
        w.append(QLatin1String("r"));
        w.startArray(quint64(records.size()) * 6);
        for (const TaskRecord &r : records) {
            w.append(qint64(r.index));
            w.append(qint64(r.status));
            if (r.status == stats::TaskStatus::Ok)
                r.output.toCbor(w);
            else
                w.append(r.error);
            w.append(r.nodeName);
            w.append(qint64(r.runtimeUs));
            w.append(qint64(r.attempts));
        }
        w.endArray();
        w.endMap();
    });
}

void JournalWriter::writeEnd(const QString &key, qint64 endedMs)
{
    QCborMap m;
    m.insert(QStringLiteral("t"), QStringLiteral("end"));
    m.insert(QStringLiteral("key"), key);
    m.insert(QStringLiteral("at"), endedMs >= 0 ? endedMs : QDateTime::currentMSecsSinceEpoch());
    append(m, KindEnd);
    (void)sync();
}

} // namespace taskfleet::sched
