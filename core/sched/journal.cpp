// SPDX-License-Identifier: MIT
#include "journal.h"

#include "jobfile.h"
#include "protocol/frame.h"
#include "util/cborinteger.h"

#include <QtCore/QCborArray>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>

#include <algorithm>

#include <unistd.h>

namespace taskfleet::sched {

namespace {
// /2: a job's inputs may be a range (three numbers) or continue in "in" records. A reader of /1 would
// take such a job for a shorter one and lose its tasks, so it refuses /2 ("not a Taskfleet journal")
// instead; this reader reads both.
const QString Magic = QStringLiteral("taskfleet-journal/2");
const QString MagicV1 = QStringLiteral("taskfleet-journal/1");
// A record may be much larger than a frame (a result with a big value, 65,536 big inputs).
constexpr quint32 MaxRecordSize = 1u << 30;
// A job's inputs go in records of this many values ("job" holds the first, "in" records the rest), so
// journaling a job of millions of lines never builds one record of them all.
constexpr qsizetype InputsPerRecord = 65536;
// Records above this size are written to the file in pieces as they are encoded, never held whole.
constexpr qint64 StreamedRecordSize = 1024 * 1024;

// Writes values from .. from+count-1 of \a inputs as an array, straight from the inputs: a big value is
// copied once, into the record.
void writeInputValues(QCborStreamWriter &w, const JobInputs &inputs, qsizetype from, qsizetype count)
{
    const qsizetype end = std::min(inputs.size(), from + count);
    w.startArray(quint64(std::max<qsizetype>(0, end - from)));
    for (qsizetype i = from; i < end; ++i)
        inputs.at(i).toCbor(w);
    w.endArray();
}

// Writes the entries of \a small, then \a key with the values of writeInputValues(), as one map.
void writeMapWithInputs(QCborStreamWriter &w, const QCborMap &small, const QString &key, const JobInputs &inputs,
                        qsizetype from, qsizetype count)
{
    w.startMap(quint64(small.size()) + 1);
    for (auto it = small.cbegin(); it != small.cend(); ++it) {
        it.key().toCbor(w);
        it.value().toCbor(w);
    }
    w.append(key);
    writeInputValues(w, inputs, from, count);
    w.endMap();
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
        // Three numbers, not the values: a journal written by a version before ranges reads this job as
        // one of no inputs.
        m.insert(QStringLiteral("range"),
                 QCborArray {spec.inputs.rangeStart(), spec.inputs.rangeStep(), qint64(spec.inputs.size())});
    } else {
        // Lines are journaled as values, so a resume does not depend on the file staying as it was. The
        // first InputsPerRecord go in "inputs" (writeJob() adds them); past those, "count" says how many
        // follow in "in" records.
        if (spec.inputs.size() > InputsPerRecord)
            m.insert(QStringLiteral("count"), qint64(spec.inputs.size()));
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
} // namespace

QString defaultJournalDir()
{
    QString base = qEnvironmentVariable("XDG_STATE_HOME");
    if (base.isEmpty())
        base = QDir::homePath() + QStringLiteral("/.local/state");
    return base + QStringLiteral("/taskfleet/journal");
}

bool JournalWriter::open(const QString &path, QString *error)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    m_file.setFileName(path);
    const bool fresh = !m_file.exists() || QFileInfo(path).size() == 0;
    if (!m_file.open(QIODevice::WriteOnly | QIODevice::Append | QIODevice::Unbuffered)) {
        *error = QStringLiteral("cannot open journal %1: %2").arg(path, m_file.errorString());
        return false;
    }
    if (fresh) {
        QCborMap header;
        header.insert(QStringLiteral("t"), QStringLiteral("journal"));
        header.insert(QStringLiteral("magic"), Magic);
        append(header);
    }
    return true;
}

void JournalWriter::append(const QCborMap &record)
{
    appendWith([&record](QCborStreamWriter &w) { record.toCborValue().toCbor(w); });
}

void JournalWriter::appendWith(const std::function<void(QCborStreamWriter &)> &write)
{
    // Unbuffered: each record is one write(), so a kill never splits a record between writes. A big record
    // (a big input or result) goes out a MiB at a time instead of being held whole; a kill while it is
    // written leaves a torn last record, which JournalReader ignores like any other.
    if (!m_file.isOpen())
        return;
    const qint64 size = protocol::encodedSize(write);
    if (size > StreamedRecordSize) {
        if (!protocol::writeFramesStreamed(&m_file, size, write))
            m_failed = true;
        return;
    }
    QByteArray frame;
    protocol::appendFrameWith(frame, write);
    if (m_file.write(frame) != frame.size())
        m_failed = true;
}

bool JournalWriter::sync()
{
    if (!m_file.isOpen())
        return false;
    if (::fdatasync(m_file.handle()) != 0)
        m_failed = true;
    return !m_failed;
}

void JournalWriter::writeJob(const QString &key, const JobSpec &spec)
{
    const QCborMap head = specToCbor(spec);
    appendWith([&](QCborStreamWriter &w) {
        w.startMap(3);
        w.append(QLatin1String("t"));
        w.append(QLatin1String("job"));
        w.append(QLatin1String("key"));
        w.append(key);
        w.append(QLatin1String("spec"));
        if (spec.inputs.isRange())
            head.toCborValue().toCbor(w);
        else
            writeMapWithInputs(w, head, QStringLiteral("inputs"), spec.inputs, 0, InputsPerRecord);
        w.endMap();
    });
    if (spec.inputs.isRange())
        return;
    for (qsizetype from = InputsPerRecord; from < spec.inputs.size(); from += InputsPerRecord) {
        QCborMap more;
        more.insert(QStringLiteral("t"), QStringLiteral("in"));
        more.insert(QStringLiteral("key"), key);
        more.insert(QStringLiteral("from"), qint64(from));
        appendWith([&](QCborStreamWriter &w) {
            writeMapWithInputs(w, more, QStringLiteral("v"), spec.inputs, from, InputsPerRecord);
        });
    }
}

void JournalWriter::writeResults(const QString &key, const QVector<TaskRecord> &records)
{
    // Straight from the records: a big output is copied once, into the record.
    appendWith([&](QCborStreamWriter &w) {
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

void JournalWriter::writeEnd(const QString &key)
{
    QCborMap m;
    m.insert(QStringLiteral("t"), QStringLiteral("end"));
    m.insert(QStringLiteral("key"), key);
    append(m);
    if (m_file.isOpen())
        ::fdatasync(m_file.handle());
}

std::optional<QVector<JournaledJob>> JournalReader::read(const QString &path, QString *error, QString *warning)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read journal %1: %2").arg(path, f.errorString());
        return std::nullopt;
    }
    protocol::FrameDecoder decoder(MaxRecordSize);
    QVector<JournaledJob> jobs;
    QHash<QString, int> byKey;
    QHash<QString, qint64> announced; // jobs whose inputs continue in "in" records: how many in all
    bool sawHeader = false;
    qint64 records = 0;
    while (!f.atEnd()) {
        decoder.append(f.read(4 << 20));
        QCborMap m;
        for (;;) {
            const auto status = decoder.next(&m);
            if (status != protocol::FrameDecoder::Status::Frame)
                break;
            ++records;
            const QString type = m.value(QStringLiteral("t")).toString();
            if (!sawHeader) {
                const QString magic = m.value(QStringLiteral("magic")).toString();
                if (type != QStringLiteral("journal") || (magic != Magic && magic != MagicV1)) {
                    *error = QStringLiteral("%1 is not a Taskfleet journal").arg(path);
                    return std::nullopt;
                }
                sawHeader = true;
                continue;
            }
            const QString key = m.value(QStringLiteral("key")).toString();
            if (type == QStringLiteral("job")) {
                if (byKey.contains(key))
                    continue;
                JournaledJob job;
                job.key = key;
                const QCborMap spec = m.value(QStringLiteral("spec")).toMap();
                job.spec = specFromCbor(spec);
                if (spec.contains(QStringLiteral("count")))
                    announced.insert(key, util::cborInteger(spec.value(QStringLiteral("count")), -1));
                byKey.insert(key, int(jobs.size()));
                jobs.append(std::move(job));
            } else if (type == QStringLiteral("in") && announced.contains(key)) {
                JobInputs &inputs = jobs[byKey.value(key)].spec.inputs;
                if (util::cborInteger(m.value(QStringLiteral("from")), -1) == inputs.size()) {
                    const QCborArray values = m.value(QStringLiteral("v")).toArray();
                    for (const QCborValue &v : values)
                        inputs.append(v);
                }
            } else if (type == QStringLiteral("res") && byKey.contains(key)) {
                JournaledJob &job = jobs[byKey.value(key)];
                const QCborArray flat = m.value(QStringLiteral("r")).toArray();
                for (qsizetype i = 0; i + 5 < flat.size(); i += 6) {
                    // A damaged journal must not resume a wrong task: skip rows out of range.
                    const qint64 index = util::cborInteger(flat.at(i), -1);
                    const qint64 status = util::cborInteger(flat.at(i + 1), -1);
                    if (index < 0 || index >= job.spec.inputs.size() || status < 0
                        || status > qint64(stats::TaskStatus::Cancelled))
                        continue;
                    if (job.results.contains(int(index))) {
                        ++job.repeatedResults;
                        continue;
                    }
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
                    job.results.insert(r.index, r);
                }
            } else if (type == QStringLiteral("end") && byKey.contains(key)) {
                jobs[byKey.value(key)].ended = true;
            }
        }
        if (decoder.hasError())
            break;
    }
    if (!sawHeader) {
        *error = QStringLiteral("%1 is not a Taskfleet journal (empty or unreadable)").arg(path);
        return std::nullopt;
    }
    if (warning && (decoder.hasError() || decoder.bufferedBytes() > 0))
        *warning = QStringLiteral("%1: ignored a torn or damaged last record after %2 good records (%3)")
                       .arg(path)
                       .arg(records)
                       .arg(decoder.hasError() ? decoder.errorString() : QStringLiteral("incomplete"));
    // A job whose inputs were not all written (the writer died while journaling it) ran nothing yet:
    // leave it out rather than resume a shorter job.
    QStringList incomplete;
    for (auto it = announced.constBegin(); it != announced.constEnd(); ++it) {
        const int at = byKey.value(it.key(), -1);
        if (at >= 0 && jobs.at(at).spec.inputs.size() != it.value())
            incomplete.append(it.key());
    }
    if (!incomplete.isEmpty()) {
        jobs.erase(
            std::remove_if(jobs.begin(), jobs.end(), [&](const JournaledJob &j) { return incomplete.contains(j.key); }),
            jobs.end());
        if (warning)
            *warning += (warning->isEmpty() ? QString() : QStringLiteral("; "))
                        + QStringLiteral("%1: left out %2 job(s) whose inputs were not all journaled (%3)")
                              .arg(path)
                              .arg(incomplete.size())
                              .arg(incomplete.join(QStringLiteral(", ")));
    }
    return jobs;
}

} // namespace taskfleet::sched
